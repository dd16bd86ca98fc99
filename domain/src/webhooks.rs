//! Webhooks for integrators: a publish or unpublish writes an event in the
//! same transaction as the change (the outbox), and a worker delivers it.
//!
//! Each delivery is a POST of the event's JSON with
//! `PayQuest-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` under the endpoint's secret, so a receiver can refuse a
//! forged or replayed call (`verify`), and `PayQuest-Event-Id` to drop
//! duplicates. A 2xx answer delivers the event; anything else is retried
//! with exponential backoff until `WEBHOOK_RETRIES` attempts have failed.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use payquest_types::{WebhookEventId, WebhookEventView, WebhookState};

use crate::audit::AuditRecord;
use crate::clock::{format_ms, now_ms};
use crate::limits::{WEBHOOK_RETRIES, WEBHOOK_TIMEOUT_MS};
use crate::secret::Secret;
use crate::session::{Actor, Permission};
use crate::store::{DynStore, WebhookAttempt, WebhookEventRecord};
use crate::{DomainError, DomainResult};

pub const SIGNATURE_HEADER: &str = "payquest-signature";
pub const EVENT_ID_HEADER: &str = "payquest-event-id";
/// A receiver should refuse a signature older than this.
pub const SIGNATURE_TOLERANCE_S: i64 = 300;
/// Events listed on one page of the delivery log.
pub const WEBHOOK_PAGE_MAX: u32 = 100;
/// How long a worker holds the events it claimed.
const WEBHOOK_CLAIM_MS: i64 = 30_000;
/// Events one round claims: delivered one after another, each within
/// `WEBHOOK_TIMEOUT_MS`, so a round ends well inside its claim.
const WEBHOOK_BATCH: u32 = 5;
/// The longest wait between two attempts.
const BACKOFF_MAX_MS: i64 = 3_600_000;

/// The signature header's value for `body` sent at `t` (unix seconds).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

fn mac(secret: &str, t: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// What a receiver does: the header is well formed, signed with `secret`
/// over this body, and at most `SIGNATURE_TOLERANCE_S` old at `now_s`.
pub fn verify(secret: &str, header: &str, body: &[u8], now_s: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    (now_s - t).abs() <= SIGNATURE_TOLERANCE_S
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            mac(secret, t, body).as_slice(),
            v1.as_slice(),
        ))
}

/// The JSON an event is delivered as (the same bytes on every attempt but
/// for the signature's time).
pub fn event_body(e: &WebhookEventRecord) -> Vec<u8> {
    serde_json::json!({
        "id": format!("evt_{}", e.webhook_event_id),
        "type": e.kind,
        "created_at": format_ms(e.created_at_ms),
        "data": {
            "content_type": e.content_type,
            "slug": e.slug,
            "version": e.content_version_id,
        },
    })
    .to_string()
    .into_bytes()
}

/// The wait before attempt `n + 1` after `n` failed: 2^n × base, capped.
pub fn backoff_ms(base_ms: i64, failed_attempts: i32) -> i64 {
    let shift = failed_attempts.clamp(0, 20) as u32;
    base_ms.saturating_mul(1_i64 << shift).min(BACKOFF_MAX_MS)
}

/// An endpoint: where events go and the secret they are signed with.
pub struct Endpoint {
    pub url: String,
    pub secret: Secret<String>,
}

impl Endpoint {
    /// Refuses an endpoint a receiver could not check: no secret, or one
    /// too short to resist guessing.
    pub fn new(url: &str, secret: Secret<String>) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("webhook URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the webhook URL is http or https".into());
        }
        if secret.expose().len() < 16 {
            return Err("the webhook needs a secret of at least 16 characters \
                        (PAYQUEST_CONTENT_WEBHOOK_SECRET): without one a receiver \
                        cannot tell our calls from forged ones"
                .into());
        }
        Ok(Self {
            url: url.to_owned(),
            secret,
        })
    }
}

/// The delivery worker, and the delivery log as the dashboard shows it.
pub struct Webhooks {
    store: DynStore,
    endpoint: Option<Endpoint>,
    http: reqwest::Client,
    backoff_base_ms: i64,
}

