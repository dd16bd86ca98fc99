//! Proving that reported activities happened. Workers claim due activities
//! from the database (SKIP LOCKED on PostgreSQL; one worker on SQLite), ask
//! each quest's validator, record every attempt with its evidence (secrets and
//! personal data masked), and move the activity on: validated (priced, capped,
//! one payout item), rejected, back for a retry with exponential backoff and
//! jitter (honouring Retry-After), or to a person when a provider keeps
//! failing or the quest is validated by hand.

mod http_check;
pub mod outbound;
mod signed;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::Rng;

use crate::clock::now_ms;
use crate::quests::ValidatorConfig;
use crate::secret::Secret;
use crate::store::{AttemptRecord, CheckedActivity, ClaimedActivity, DynStore, Verdict};
use crate::{DomainError, DomainResult};

pub use signed::signed_push_message;

/// Knobs of the validation workers; every one is a named limit.
#[derive(Debug, Clone)]
pub struct ValidationPolicy {
    /// Attempts before an activity whose provider keeps failing goes to a person.
    pub max_attempts: i64,
    pub backoff_base_ms: i64,
    pub backoff_cap_ms: i64,
    /// The longest Retry-After we honour.
    pub retry_after_cap_ms: i64,
    pub request_timeout_ms: u64,
    /// Provider responses larger than this are not read.
    pub response_max_bytes: usize,
    /// Activities validated at once by one worker.
    pub concurrency: usize,
    /// Requests per second to any one provider host.
    pub per_provider_per_second: u32,
    /// How long a claim holds before another worker may take the activity.
    pub lease_ms: i64,
    /// Activities claimed per round.
    pub claim_batch: u32,
    /// Chunks of checked activities written at once, each in its own
    /// transaction (a quest's counter is locked only at the end of each).
    pub writers: usize,
    /// Where validators may send requests and secrets.
    pub outbound: outbound::OutboundPolicy,
}

impl Default for ValidationPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_base_ms: 1_000,
            backoff_cap_ms: 5 * 60_000,
            retry_after_cap_ms: 60 * 60_000,
            request_timeout_ms: 10_000,
            response_max_bytes: 64 * 1024,
            concurrency: 16,
            per_provider_per_second: 20,
            lease_ms: 60_000,
            claim_batch: 64,
            writers: 2,
            outbound: outbound::OutboundPolicy::default(),
        }
    }
}

/// Named secrets the validators may use: API keys (`secret:NAME` in a header)
/// and HMAC keys for `signed_push`.
#[derive(Clone, Default)]
pub struct ValidatorSecrets(HashMap<String, Secret<String>>);

impl ValidatorSecrets {
    /// Parses `NAME=value,NAME2=value2`.
    pub fn parse(raw: &str) -> Result<ValidatorSecrets, DomainError> {
        let mut map = HashMap::new();
        for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').ok_or_else(|| {
                DomainError::InvalidInput("validator secrets are NAME=value pairs".into())
            })?;
            map.insert(name.trim().to_owned(), Secret::new(value.to_owned()));
        }
        Ok(ValidatorSecrets(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.expose().as_str())
    }

    fn values(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(|s| s.expose().as_str())
    }
}

impl std::fmt::Debug for ValidatorSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// What one check of one activity found.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckResult {
    Passed {
        evidence: serde_json::Value,
    },
    Failed {
        reason: String,
        evidence: serde_json::Value,
    },
    /// The provider could not answer now (timeout, 5xx, 429, malformed reply).
    Retry {
        reason: String,
        retry_after_ms: Option<i64>,
        evidence: serde_json::Value,
    },
    /// A person must decide (manual quests, our own misconfiguration).
    Review {
        reason: String,
        evidence: serde_json::Value,
    },
}

pub struct Validation {
    store: DynStore,
    http: reqwest::Client,
    policy: ValidationPolicy,
    secrets: ValidatorSecrets,
    limiter: DefaultKeyedRateLimiter<String>,
    /// When the next claim also looks for expired leases (ms).
    expired_scan_at_ms: std::sync::atomic::AtomicI64,
}

