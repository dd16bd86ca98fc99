//! Campaigns and quests: who may create, who may see, and what input is refused.

use payquest_domain::budgets::Budgets;
use payquest_domain::campaigns::{CampaignInput, Campaigns};
use payquest_domain::on_both_backends;
use payquest_domain::quests::{QuestInput, ValidatorConfig};
use payquest_domain::session::Actor;
use payquest_domain::store::DynStore;
use payquest_domain::testing::{self, TestDb};
use payquest_domain::types::{Amount, Role};
use payquest_domain::DomainError;
use payquest_types::CostCentreId;
use payquest_types::{CampaignId, StaffUserId};

async fn person(store: &DynStore, email: &str, roles: &[Role]) -> Actor {
    testing::staff(store, email, roles[0]).await
}

fn input(name: &str, owner: StaffUserId, cost_centre_id: CostCentreId) -> CampaignInput<'_> {
    CampaignInput {
        name,
        owner_user_id: owner,
        cost_centre_id,
        starts_at_ms: 1_000,
        ends_at_ms: 2_000,
        alert_threshold_pct: 80,
    }
}

async fn owners_see_only_their_own_campaigns(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let campaigns = Campaigns::new(store.clone());
    let fin = person(&store, "fin@example.com", &[Role::Finance]).await;
    let olga = person(&store, "olga@example.com", &[Role::CampaignOwner]).await;
    let omar = person(&store, "omar@example.com", &[Role::CampaignOwner]).await;
    let maker = person(&store, "mia@example.com", &[Role::Maker]).await;

    let cc1 = budgets
        .create_cost_centre(&fin, "CC-1", "Launch")
        .await
        .expect("cc");
    let cc2 = budgets
        .create_cost_centre(&fin, "CC-2", "Summer")
        .await
        .expect("cc");
    let launch = campaigns
        .create(&fin, input("Launch week", olga.user_id, cc1.cost_centre_id))
        .await
        .expect("create");
    let summer = campaigns
        .create(&fin, input("Summer cup", omar.user_id, cc2.cost_centre_id))
        .await
        .expect("create");
    assert_eq!(launch.owner_email, "olga@example.com");
    assert_eq!(launch.status, "draft");

    let mine = campaigns
        .list(&olga, CampaignId::default(), 50)
        .await
        .expect("list");
    assert_eq!(
        mine.iter().map(|c| c.campaign_id).collect::<Vec<_>>(),
        vec![launch.campaign_id]
    );
    assert!(campaigns.get(&olga, launch.campaign_id).await.is_ok());
    assert!(matches!(
        campaigns.get(&olga, summer.campaign_id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        campaigns.quests(&olga, summer.campaign_id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        campaigns.list(&maker, CampaignId::default(), 50).await,
        Err(DomainError::Forbidden)
    ));
    assert_eq!(
        campaigns
            .list(&fin, CampaignId::default(), 50)
            .await
            .expect("finance sees all")
            .len(),
        2
    );

    // Owners can't create or change campaigns; finance can.
    assert!(matches!(
        campaigns
            .create(&olga, input("Mine", olga.user_id, cc1.cost_centre_id))
            .await,
        Err(DomainError::Forbidden)
    ));
    assert!(matches!(
        campaigns
            .set_status(&olga, launch.campaign_id, "active")
            .await,
        Err(DomainError::Forbidden)
    ));
    campaigns
        .set_status(&fin, launch.campaign_id, "active")
        .await
        .expect("activate");
    assert_eq!(
        campaigns
            .get(&olga, launch.campaign_id)
            .await
            .expect("get")
            .status,
        "active"
    );
    assert!(matches!(
        campaigns
            .set_status(&fin, launch.campaign_id, "launched")
            .await,
        Err(DomainError::InvalidInput(_))
    ));
}
on_both_backends!(
    owners_on,
    crate::campaigns::owners_see_only_their_own_campaigns
);

async fn campaign_and_quest_input_is_checked(db: &TestDb) {
    let store = db.store().await;
    let budgets = Budgets::new(store.clone());
    let campaigns = Campaigns::new(store.clone());
    let fin = person(&store, "fin@example.com", &[Role::Finance]).await;
    let community = person(&store, "cat@example.com", &[Role::Community]).await;
    let olga = person(&store, "olga@example.com", &[Role::CampaignOwner]).await;
    let cc = budgets
        .create_cost_centre(&fin, "CC-1", "Launch")
        .await
        .expect("cc");

    let mut backwards = input("Backwards", olga.user_id, cc.cost_centre_id);
    backwards.ends_at_ms = 500;
    assert!(matches!(
        campaigns.create(&fin, backwards).await,
        Err(DomainError::InvalidField {
            field: "ends_on",
            ..
        })
    ));
    assert!(matches!(
        campaigns
            .create(&fin, input(" ", olga.user_id, cc.cost_centre_id))
            .await,
        Err(DomainError::InvalidField { field: "name", .. })
    ));
    assert!(matches!(
        campaigns
            .create(&fin, input("No owner role", fin.user_id, cc.cost_centre_id))
            .await,
        Err(DomainError::InvalidField {
            field: "owner_email",
            ..
        })
    ));
    assert!(matches!(
        campaigns
            .create(&fin, input("Ghost cc", olga.user_id, CostCentreId(999)))
            .await,
        Err(DomainError::NotFound(_))
    ));
    let c = campaigns
        .create(&fin, input("Launch", olga.user_id, cc.cost_centre_id))
        .await
        .expect("create");
    assert!(
        matches!(
            campaigns
                .create(&fin, input("Second", olga.user_id, cc.cost_centre_id))
                .await,
            Err(DomainError::Conflict(_))
        ),
        "one cost centre per campaign"
    );

    let quest = |reward: i64, validator: ValidatorConfig| QuestInput {
        campaign_id: c.campaign_id,
        name: "Play five matches",
        reward: Amount::from_minor(reward),
        max_completions: Some(1_000),
        max_per_gamer: Some(1),
        repeat_period_s: None,
        validator,
    };
    let q = campaigns
        .create_quest(&community, quest(2_500_000, ValidatorConfig::Manual))
        .await
        .expect("quest");
    assert_eq!(q.reward, Amount::from_minor(2_500_000));
    assert_eq!(q.validator_kind, "manual");
    assert!(matches!(
        campaigns
            .create_quest(&community, quest(0, ValidatorConfig::Manual))
            .await,
        Err(DomainError::InvalidField {
            field: "reward",
            ..
        })
    ));
    let bad_url = ValidatorConfig::DiscordMember {
        guild_id: "1".into(),
        base_url: Some("javascript:alert(1)".into()),
    };
    assert!(matches!(
        campaigns.create_quest(&community, quest(10, bad_url)).await,
        Err(DomainError::InvalidField {
            field: "validator",
            ..
        })
    ));
    assert!(matches!(
        campaigns
            .create_quest(&olga, quest(10, ValidatorConfig::Manual))
            .await,
        Err(DomainError::Forbidden)
    ));
    assert_eq!(
        campaigns
            .quests(&olga, c.campaign_id)
            .await
            .expect("owner reads quests")
            .len(),
        1
    );
}
on_both_backends!(
    input_on,
    crate::campaigns::campaign_and_quest_input_is_checked
);