impl Webhooks {
    pub fn new(store: DynStore, endpoint: Option<Endpoint>) -> Self {
        // Building fails only without a TLS backend, which this build has.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(WEBHOOK_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            store,
            endpoint,
            http,
            backoff_base_ms: 2_000,
        }
    }

    /// The first retry's wait (doubling after each failure).
    pub fn with_backoff_base_ms(mut self, ms: i64) -> Self {
        self.backoff_base_ms = ms.max(1);
        self
    }

    pub fn configured(&self) -> bool {
        self.endpoint.is_some()
    }

    /// Delivers the due events once; returns how many were delivered.
    pub async fn deliver_due(&self, now: i64) -> DomainResult<usize> {
        let backlog = self.store.webhook_backlog().await?;
        metrics::gauge!("payquest_webhook_backlog").set(backlog as f64);
        let Some(endpoint) = &self.endpoint else {
            return Ok(0);
        };
        let claimed = self
            .store
            .claim_webhook_events(now, WEBHOOK_CLAIM_MS, WEBHOOK_BATCH)
            .await?;
        let mut delivered = 0;
        for event in claimed {
            let attempt = self.attempt(endpoint, &event).await;
            let retry_at = now_ms() + backoff_ms(self.backoff_base_ms, event.attempts);
            let ok = attempt.delivered;
            if self
                .store
                .record_webhook_attempt(&event, &attempt, retry_at)
                .await?
                && ok
            {
                delivered += 1;
            }
            let result = if ok { "delivered" } else { "failed" };
            metrics::counter!("payquest_webhook_attempts_total", "result" => result).increment(1);
        }
        Ok(delivered)
    }

    async fn attempt(&self, endpoint: &Endpoint, event: &WebhookEventRecord) -> WebhookAttempt {
        let body = event_body(event);
        let at_ms = now_ms();
        let signature = sign(endpoint.secret.expose(), at_ms / 1_000, &body);
        let started = Instant::now();
        let sent = self
            .http
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, format!("evt_{}", event.webhook_event_id))
            .body(body)
            .send()
            .await;
        let duration_ms = started.elapsed().as_millis() as i64;
        match sent {
            Ok(res) => {
                let status = res.status();
                // The receiver's body is never stored or shown: only its status.
                WebhookAttempt {
                    at_ms,
                    status_code: Some(status.as_u16()),
                    delivered: status.is_success(),
                    outcome: format!("HTTP {}", status.as_u16()),
                    duration_ms,
                }
            }
            Err(e) => WebhookAttempt {
                at_ms,
                status_code: None,
                delivered: false,
                outcome: if e.is_timeout() {
                    "timed out".to_owned()
                } else if e.is_connect() {
                    "could not connect".to_owned()
                } else {
                    "the request failed".to_owned()
                },
                duration_ms,
            },
        }
    }

    /// Delivers due events every `every` until `stop` turns true.
    pub async fn run_shared(
        self: std::sync::Arc<Self>,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if let Err(e) = self.deliver_due(now_ms()).await {
                tracing::warn!(error = %e, "delivering webhooks failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => break,
            }
        }
    }

    /// The delivery log, newest first, before `before` (0: the newest).
    pub async fn events(
        &self,
        actor: &Actor,
        before: WebhookEventId,
    ) -> DomainResult<Vec<WebhookEventView>> {
        actor.require(Permission::ReadContent)?;
        Ok(self
            .store
            .webhook_events(before, WEBHOOK_PAGE_MAX)
            .await?
            .into_iter()
            .map(|e| WebhookEventView {
                event_id: e.webhook_event_id,
                kind: e.kind,
                content_type: e.content_type,
                slug: e.slug,
                state: e.state,
                attempts: e.attempts.max(0) as u32,
                created_at: format_ms(e.created_at_ms),
                next_attempt_at: (e.state == WebhookState::Pending)
                    .then(|| format_ms(e.next_attempt_at_ms)),
                last_outcome: e.last_outcome,
            })
            .collect())
    }

    /// Sends a delivered or failed event again, with a fresh set of retries.
    pub async fn redeliver(&self, actor: &Actor, event: WebhookEventId) -> DomainResult<()> {
        actor.require(Permission::ManageContent)?;
        if self.endpoint.is_none() {
            return Err(DomainError::Conflict(
                "no webhook endpoint is configured".into(),
            ));
        }
        let audit = AuditRecord::new(
            &actor.audit_actor(),
            "webhook.redelivered",
            format!("webhook_event:{event}"),
        );
        if !self
            .store
            .redeliver_webhook_event(event, WEBHOOK_RETRIES, &audit)
            .await?
        {
            return Err(DomainError::Conflict(
                "the event is already waiting for delivery (or does not exist)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let body = br#"{"id":"evt_1"}"#;
        let header = sign("a-long-enough-secret", 1_000, body);
        assert!(verify("a-long-enough-secret", &header, body, 1_010));
        assert!(!verify("another-secret-here", &header, body, 1_010));
        assert!(!verify(
            "a-long-enough-secret",
            &header,
            br#"{"id":"evt_2"}"#,
            1_010
        ));
        assert!(!verify(
            "a-long-enough-secret",
            &header,
            body,
            1_000 + SIGNATURE_TOLERANCE_S + 1
        ));
        assert!(!verify("a-long-enough-secret", "v1=00", body, 1_000));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(1_000, 0), 1_000);
        assert_eq!(backoff_ms(1_000, 3), 8_000);
        assert_eq!(backoff_ms(1_000, 30), BACKOFF_MAX_MS);
    }

    #[test]
    fn an_endpoint_without_a_secret_is_refused() {
        assert!(Endpoint::new("http://127.0.0.1:1/hook", Secret::new(String::new())).is_err());
        assert!(Endpoint::new("ftp://x/hook", Secret::new("s".repeat(32))).is_err());
        assert!(Endpoint::new("https://x.example/hook", Secret::new("s".repeat(32))).is_ok());
    }
}
