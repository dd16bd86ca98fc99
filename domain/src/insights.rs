//! What a campaign owner watches: the budget over time, the day it runs out
//! at the current pace, how long each pipeline stage takes (turnaround), and
//! whether the budget crossed its alert threshold.

use payquest_types::Amount;
use payquest_types::CampaignId;
use serde::{Deserialize, Serialize};

use crate::campaigns::Campaigns;
use crate::clock::now_ms;
use crate::session::Actor;
use crate::store::{BudgetMovement, CampaignRecord, DynStore};
use crate::DomainResult;

/// Journal movements drawn in the burn-down chart.
pub const BURN_DOWN_POINTS_MAX: u32 = 500;
/// Activities the turnaround percentiles are computed over.
pub const TAT_SAMPLE_MAX: u32 = 5_000;
/// Rewards read for the pace and the earned line.
pub const REWARDS_SAMPLE_MAX: u32 = 10_000;
/// The pace is measured over this window.
pub const PACE_WINDOW_MS: i64 = 7 * 24 * 3_600_000;
const DAY_MS: i64 = 24 * 3_600_000;

/// A cost centre's balances just after one movement (minor units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetPoint {
    pub at_ms: i64,
    pub funded_minor: i64,
    pub available_minor: i64,
    pub reserved_minor: i64,
    pub spent_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageStat {
    pub stage: String,
    pub count: usize,
    pub p50_ms: i64,
    pub p90_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignInsight {
    pub burn_down: Vec<BudgetPoint>,
    /// Rewards earned since the chart's first movement, summed as they came:
    /// (at, earned so far), oldest first.
    pub earned: Vec<(i64, i64)>,
    /// Rewards earned but not yet paid: they will draw on the budget.
    pub unpaid_rewards_minor: i64,
    /// Rewards earned per day over the last week, paid or not.
    pub pace_minor_per_day: i64,
    /// When available minus unpaid rewards reaches zero at that pace.
    pub runs_out_at_ms: Option<i64>,
    pub stages: Vec<StageStat>,
    /// Set when committed budget (reserved + spent + unpaid) crossed the threshold.
    pub alert: Option<String>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn stage(name: &str, mut values: Vec<i64>) -> StageStat {
    values.sort_unstable();
    StageStat {
        stage: name.to_owned(),
        count: values.len(),
        p50_ms: percentile(&values, 50),
        p90_ms: percentile(&values, 90),
    }
}

/// Rebuilds the balance history backwards from today's balances.
fn burn_down(campaign: &CampaignRecord, movements: &[BudgetMovement]) -> Vec<BudgetPoint> {
    let b = &campaign.budget;
    let mut now = BudgetPoint {
        at_ms: now_ms(),
        funded_minor: b.funded.minor(),
        available_minor: b.available().minor(),
        reserved_minor: b.reserved.minor(),
        spent_minor: b.spent.minor(),
    };
    let mut points = vec![now.clone()];
    for m in movements.iter().rev() {
        now.at_ms = m.at_ms;
        points.push(now.clone());
        now.funded_minor -= m.funded;
        now.available_minor -= m.available;
        now.reserved_minor -= m.reserved;
        now.spent_minor -= m.spent;
    }
    points.reverse();
    points
}

/// Tokens a day from what was earned over `PACE_WINDOW_MS` up to `now`, and
/// the day the budget left after unpaid rewards runs out at that pace.
pub fn pace_and_run_out(
    earned: &[(i64, i64)],
    available_minor: i64,
    unpaid_minor: i64,
    now: i64,
) -> (i64, Option<i64>) {
    let recent: i64 = earned
        .iter()
        .filter(|r| r.0 >= now - PACE_WINDOW_MS)
        .map(|r| r.1)
        .sum();
    let pace = recent.saturating_mul(DAY_MS) / PACE_WINDOW_MS;
    let left = available_minor - unpaid_minor;
    let runs_out = (pace > 0).then(|| now + left.max(0).saturating_mul(DAY_MS) / pace);
    (pace, runs_out)
}

/// What the campaign has committed (reserved + spent + unpaid rewards), as a
/// percentage of what it was funded; `None` before any funding.
pub fn committed_pct(campaign: &CampaignRecord, unpaid_minor: i64) -> Option<i64> {
    let funded = campaign.budget.funded.minor();
    (funded > 0).then(|| {
        let committed =
            campaign.budget.reserved.minor() + campaign.budget.spent.minor() + unpaid_minor;
        committed.saturating_mul(100) / funded
    })
}

/// Every active campaign, page by page (the alert loop and the gauges).
pub async fn active_campaigns(store: &DynStore) -> crate::store::StoreResult<Vec<CampaignRecord>> {
    let mut out = Vec::new();
    let mut after = CampaignId::default();
    loop {
        let page = store
            .list_campaigns(None, after, crate::limits::PAGE_SIZE_MAX)
            .await?;
        let Some(last) = page.last().map(|c| c.campaign_id) else {
            return Ok(out);
        };
        after = last;
        out.extend(
            page.into_iter()
                .filter(|c| c.status == payquest_types::CampaignStatus::Active),
        );
    }
}

pub fn alert_for(campaign: &CampaignRecord, unpaid_minor: i64) -> Option<String> {
    let pct = committed_pct(campaign, unpaid_minor)?;
    let committed = campaign.budget.reserved.minor() + campaign.budget.spent.minor() + unpaid_minor;
    (pct >= campaign.alert_threshold_pct).then(|| {
        format!(
            "{} has committed {pct}% of its budget ({} of {}); the alert threshold is {}%",
            campaign.name,
            Amount::from_minor(committed),
            campaign.budget.funded,
            campaign.alert_threshold_pct
        )
    })
}

/// Posts a signed webhook when a campaign's committed budget crosses its
/// alert threshold, once per crossing across all replicas. The body is JSON;
/// `x-payquest-signature: sha256=<hex HMAC-SHA256 of the body>` lets the
/// receiver check it came from us.
pub struct BudgetAlerts {
    store: DynStore,
    http: reqwest::Client,
    url: String,
    secret: crate::secret::Secret<String>,
}

pub const ALERT_WEBHOOK_TIMEOUT_MS: u64 = 5_000;

impl BudgetAlerts {
    pub fn new(
        store: DynStore,
        url: String,
        secret: crate::secret::Secret<String>,
    ) -> DomainResult<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(ALERT_WEBHOOK_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(crate::DomainError::internal)?;
        Ok(Self {
            store,
            http,
            url,
            secret,
        })
    }

    /// Checks every active campaign once; returns how many alerts were sent.
    pub async fn run_once(&self) -> DomainResult<usize> {
        use hmac::{Hmac, Mac};
        let mut sent = 0;
        for c in &active_campaigns(&self.store).await? {
            let unpaid = self.store.unpaid_total(c.campaign_id).await?;
            let Some(message) = alert_for(c, unpaid) else {
                continue;
            };
            if !self
                .store
                .claim_budget_alert(c.campaign_id, c.alert_threshold_pct, now_ms())
                .await?
            {
                continue;
            }
            let body = serde_json::json!({
                "event": "budget.threshold_crossed",
                "campaign_id": c.campaign_id,
                "campaign": c.name,
                "threshold_pct": c.alert_threshold_pct,
                "funded_minor": c.budget.funded.minor(),
                "committed_minor": c.budget.reserved.minor() + c.budget.spent.minor() + unpaid,
                "message": message,
                "at": crate::clock::format_ms(now_ms()),
            })
            .to_string();
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(self.secret.expose().as_bytes())
                .map_err(|e| crate::DomainError::Internal(e.to_string().into()))?;
            mac.update(body.as_bytes());
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            let delivered = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .header("x-payquest-signature", signature)
                .body(body)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if delivered {
                sent += 1;
            } else {
                tracing::warn!(
                    campaign_id = %c.campaign_id,
                    "budget alert webhook failed; retrying next round"
                );
                self.store
                    .release_budget_alert(c.campaign_id, c.alert_threshold_pct)
                    .await?;
            }
        }
        Ok(sent)
    }
}

/// The owner's figures and charts. Every read here tolerates lag (nothing
/// is decided on it), so a deployment with a read replica builds this on
/// the replica's store.
pub struct Insights {
    store: DynStore,
    campaigns: Campaigns,
}

impl Insights {
    pub fn new(store: DynStore) -> Self {
        Self {
            campaigns: Campaigns::new(store.clone()),
            store,
        }
    }

    /// A campaign's balances and its unpaid rewards, without the charts
    /// (same visibility as the campaign).
    pub async fn figures(
        &self,
        actor: &Actor,
        campaign_id: CampaignId,
    ) -> DomainResult<(CampaignRecord, i64)> {
        let campaign = self.campaigns.get(actor, campaign_id).await?;
        let unpaid = self.store.unpaid_total(campaign_id).await?;
        Ok((campaign, unpaid))
    }

    /// The owner's view of one campaign (same visibility as the campaign).
    pub async fn campaign(
        &self,
        actor: &Actor,
        campaign_id: CampaignId,
    ) -> DomainResult<(CampaignRecord, CampaignInsight)> {
        let campaign = self.campaigns.get(actor, campaign_id).await?;
        let movements = self
            .store
            .budget_movements(campaign.budget.cost_centre_id, BURN_DOWN_POINTS_MAX)
            .await?;
        let times = self.store.stage_times(campaign_id, TAT_SAMPLE_MAX).await?;
        let paid = self
            .store
            .payout_stage_times(campaign_id, TAT_SAMPLE_MAX)
            .await?;
        let now = now_ms();

        let unpaid = self.store.unpaid_total(campaign_id).await?;
        let burn_down = burn_down(&campaign, &movements);
        let chart_from = burn_down.first().map_or(now, |p| p.at_ms);
        let earned_rows = self
            .store
            .rewards_earned(
                campaign_id,
                chart_from.min(now - PACE_WINDOW_MS),
                REWARDS_SAMPLE_MAX,
            )
            .await?;
        let (pace, runs_out_at_ms) = pace_and_run_out(
            &earned_rows,
            campaign.budget.available().minor(),
            unpaid,
            now,
        );
        let mut so_far = 0i64;
        let earned = earned_rows
            .iter()
            .filter(|r| r.0 >= chart_from)
            .map(|&(at, amount)| {
                so_far = so_far.saturating_add(amount);
                (at, so_far)
            })
            .collect();

        let stages = vec![
            stage("reported", times.iter().map(|t| t.1 - t.0).collect()),
            stage(
                "validated",
                times.iter().filter_map(|t| t.2.map(|v| v - t.1)).collect(),
            ),
            stage(
                "rewarded",
                times
                    .iter()
                    .filter_map(|t| t.3.zip(t.2).map(|(r, v)| r - v))
                    .collect(),
            ),
            stage(
                "activity to reward",
                times.iter().filter_map(|t| t.3.map(|r| r - t.0)).collect(),
            ),
            stage(
                "approved",
                paid.iter().filter_map(|t| t.2.map(|a| a - t.1)).collect(),
            ),
            stage(
                "confirmed on chain",
                paid.iter()
                    .filter_map(|t| t.3.zip(t.2).map(|(c, a)| c - a))
                    .collect(),
            ),
            stage(
                "activity to confirmed payment",
                paid.iter().filter_map(|t| t.3.map(|c| c - t.0)).collect(),
            ),
        ];
        let insight = CampaignInsight {
            burn_down,
            earned,
            unpaid_rewards_minor: unpaid,
            pace_minor_per_day: pace,
            runs_out_at_ms,
            stages,
            alert: alert_for(&campaign, unpaid),
        };
        Ok((campaign, insight))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 90), 9);
        assert_eq!(percentile(&[42], 90), 42);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn the_pace_counts_paid_rewards_and_gives_a_run_out_day() {
        let now = 100 * DAY_MS;
        // 70 tokens earned (and paid) over the last week, one too old.
        let earned: Vec<(i64, i64)> = (0..7)
            .map(|d| (now - d * DAY_MS, 10_000_000))
            .chain([(now - 9 * DAY_MS, 99_000_000)])
            .collect();
        let (pace, runs_out) = pace_and_run_out(&earned, 100_000_000, 0, now);
        assert_eq!(pace, 10_000_000, "10 tokens a day");
        assert_eq!(runs_out, Some(now + 10 * DAY_MS));
        // Unpaid rewards come off what is left first.
        assert_eq!(
            pace_and_run_out(&earned, 100_000_000, 50_000_000, now).1,
            Some(now + 5 * DAY_MS)
        );
        assert_eq!(pace_and_run_out(&[], 100_000_000, 0, now), (0, None));
    }
}
