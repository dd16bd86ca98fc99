//! `payquest demo`: demo data for a first look (and the browser tests): the
//! first admin, a finance user, a campaign owner and a community reviewer
//! (each with a one-time password), a funded, active campaign with two
//! quests, a game-server API client, a few reported activities that wait
//! in the review queue, a maker and a checker, and three rewards already
//! reviewed and eligible for a payout batch. Does nothing if the demo
//! campaign exists.

use payquest_types::{ActivityId, CampaignId};
use payquest_types::{QuestId, StaffUserId};
use std::collections::BTreeSet;

use payquest_domain::activities::{Activities, ActivityIn};
use payquest_domain::api_clients::{ApiClients, ClientAdmin, MachinePrincipal, Scope};
use payquest_domain::budgets::Budgets;
use payquest_domain::campaigns::{CampaignPlan, Campaigns};
use payquest_domain::clock::{format_ms, now_ms};
use payquest_domain::limits::ALERT_THRESHOLD_DEFAULT_PCT;
use payquest_domain::quests::{QuestInput, ValidatorConfig};
use payquest_domain::session::Actor;
use payquest_domain::store::DynStore;
use payquest_domain::types::{Amount, Role};
use payquest_domain::users::{create_staff_from_cli, ensure_first_admin};
use payquest_domain::DomainResult;

const CAMPAIGN: &str = "Launch week";
const DAY_MS: i64 = 24 * 3_600_000;

pub async fn seed(store: &DynStore, domain: &str) -> DomainResult<()> {
    if store
        .list_campaigns(None, CampaignId::default(), 200)
        .await?
        .iter()
        .any(|c| c.name == CAMPAIGN)
    {
        println!("demo data already present");
        return Ok(());
    }
    if let Some(admin) = ensure_first_admin(store, &format!("admin@{domain}")).await? {
        println!(
            "created admin {} one-time password: {}",
            admin.user.email, admin.one_time_password
        );
    }
    let mut people = Vec::new();
    for (name, role) in [
        ("finance", Role::Finance),
        ("owner", Role::CampaignOwner),
        ("community", Role::Community),
        ("other-owner", Role::CampaignOwner),
        ("maker", Role::Maker),
        ("checker", Role::Checker),
        ("treasurer", Role::Finance),
    ] {
        let email = format!("{name}@{domain}");
        let created = create_staff_from_cli(store, &email, name, role).await?;
        println!(
            "created {name} {email} one-time password: {}",
            created.one_time_password
        );
        people.push((created.user.user_id, email, role));
    }
    let finance = Actor {
        user_id: people[0].0,
        email: people[0].1.clone(),
        roles: BTreeSet::from([Role::Finance]),
        ip: None,
        via: Some("demo"),
    };
    let campaigns = Campaigns::new(store.clone());
    let campaign = campaigns
        .create_with_budget(
            &finance,
            CampaignPlan {
                name: CAMPAIGN,
                owner_email: &people[1].1,
                cost_centre_code: "LAUNCH",
                starts_at_ms: now_ms() - DAY_MS,
                ends_at_ms: now_ms() + 30 * DAY_MS,
                alert_threshold_pct: ALERT_THRESHOLD_DEFAULT_PCT,
            },
        )
        .await?;
    campaigns
        .set_status(&finance, campaign.campaign_id, "active")
        .await?;
    Budgets::new(store.clone())
        .fund(
            &finance,
            campaign.budget.cost_centre_id,
            Amount::from_minor(10_000_000_000),
            "demo-seed",
        )
        .await?;
    // A second owner's campaign, which the first owner must not see.
    campaigns
        .create_with_budget(
            &finance,
            CampaignPlan {
                name: "Summer cup",
                owner_email: &people[3].1,
                cost_centre_code: "SUMMER",
                starts_at_ms: now_ms() + 30 * DAY_MS,
                ends_at_ms: now_ms() + 60 * DAY_MS,
                alert_threshold_pct: ALERT_THRESHOLD_DEFAULT_PCT,
            },
        )
        .await?;
    let mut quest_ids = Vec::new();
    for (name, reward) in [
        ("Play five matches", 5_000_000),
        ("Post a clip of your best play", 12_500_000),
    ] {
        let q = campaigns
            .create_quest(
                &finance,
                QuestInput {
                    campaign_id: campaign.campaign_id,
                    name,
                    reward: Amount::from_minor(reward),
                    max_completions: Some(10_000),
                    max_per_gamer: Some(1),
                    repeat_period_s: None,
                    validator: ValidatorConfig::Manual,
                },
            )
            .await?;
        quest_ids.push(q.quest_id);
    }
    let creds = ApiClients::new(store.clone())
        .create(
            ClientAdmin::Cli,
            "Demo game server",
            "activities:write activities:read",
        )
        .await?;
    println!(
        "created API client client_id: {} client_secret: {}",
        creds.client_id, creds.client_secret
    );
    let client = store
        .api_client(&creds.client_id)
        .await?
        .ok_or(payquest_domain::DomainError::NotFound("API client"))?;
    let principal = MachinePrincipal {
        api_client_id: client.api_client_id,
        client_id: client.client_id,
        scopes: BTreeSet::from([Scope::ActivitiesWrite]),
    };
    let activities: Vec<ActivityIn> = (0..5)
        .map(|n| ActivityIn {
            external_id: format!("demo-{n}"),
            quest_id: quest_ids[n % 2],
            wallet: format!("0x{:040x}", 0xdead_0000u64 + n as u64),
            game_account_id: Some(format!("player-{n}")),
            social_handle: None,
            occurred_at: format_ms(now_ms() - (n as i64 + 1) * 3_600_000),
            evidence: Some(serde_json::json!({ "clip": format!("https://clips.example/{n}") })),
            signature: None,
        })
        .collect();
    Activities::new(store.clone())
        .ingest(&principal, &activities)
        .await?;
    eligible_rewards(store, &principal, &quest_ids, people[2].0, &people[2].1).await?;
    let community = Actor {
        user_id: people[2].0,
        email: people[2].1.clone(),
        roles: BTreeSet::from([Role::Community]),
        ip: None,
        via: Some("demo"),
    };
    demo_content(store, &community, campaign.campaign_id, &quest_ids).await?;
    println!(
        "demo campaign \"{CAMPAIGN}\" is funded with 10000 tokens; 5 activities wait for review; \
         6 rewards are eligible for a payout batch (two the demo gamer's, {DEMO_GAMER_WALLET}); the public site has a banner, header, footer, \
         two K-Quests, a K-Drop and a leaderboard (en and es)"
    );
    Ok(())
}

