//! The work waiting for a staff member: what their home page lists and their
//! navigation counts. Which queues a member sees follows their permissions;
//! the counts come from one query (`Store::waiting_counts`).

use payquest_types::{CampaignStatus, Role, Waiting, WAITING_COUNT_CAP};

use crate::insights::REWARDS_SAMPLE_MAX;
use crate::session::{Actor, Permission};
use crate::store::DynStore;
use crate::DomainResult;

/// A budget is "near" its threshold from this many points below it.
pub const NEAR_THRESHOLD_POINTS: i64 = 10;

/// An owner's home looks at this many of their campaigns at most.
const OWNER_CAMPAIGNS_MAX: u32 = 50;

pub async fn waiting_for(store: &DynStore, actor: &Actor) -> DomainResult<Vec<Waiting>> {
    let counts = store
        .waiting_counts(actor.user_id, WAITING_COUNT_CAP)
        .await?;
    let mut waiting = Vec::new();
    if actor.can(Permission::ReviewActivities) {
        waiting.push(Waiting::Reviews {
            count: counts.reviews,
        });
    }
    if actor.can(Permission::ApproveBatches) {
        waiting.push(Waiting::BatchesToApprove {
            count: counts.to_approve,
        });
    }
    if actor.can(Permission::Disburse) {
        waiting.push(Waiting::BatchesToDisburse {
            count: counts.to_disburse,
        });
        waiting.push(Waiting::FindingsOpen {
            count: counts.findings_open,
        });
    }
    if actor.can(Permission::ManageStaff) {
        waiting.push(Waiting::RoleRequests {
            count: counts.role_requests,
        });
    }
    // Those who may redeliver a webhook see the ones that gave up.
    if actor.can(Permission::ManageContent) {
        waiting.push(Waiting::FailedDeliveries {
            count: counts.failed_deliveries,
        });
    }
    if actor.roles.contains(&Role::CampaignOwner) {
        let campaigns = store
            .list_campaigns(Some(actor.user_id), Default::default(), OWNER_CAMPAIGNS_MAX)
            .await?;
        for c in campaigns
            .iter()
            .filter(|c| c.status == CampaignStatus::Active)
        {
            let funded = c.budget.funded.minor();
            if funded <= 0 {
                continue;
            }
            let unpaid: i64 = store
                .unpaid_rewards(c.campaign_id, REWARDS_SAMPLE_MAX)
                .await?
                .iter()
                .map(|r| r.1)
                .sum();
            let committed = c.budget.reserved.minor() + c.budget.spent.minor() + unpaid;
            let committed_pct = committed.saturating_mul(100) / funded;
            if committed_pct >= c.alert_threshold_pct - NEAR_THRESHOLD_POINTS {
                waiting.push(Waiting::BudgetNearThreshold {
                    campaign_id: c.campaign_id,
                    campaign: c.name.clone(),
                    committed_pct,
                    threshold_pct: c.alert_threshold_pct,
                });
            }
        }
    }
    Ok(waiting)
}
