//! Validators that ask an HTTP API: `game_api` (a request template and a
//! condition over the JSON reply) and the social presets built on the same
//! mechanism. Evidence keeps the status, the masked URL, the field the
//! condition read and whether it held, never the value read (a provider's
//! answer is not echoed to staff or the reporting client); secrets and the
//! gamer's account ids never reach it. Where a request may go is decided by
//! `outbound`.

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde_json::{json, Value};

use super::outbound::{self, OutboundPolicy, DISCORD_TOKEN, YOUTUBE_KEY};
use super::{CheckResult, ValidationPolicy, ValidatorSecrets};
use crate::quests::{CompareOp, Condition, ValidatorConfig};
use crate::store::ClaimedActivity;

/// A request to make and how to read its answer.
pub struct Plan {
    /// Rate-limit key: the provider's host.
    pub provider: String,
    method: reqwest::Method,
    url: String,
    headers: HeaderMap,
    /// `None`: any 2xx passes (membership checks).
    condition: Option<Condition>,
    /// Values to mask in evidence (the gamer's ids).
    personal: Vec<String>,
}

fn review(reason: impl Into<String>) -> CheckResult {
    CheckResult::Review {
        reason: reason.into(),
        evidence: json!({}),
    }
}

fn failed(reason: impl Into<String>) -> CheckResult {
    CheckResult::Failed {
        reason: reason.into(),
        evidence: json!({}),
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A header value, with `secret:NAME` replaced by the secret, if NAME may be
/// sent to `host`.
fn resolve_secret(
    value: &str,
    secrets: &ValidatorSecrets,
    outbound: &OutboundPolicy,
    to: &reqwest::Url,
) -> Result<String, CheckResult> {
    match value.strip_prefix("secret:") {
        Some(name) => {
            if !outbound.secret_may_go(name, to) {
                return Err(review(format!(
                    "the validator secret {name} may not be sent to {} \
                     (PAYQUEST_VALIDATOR_SECRET_HOSTS)",
                    to.host_str().unwrap_or("that host")
                )));
            }
            secrets
                .get(name)
                .map(str::to_owned)
                .ok_or_else(|| review(format!("the validator secret {name} is not configured")))
        }
        None => Ok(value.to_owned()),
    }
}

fn parse_url(url: &str) -> Result<reqwest::Url, CheckResult> {
    reqwest::Url::parse(url).map_err(|_| review("the validator URL is invalid"))
}

fn required<'a>(value: &'a Option<String>, what: &str) -> Result<&'a str, CheckResult> {
    value
        .as_deref()
        .ok_or_else(|| failed(format!("the activity has no {what}")))
}

/// Turns a validator configuration and an activity into a request.
pub fn plan(
    config: &ValidatorConfig,
    a: &ClaimedActivity,
    secrets: &ValidatorSecrets,
    outbound: &OutboundPolicy,
) -> Result<Plan, CheckResult> {
    let mut personal = Vec::new();
    let mut headers = BTreeMap::new();
    let (method, url, condition) = match config {
        ValidatorConfig::GameApi {
            method,
            url,
            headers: configured,
            condition,
        } => {
            let mut url = url.replace("{wallet}", &a.wallet);
            if url.contains("{game_account_id}") {
                let id = required(&a.game_account_id, "game account id")?;
                personal.push(id.to_owned());
                url = url.replace("{game_account_id}", &encode(id));
            }
            let to = parse_url(&url)?;
            // Where it goes is checked before any secret is looked up for it.
            outbound.check_url(&to).map_err(review)?;
            for (k, v) in configured {
                headers.insert(k.clone(), resolve_secret(v, secrets, outbound, &to)?);
            }
            let method = if method == "POST" {
                reqwest::Method::POST
            } else {
                reqwest::Method::GET
            };
            (method, url, Some(condition.clone()))
        }
        // The providers' base URLs come from configuration only; a base URL
        // stored with an older quest is ignored.
        ValidatorConfig::DiscordMember { guild_id, .. } => {
            let user = required(&a.social_handle, "Discord user id")?;
            personal.push(user.to_owned());
            let base = outbound.discord_base_url.trim_end_matches('/');
            let token = resolve_secret(
                &format!("secret:{DISCORD_TOKEN}"),
                secrets,
                outbound,
                &parse_url(base)?,
            )?;
            headers.insert("authorization".into(), format!("Bot {token}"));
            let url = format!(
                "{base}/guilds/{}/members/{}",
                encode(guild_id),
                encode(user)
            );
            (reqwest::Method::GET, url, None)
        }
        ValidatorConfig::YoutubeSubscriber { channel_id, .. } => {
            let subscriber = required(&a.social_handle, "YouTube channel id")?;
            personal.push(subscriber.to_owned());
            let base = outbound.youtube_base_url.trim_end_matches('/');
            let key = resolve_secret(
                &format!("secret:{YOUTUBE_KEY}"),
                secrets,
                outbound,
                &parse_url(base)?,
            )?;
            let url = format!(
                "{base}/subscriptions?part=id&channelId={}&forChannelId={}&key={}",
                encode(subscriber),
                encode(channel_id),
                encode(&key)
            );
            let condition = Condition {
                pointer: "/pageInfo/totalResults".into(),
                op: CompareOp::Gt,
                value: json!(0),
            };
            (reqwest::Method::GET, url, Some(condition))
        }
        ValidatorConfig::SignedPush { .. } | ValidatorConfig::Manual => {
            return Err(review("not an HTTP validator"));
        }
    };
    let parsed = reqwest::Url::parse(&url).map_err(|_| review("the validator URL is invalid"))?;
    outbound.check_url(&parsed).map_err(review)?;
    let provider = parsed.host_str().unwrap_or("unknown").to_owned();
    let mut header_map = HeaderMap::new();
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| review(format!("bad header name {k}")))?;
        let value =
            HeaderValue::from_str(&v).map_err(|_| review(format!("bad value for header {k}")))?;
        header_map.insert(name, value);
    }
    Ok(Plan {
        provider,
        method,
        url,
        headers: header_map,
        condition,
        personal,
    })
}

