//! Traces over OTLP: a small OTLP/HTTP receiver on 127.0.0.1 stands in for
//! Jaeger's collector. One activity goes from its report to its payment on
//! the dev chain; the receiver gets the request's span, the validation
//! worker's (with the activity id), the disbursement worker's (with the batch
//! and chunk ids) and reconciliation's, and the JSON log lines name the same
//! trace ids.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use payquest_domain::payouts::{BatchRequest, Payouts};
use payquest_domain::quests::ValidatorConfig;
use payquest_domain::store::ApproveOutcome;
use payquest_domain::testing::{active_quest, staff, DevChain, TestDb};
use payquest_domain::types::{Amount, Role};
use serde_json::{json, Value};

use crate::machine_api::{activity, create_client, fake_game_api, token};
use crate::{client, command};

/// A received span: its name, trace id (hex) and attributes as text.
#[derive(Debug, Clone)]
struct Received {
    name: String,
    trace_id: String,
    attributes: BTreeMap<String, String>,
}

/// An OTLP/HTTP (protobuf) trace receiver; returns its base URL.
async fn otlp_receiver(spans: Arc<Mutex<Vec<Received>>>) -> String {
    use axum::routing::post;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    use prost::Message;
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let spans = spans.clone();
            async move {
                let Ok(req) = ExportTraceServiceRequest::decode(body) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                let mut got = spans.lock().expect("lock");
                for rs in req.resource_spans {
                    for ss in rs.scope_spans {
                        for s in ss.spans {
                            let attributes = s
                                .attributes
                                .iter()
                                .map(|kv| {
                                    let v = match kv.value.as_ref().and_then(|v| v.value.clone()) {
                                        Some(Any::StringValue(t)) => t,
                                        Some(Any::IntValue(i)) => i.to_string(),
                                        Some(Any::BoolValue(b)) => b.to_string(),
                                        Some(Any::DoubleValue(d)) => d.to_string(),
                                        other => format!("{other:?}"),
                                    };
                                    (kv.key.clone(), v)
                                })
                                .collect();
                            got.push(Received {
                                name: s.name,
                                trace_id: hex::encode(&s.trace_id),
                                attributes,
                            });
                        }
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_activity_from_report_to_payment_is_traced() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let dev = DevChain::start().await;
    let game = fake_game_api().await;
    let spans = Arc::new(Mutex::new(Vec::new()));
    let collector = otlp_receiver(spans.clone()).await;

    let validator: ValidatorConfig = serde_json::from_value(json!({
        "kind": "game_api", "method": "GET", "url": format!("{game}/players/{{game_account_id}}"),
        "headers": { "authorization": "secret:GAME_KEY" },
        "condition": { "pointer": "/stats/matches_played", "op": ">=", "value": 5 }
    }))
    .expect("validator config");
    let quest_id = active_quest(&store, "traced", validator).await;
    let quest = store.quest(quest_id).await.expect("read").expect("quest");
    let campaign = store
        .campaign(quest.campaign_id)
        .await
        .expect("read")
        .expect("campaign");
    let finance = staff(&store, "fin@example.com", Role::Finance).await;
    payquest_domain::budgets::Budgets::new(store.clone())
        .fund(
            &finance,
            campaign.budget.cost_centre_id,
            Amount::from_minor(1_000_000_000),
            "f",
        )
        .await
        .expect("fund");
    let writer = create_client(&db, "activities:write");

    let mut cmd = command(&db.url);
    cmd.arg("serve")
        .envs([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("PAYQUEST_LOG_FORMAT", "json"),
            ("PAYQUEST_LOG", "info,sqlx=warn"),
            ("PAYQUEST_VALIDATOR_SECRETS", "GAME_KEY=Bearer game-key"),
            ("PAYQUEST_VALIDATOR_ALLOW_PRIVATE_HOSTS", "127.0.0.1"),
            ("PAYQUEST_VALIDATOR_SECRET_HOSTS", "GAME_KEY=127.0.0.1"),
            ("PAYQUEST_CHAIN_RPC_URL", dev.anvil.endpoint().as_str()),
            (
                "PAYQUEST_CHAIN_ID",
                dev.anvil.chain_id().to_string().as_str(),
            ),
            (
                "PAYQUEST_CHAIN_TOKEN_ADDRESS",
                dev.deployment.token.to_string().as_str(),
            ),
            (
                "PAYQUEST_CHAIN_PAYOUT_CONTRACT",
                dev.deployment.payout_contract.to_string().as_str(),
            ),
            (
                "PAYQUEST_CHAIN_TREASURY_ADDRESS",
                dev.deployment.treasury.to_string().as_str(),
            ),
            ("PAYQUEST_CHAIN_SIGNER_KEY", dev.key.expose().as_str()),
            ("PAYQUEST_CHAIN_CONFIRMATIONS", "1"),
            ("PAYQUEST_DISBURSE_INTERVAL_MS", "50"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start payquest");
    let logs = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let logs = logs.clone();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().expect("lock").push(line);
            }
        });
    }
    // Read to the end on a thread of its own: a closed pipe would end the
    // server at its next line.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("payquest listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server started");

    // Reported over HTTP, validated by the server's worker.
    let http = client();
    let tok = token(&http, &url, &writer).await;
    let res = http
        .post(format!("{url}/api/v1/activities"))
        .bearer_auth(&tok)
        .json(&activity(quest_id, 1))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201);
    let activity_id = res.json::<Value>().await.expect("json")["activity_id"]
        .as_i64()
        .expect("id");
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.count_payout_items(quest_id).await.expect("count") == 0 {
        assert!(Instant::now() < deadline, "the activity was not rewarded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Approved by two people; paid by the server.
    let maker = staff(&store, "maker@example.com", Role::Maker).await;
    let checker = staff(&store, "checker@example.com", Role::Checker).await;
    let payouts = Payouts::new(store.clone(), Default::default());
    let b = payouts
        .create_batch(
            &maker,
            &BatchRequest {
                note: "traced".into(),
                max_items: 10,
                ..BatchRequest::default()
            },
        )
        .await
        .expect("batch");
    payouts
        .submit(&maker, b.payout_batch_id)
        .await
        .expect("submit");
    assert_eq!(
        payouts
            .approve(&checker, b.payout_batch_id, &b.content_hash)
            .await
            .expect("approve"),
        ApproveOutcome::Approved
    );
    payouts
        .start_disbursement(&finance, b.payout_batch_id)
        .await
        .expect("start");

    let batch = b.payout_batch_id.to_string();
    let want = |s: &Received| -> Option<&'static str> {
        match s.name.as_str() {
            "request"
                if s.attributes.get("path").map(String::as_str) == Some("/api/v1/activities") =>
            {
                Some("request")
            }
            "validation.validate"
                if s.attributes.get("activity_id") == Some(&activity_id.to_string()) =>
            {
                Some("validation")
            }
            "disburse.sign_and_send"
                if s.attributes.get("payout_batch_id") == Some(&batch)
                    && s.attributes.contains_key("payout_chunk_id") =>
            {
                Some("sign")
            }
            "disburse.watch" if s.attributes.get("payout_batch_id") == Some(&batch) => {
                Some("watch")
            }
            "reconcile.round" => Some("reconcile"),
            _ => None,
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let found = loop {
        let got = spans.lock().expect("lock").clone();
        let mut seen: BTreeMap<&str, Received> = BTreeMap::new();
        for s in &got {
            if let Some(k) = want(s) {
                seen.entry(k).or_insert_with(|| s.clone());
            }
        }
        if seen.len() == 5 {
            break seen;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let names: Vec<&str> = got.iter().map(|s| s.name.as_str()).collect();
            panic!(
                "spans missing: have {:?} of {names:?}",
                seen.keys().collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Each worker step is a trace of its own; the request's is not a worker's.
    assert_ne!(found["request"].trace_id, found["validation"].trace_id);
    assert_eq!(found["request"].trace_id.len(), 32);

    // The JSON log line of the activity request carries its trace id.
    let request_trace = found["request"].trace_id.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hit = logs.lock().expect("lock").iter().any(|l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| v["trace_id"] == request_trace.as_str())
        });
        if hit {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no log line names trace {request_trace}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    db.cleanup().await;
}
