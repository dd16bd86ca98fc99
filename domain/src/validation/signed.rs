//! `signed_push`: the game server's HMAC-SHA256 over the activity is the proof.
//! The signed message is `external_id|quest_id|wallet (lower case)|occurred_at
//! (Unix milliseconds)`, hex-encoded in the activity's `signature`.

use hmac::{Hmac, Mac};
use payquest_types::QuestId;
use serde_json::json;
use sha2::Sha256;

use super::CheckResult;
use crate::store::ClaimedActivity;

pub fn signed_push_message(
    external_id: &str,
    quest_id: QuestId,
    wallet: &str,
    occurred_at_ms: i64,
) -> String {
    format!(
        "{external_id}|{quest_id}|{}|{occurred_at_ms}",
        wallet.to_lowercase()
    )
}

pub fn check(a: &ClaimedActivity, key: Option<&str>) -> CheckResult {
    let evidence = json!({ "validator": "signed_push" });
    let Some(key) = key else {
        return CheckResult::Review {
            reason: "the signing key for this quest is not configured".into(),
            evidence,
        };
    };
    let Some(signature) = a.signature.as_deref().and_then(|s| hex::decode(s).ok()) else {
        return CheckResult::Failed {
            reason: "the activity carries no valid signature".into(),
            evidence,
        };
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return CheckResult::Review {
            reason: "the signing key is unusable".into(),
            evidence,
        };
    };
    mac.update(
        signed_push_message(&a.external_id, a.quest_id, &a.wallet, a.occurred_at_ms).as_bytes(),
    );
    // verify_slice compares in constant time.
    match mac.verify_slice(&signature) {
        Ok(()) => CheckResult::Passed { evidence },
        Err(_) => CheckResult::Failed {
            reason: "the signature does not match".into(),
            evidence,
        },
    }
}