/// The demo gamer: the dev chain's (anvil's) second well-known account, so
/// anyone can sign in as them with its published test key. Never a real
/// wallet.
pub const DEMO_GAMER_WALLET: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// Six activities reviewed and approved by the community user (two the
/// demo gamer's): eligible rewards a maker can put in a batch straight away.
async fn eligible_rewards(
    store: &DynStore,
    principal: &MachinePrincipal,
    quest_ids: &[QuestId],
    community_id: StaffUserId,
    community_email: &str,
) -> DomainResult<()> {
    use payquest_domain::review::Reviews;
    use payquest_domain::validation::{Validation, ValidationPolicy, ValidatorSecrets};
    // Four rewards of other wallets (the fourth on the first quest), then
    // the demo gamer's two, one on each quest (their wallet's key is public:
    // see `DEMO_GAMER_WALLET`).
    let items: Vec<ActivityIn> = (0..6)
        .map(|n| ActivityIn {
            external_id: format!("demo-reviewed-{n}"),
            quest_id: quest_ids[match n {
                1 | 5 => 1,
                _ => 0,
            }],
            wallet: if n < 4 {
                format!("0x{:040x}", 0xfeed_0000u64 + n as u64)
            } else {
                DEMO_GAMER_WALLET.to_owned()
            },
            game_account_id: Some(format!("player-r{n}")),
            social_handle: None,
            occurred_at: format_ms(now_ms() - 600_000),
            evidence: Some(serde_json::json!({ "note": "checked by the demo" })),
            signature: None,
        })
        .collect();
    let stored = Activities::new(store.clone())
        .ingest(principal, &items)
        .await?;
    let ids: Vec<ActivityId> = stored.iter().filter_map(|s| s.activity_id).collect();
    let validation = Validation::new(
        store.clone(),
        ValidationPolicy::default(),
        ValidatorSecrets::default(),
    )?;
    // A running server's workers may take them first: wait until all wait for review.
    for _ in 0..100 {
        validation.run_once().await?;
        let mut waiting = 0;
        for id in &ids {
            if store
                .activity(*id)
                .await?
                .is_some_and(|a| a.status == payquest_domain::types::ActivityStatus::NeedsReview)
            {
                waiting += 1;
            }
        }
        if waiting == ids.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let community = Actor {
        user_id: community_id,
        email: community_email.to_owned(),
        roles: BTreeSet::from([Role::Community]),
        ip: None,
        via: Some("demo"),
    };
    Reviews::new(store.clone())
        .decide(&community, &ids, true, "demo: evidence checked")
        .await?;
    Ok(())
}

/// A content type, a slug and the editor's inputs.
type DemoEntry = (
    payquest_domain::types::ContentType,
    &'static str,
    Vec<(&'static str, String)>,
);

/// The public site's demo content, published, in English and Spanish.
async fn demo_content(
    store: &DynStore,
    community: &Actor,
    campaign_id: CampaignId,
    quest_ids: &[QuestId],
) -> DomainResult<()> {
    use payquest_domain::content::Content;
    use payquest_domain::types::ContentType;
    let content = Content::new(store.clone());
    let starts = format_ms(now_ms() - DAY_MS);
    let ends = format_ms(now_ms() + 30 * DAY_MS);
    let campaign = campaign_id.to_string();
    let quests = |i: usize| quest_ids.get(i).map(|q| q.to_string()).unwrap_or_default();
    let entries: Vec<DemoEntry> = vec![
        (
            ContentType::Banner,
            "banner",
            vec![
                ("title.en", "Launch week is on".into()),
                ("title.es", "La semana de lanzamiento ya empezó".into()),
                (
                    "body.en",
                    "<p>Finish quests in game and on social, and get paid in tokens.</p>".into(),
                ),
                (
                    "body.es",
                    "<p>Completa misiones en el juego y en redes, y cobra en tokens.</p>".into(),
                ),
                ("link", "/quests".into()),
            ],
        ),
        (
            ContentType::Header,
            "header",
            vec![
                ("tagline.en", "Play. Complete quests. Get paid.".into()),
                ("tagline.es", "Juega. Completa misiones. Cobra.".into()),
                ("links.en", "K-Quests | /quests\nK-Drops | /drops".into()),
                ("links.es", "K-Quests | /quests\nK-Drops | /drops".into()),
            ],
        ),
        (
            ContentType::Footer,
            "footer",
            vec![
                (
                    "text.en",
                    "<p>PayQuest pays rewards on chain; every payment is reconciled.</p>".into(),
                ),
                (
                    "text.es",
                    "<p>PayQuest paga en la cadena; cada pago se concilia.</p>".into(),
                ),
            ],
        ),
        (
            ContentType::KQuest,
            "five-matches",
            vec![
                ("title.en", "Play five matches".into()),
                ("title.es", "Juega cinco partidas".into()),
                (
                    "summary.en",
                    "<p>Play five ranked matches during launch week.</p>".into(),
                ),
                ("campaign_id", campaign.clone()),
                ("quest_ids", quests(0)),
                ("reward.en", "5 tokens".into()),
                ("starts_at", starts.clone()),
                ("ends_at", ends.clone()),
            ],
        ),
        (
            ContentType::KQuest,
            "best-clip",
            vec![
                ("title.en", "Post a clip of your best play".into()),
                ("title.es", "Publica un clip de tu mejor jugada".into()),
                ("campaign_id", campaign.clone()),
                ("quest_ids", quests(1)),
                ("reward.en", "12.5 tokens".into()),
                ("starts_at", starts.clone()),
                ("ends_at", ends.clone()),
            ],
        ),
        (
            ContentType::KDrop,
            "launch-drop",
            vec![
                ("title.en", "Launch drop".into()),
                ("title.es", "Drop de lanzamiento".into()),
                (
                    "summary.en",
                    "<p>1,000 tokens shared by the first players of launch week.</p>".into(),
                ),
                ("campaign_id", campaign.clone()),
                ("total", "1000".into()),
                ("starts_at", starts.clone()),
                ("ends_at", ends.clone()),
            ],
        ),
        (
            ContentType::Leaderboard,
            "launch-sprint",
            vec![
                ("title.en", "Launch week leaderboard".into()),
                (
                    "title.es",
                    "Clasificación de la semana de lanzamiento".into(),
                ),
                ("campaign_id", campaign),
                ("period.en", "Sprint 1".into()),
                ("period.es", "Sprint 1".into()),
                ("ranked_by", "points".into()),
                ("starts_at", starts),
                ("ends_at", ends),
            ],
        ),
    ];
    for (content_type, slug, fields) in entries {
        let inputs = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let (entry, _) = content
            .save_draft(community, content_type, slug, &inputs)
            .await?;
        content.publish(community, entry).await?;
    }
    Ok(())
}
