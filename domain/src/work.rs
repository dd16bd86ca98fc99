//! The work waiting for a staff member: what their home page lists and their
//! navigation counts. Which queues a member sees follows their permissions;
//! the counts come from one query (`Store::waiting_counts`).

use payquest_types::{CampaignStatus, Role, Waiting, WAITING_COUNT_CAP};

use crate::insights::committed_pct;
use crate::session::{Actor, Permission};
use crate::store::DynStore;
use crate::DomainResult;

/// A budget is "near" its threshold from this many points below it.
pub const NEAR_THRESHOLD_POINTS: i64 = 10;

/// An owner's home looks at this many of their campaigns at most.
const OWNER_CAMPAIGNS_MAX: u32 = 50;

pub async fn waiting_for(store: &DynStore, actor: &Actor) -> DomainResult<Vec<Waiting>> {
    let c = store
        .waiting_counts(actor.user_id, WAITING_COUNT_CAP)
        .await?;
    // Each queue, and the permission that makes it this member's work.
    let queues = [
        (
            Permission::ReviewActivities,
            Waiting::Reviews { count: c.reviews },
        ),
        (
            Permission::ApproveBatches,
            Waiting::BatchesToApprove {
                count: c.to_approve,
            },
        ),
        (
            Permission::Disburse,
            Waiting::BatchesToDisburse {
                count: c.to_disburse,
            },
        ),
        (
            Permission::Disburse,
            Waiting::FindingsOpen {
                count: c.findings_open,
            },
        ),
        (
            Permission::ManageStaff,
            Waiting::RoleRequests {
                count: c.role_requests,
            },
        ),
        // Those who may redeliver a webhook see the ones that gave up.
        (
            Permission::ManageContent,
            Waiting::FailedDeliveries {
                count: c.failed_deliveries,
            },
        ),
    ];
    let mut waiting: Vec<Waiting> = queues
        .into_iter()
        .filter(|(permission, _)| actor.can(*permission))
        .map(|(_, w)| w)
        .collect();
    if actor.roles.contains(&Role::CampaignOwner) {
        let campaigns = store
            .list_campaigns(Some(actor.user_id), Default::default(), OWNER_CAMPAIGNS_MAX)
            .await?;
        for c in campaigns
            .iter()
            .filter(|c| c.status == CampaignStatus::Active)
        {
            let unpaid = store.unpaid_total(c.campaign_id).await?;
            let Some(committed_pct) = committed_pct(c, unpaid) else {
                continue;
            };
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