impl Validation {
    pub fn new(
        store: DynStore,
        policy: ValidationPolicy,
        secrets: ValidatorSecrets,
    ) -> DomainResult<Validation> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(policy.request_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(policy.outbound.resolver())
            .build()
            .map_err(DomainError::internal)?;
        let rate =
            NonZeroU32::new(policy.per_provider_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        Ok(Validation {
            store,
            http,
            policy,
            secrets,
            limiter: RateLimiter::keyed(Quota::per_second(rate)),
            expired_scan_at_ms: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// Claims one round of due activities, checks them and writes the
    /// results; returns how many it claimed.
    pub async fn run_once(&self) -> DomainResult<usize> {
        let claims = self.claim().await?;
        let n = claims.len();
        let checked: Vec<CheckedActivity> = futures::stream::iter(claims)
            .map(|claim| self.check(claim))
            .buffer_unordered(self.policy.concurrency)
            .collect()
            .await;
        self.write(checked).await;
        Ok(n)
    }

    /// Claims due work, and every quarter of a lease also the activities
    /// whose lease ran out (a crashed worker's). Looking for those reads
    /// past the index entries of every activity validated since the last
    /// VACUUM, so it is not done every round.
    async fn claim(&self) -> DomainResult<Vec<ClaimedActivity>> {
        use std::sync::atomic::Ordering;
        let now = now_ms();
        // A worker claims one round at a time, so a plain load and store
        // will do (two rounds racing would only both look).
        let take_expired = now >= self.expired_scan_at_ms.load(Ordering::Relaxed);
        if take_expired {
            self.expired_scan_at_ms
                .store(now + (self.policy.lease_ms / 4).max(1), Ordering::Relaxed);
        }
        Ok(self
            .store
            .claim_activities(
                now,
                self.policy.lease_ms,
                self.policy.claim_batch,
                take_expired,
            )
            .await?)
    }

    /// Writes checked activities, many per transaction. A failed write
    /// leaves their claims to expire; another round takes them again.
    async fn write(&self, checked: Vec<CheckedActivity>) {
        if checked.is_empty() {
            return;
        }
        if let Err(e) = self.store.finish_attempts(&checked).await {
            tracing::error!(activities = checked.len(), error = %e, "writing validation results failed; the claims will expire and be retried");
        }
    }

    /// Runs until `stop` turns true: claims again as soon as every claimed
    /// activity has been taken up and a check slot is free, checks up to
    /// `concurrency` at once, and writes whatever checks have finished in
    /// one transaction while the next ones go on; rests `idle` when nothing
    /// is due. A stop ends claiming; what is claimed is still checked and
    /// written (each check has its timeout), so no claim is left to its
    /// lease.
    pub async fn run(self: Arc<Self>, idle: Duration, stop: tokio::sync::watch::Receiver<bool>) {
        let claims = futures::stream::unfold(stop, |mut stop| {
            let this = Arc::clone(&self);
            async move {
                loop {
                    if *stop.borrow() {
                        return None;
                    }
                    match this.claim().await {
                        Ok(claims) if !claims.is_empty() => {
                            return Some((futures::stream::iter(claims), stop))
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "claiming activities failed"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(idle) => {}
                        changed = stop.changed() => if changed.is_err() { return None },
                    }
                }
            }
        })
        .flatten();
        let batch = (self.policy.claim_batch as usize).clamp(1, crate::store::FINISH_BATCH_MAX);
        let writers = self.policy.writers.max(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<CheckedActivity>>(writers + 1);
        // Writes go on beside the checks, `writers` transactions at once:
        // the next checks run while chunks commit.
        let writer = {
            let this = Arc::clone(&self);
            tokio::spawn(async move {
                futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
                    .for_each_concurrent(writers, |checked| {
                        let this = Arc::clone(&this);
                        async move { this.write(checked).await }
                    })
                    .await;
            })
        };
        let this = Arc::clone(&self);
        let mut checked = std::pin::pin!(claims
            .map(|claim| this.check(claim))
            .buffer_unordered(self.policy.concurrency)
            .ready_chunks(batch));
        while let Some(chunk) = checked.next().await {
            if tx.send(chunk).await.is_err() {
                break;
            }
        }
        drop(tx);
        let _ = writer.await;
    }

    /// Checks one claimed activity with its quest's validator.
    #[tracing::instrument(name = "validation.validate", skip_all, fields(
        activity_id = %claim.activity_id,
        quest_id = %claim.quest_id,
    ))]
    async fn check(&self, claim: ClaimedActivity) -> CheckedActivity {
        let started = Instant::now();
        let at_ms = now_ms();
        let result = match serde_json::from_str::<ValidatorConfig>(&claim.validator_config_json) {
            Err(e) => CheckResult::Review {
                reason: format!("the quest's stored validator is unreadable: {e}"),
                evidence: serde_json::json!({ "validator": "unknown" }),
            },
            Ok(ValidatorConfig::Manual) => CheckResult::Review {
                reason: "this quest is validated by a person".into(),
                evidence: serde_json::json!({ "validator": "manual" }),
            },
            Ok(ValidatorConfig::SignedPush { key_name }) => {
                signed::check(&claim, self.secrets.get(&key_name))
            }
            Ok(other) => {
                match http_check::plan(&other, &claim, &self.secrets, &self.policy.outbound) {
                    Ok(plan) => {
                        self.limiter.until_key_ready(&plan.provider).await;
                        http_check::run(&self.http, &plan, &self.policy, &self.secrets).await
                    }
                    Err(result) => result,
                }
            }
        };
        let (outcome, detail, evidence, verdict) = self.verdict(&claim, result, at_ms);
        metrics::histogram!("payquest_validation_duration_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        let attempt = AttemptRecord {
            at_ms,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            outcome,
            detail,
            evidence_json: Some(evidence.to_string()),
        };
        CheckedActivity {
            claim,
            attempt,
            verdict,
        }
    }

    fn verdict(
        &self,
        claim: &ClaimedActivity,
        result: CheckResult,
        now: i64,
    ) -> (&'static str, String, serde_json::Value, Verdict) {
        match result {
            CheckResult::Passed { evidence } => (
                "passed",
                "the validator confirmed it".into(),
                evidence,
                Verdict::Validated,
            ),
            CheckResult::Failed { reason, evidence } => (
                "failed",
                reason.clone(),
                evidence,
                Verdict::Rejected { reason },
            ),
            CheckResult::Review { reason, evidence } => (
                "review",
                reason.clone(),
                evidence,
                Verdict::NeedsReview { reason },
            ),
            CheckResult::Retry {
                reason,
                retry_after_ms,
                evidence,
            } => {
                let attempt_no = claim.attempts + 1;
                if attempt_no >= self.policy.max_attempts {
                    let why =
                        format!("the provider kept failing ({attempt_no} attempts): {reason}");
                    return (
                        "retry",
                        reason,
                        evidence,
                        Verdict::NeedsReview { reason: why },
                    );
                }
                let delay = backoff_ms(
                    &self.policy,
                    attempt_no,
                    retry_after_ms,
                    &mut rand::thread_rng(),
                );
                (
                    "retry",
                    reason,
                    evidence,
                    Verdict::RetryAt { at_ms: now + delay },
                )
            }
        }
    }
}

/// The external account a validator proves, as `kind:id`, for the rule that
/// one account earns a quest for one wallet: the game account a `game_api`
/// URL asks about, or the handle a Discord / YouTube preset checks. `None`
/// for validators that prove no account (signed pushes, manual review).
pub fn proven_account(
    validator_config_json: &str,
    game_account_id: Option<String>,
    social_handle: Option<String>,
) -> Option<String> {
    let config: ValidatorConfig = serde_json::from_str(validator_config_json).ok()?;
    let (kind, id) = match &config {
        ValidatorConfig::GameApi { url, .. } if url.contains("{game_account_id}") => {
            ("game", game_account_id?)
        }
        ValidatorConfig::DiscordMember { .. } => ("discord", social_handle?),
        ValidatorConfig::YoutubeSubscriber { .. } => ("youtube", social_handle?),
        _ => return None,
    };
    Some(format!("{kind}:{}", id.trim()))
}

/// Exponential backoff with full jitter, never sooner than a Retry-After.
pub fn backoff_ms(
    policy: &ValidationPolicy,
    attempt_no: i64,
    retry_after_ms: Option<i64>,
    rng: &mut impl Rng,
) -> i64 {
    let exp = u32::try_from(attempt_no.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let ceiling = policy
        .backoff_base_ms
        .saturating_mul(1i64 << exp)
        .min(policy.backoff_cap_ms)
        .max(1);
    let jittered = rng.gen_range(ceiling / 2..=ceiling);
    match retry_after_ms {
        Some(after) => after
            .clamp(0, policy.retry_after_cap_ms)
            .max(jittered.min(policy.backoff_base_ms)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_respects_retry_after() {
        let policy = ValidationPolicy::default();
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let first = backoff_ms(&policy, 1, None, &mut rng);
            assert!((500..=1_000).contains(&first), "{first}");
            let fourth = backoff_ms(&policy, 4, None, &mut rng);
            assert!((4_000..=8_000).contains(&fourth), "{fourth}");
            let late = backoff_ms(&policy, 30, None, &mut rng);
            assert!(late <= policy.backoff_cap_ms);
            assert!(backoff_ms(&policy, 1, Some(7_000), &mut rng) >= 7_000);
            assert_eq!(
                backoff_ms(&policy, 1, Some(i64::MAX), &mut rng),
                policy.retry_after_cap_ms
            );
        }
    }

    #[test]
    fn secrets_never_print() {
        let s = ValidatorSecrets::parse("GAME_KEY=hunter2, OTHER=x").expect("parse");
        assert_eq!(s.get("GAME_KEY"), Some("hunter2"));
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(ValidatorSecrets::parse("nonsense").is_err());
    }
}