fn mask(text: &str, plan: &Plan, secrets: &ValidatorSecrets) -> String {
    let mut out = text.to_owned();
    for s in secrets.values().filter(|s| !s.is_empty()) {
        out = out.replace(s, "***").replace(&encode(s), "***");
    }
    for p in plan.personal.iter().filter(|p| !p.is_empty()) {
        out = out.replace(&encode(p), "***").replace(p.as_str(), "***");
    }
    out
}

/// Seconds in a Retry-After header (the HTTP-date form is treated as absent).
fn retry_after_ms(headers: &HeaderMap) -> Option<i64> {
    let secs: i64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(secs.saturating_mul(1000))
}

fn compare(actual: &Value, op: CompareOp, expected: &Value) -> bool {
    match op {
        CompareOp::Eq => actual == expected,
        CompareOp::Ne => actual != expected,
        _ => match (actual.as_f64(), expected.as_f64()) {
            (Some(a), Some(e)) => match op {
                CompareOp::Ge => a >= e,
                CompareOp::Gt => a > e,
                CompareOp::Le => a <= e,
                CompareOp::Lt => a < e,
                CompareOp::Eq | CompareOp::Ne => false,
            },
            _ => false,
        },
    }
}

pub async fn run(
    http: &reqwest::Client,
    plan: &Plan,
    policy: &ValidationPolicy,
    secrets: &ValidatorSecrets,
) -> CheckResult {
    let masked_url = mask(&plan.url, plan, secrets);
    let evidence = |status: Option<u16>, read: Value| json!({ "url": masked_url, "status": status, "read": read });
    if let Ok(url) = reqwest::Url::parse(&plan.url) {
        if let Some(why) = outbound::blocked_host(&policy.outbound, &url).await {
            return CheckResult::Review {
                reason: why.into(),
                evidence: evidence(None, Value::Null),
            };
        }
    }
    let sent = http
        .request(plan.method.clone(), &plan.url)
        .headers(plan.headers.clone())
        .send()
        .await;
    let mut response = match sent {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "the provider timed out"
            } else {
                "the provider could not be reached"
            };
            return CheckResult::Retry {
                reason: why.into(),
                retry_after_ms: None,
                evidence: evidence(None, Value::Null),
            };
        }
    };
    let status = response.status();
    let code = Some(status.as_u16());
    if status.as_u16() == 429 || status.is_server_error() {
        return CheckResult::Retry {
            reason: format!("the provider answered {}", status.as_u16()),
            retry_after_ms: retry_after_ms(response.headers()),
            evidence: evidence(code, Value::Null),
        };
    }
    if status.as_u16() == 404 {
        return CheckResult::Failed {
            reason: "the provider does not know this account or membership".into(),
            evidence: evidence(code, Value::Null),
        };
    }
    if !status.is_success() {
        // 401/403/400 say our request is wrong, not the gamer: a person looks.
        return CheckResult::Review {
            reason: format!("the provider refused our request ({})", status.as_u16()),
            evidence: evidence(code, Value::Null),
        };
    }
    let Some(condition) = &plan.condition else {
        return CheckResult::Passed {
            evidence: evidence(code, Value::Null),
        };
    };
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > policy.response_max_bytes {
                    return CheckResult::Retry {
                        reason: "the provider's answer is too large".into(),
                        retry_after_ms: None,
                        evidence: evidence(code, Value::Null),
                    };
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(_) => {
                return CheckResult::Retry {
                    reason: "the provider's answer was cut off".into(),
                    retry_after_ms: None,
                    evidence: evidence(code, Value::Null),
                }
            }
        }
    }
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return CheckResult::Retry {
            reason: "the provider's answer is not JSON".into(),
            retry_after_ms: None,
            evidence: evidence(code, Value::Null),
        };
    };
    let actual = json
        .pointer(&condition.pointer)
        .cloned()
        .unwrap_or(Value::Null);
    // Which condition held or failed, never the value read: the answer may
    // hold anything the provider (or whoever the URL reached) returned.
    let held = compare(&actual, condition.op, &condition.value);
    let read = json!({ "pointer": condition.pointer, "present": !actual.is_null(), "held": held });
    if held {
        CheckResult::Passed {
            evidence: evidence(code, read),
        }
    } else {
        CheckResult::Failed {
            reason: format!(
                "{} did not meet the quest's condition ({} {})",
                condition.pointer,
                condition.op.symbol(),
                condition.value
            ),
            evidence: evidence(code, read),
        }
    }
}
