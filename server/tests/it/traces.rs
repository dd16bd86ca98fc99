//! Traces over OTLP: a small OTLP/HTTP receiver on 127.0.0.1 stands in for
//! Jaeger's collector. One activity goes from its report to its payment on
//! the dev chain; the receiver gets the request's span, the validation
//! worker's (with the activity id), the disbursement worker's (with the batch
//! and chunk ids) and reconciliation's, and the JSON log lines name the same
//! trace ids.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use payquest_domain::payouts::{BatchRequest, Payouts};
use payquest_domain::store::ApproveOutcome;
use payquest_domain::testing::{DevChain, TestDb, World};
use serde_json::Value;

use crate::machine_api::{
    activity, create_client, fake_game_api, game_api_validator, token, GAME_API_ENV,
};
use crate::{client, spawn_with_logs};

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
    let dev = DevChain::start().await;
    let game = fake_game_api().await;
    let spans = Arc::new(Mutex::new(Vec::new()));
    let collector = otlp_receiver(spans.clone()).await;

    // A funded quest validated by the game API, maker, checker and finance.
    let world = World::with_validator(&db, game_api_validator(&game), 0, 1_000).await;
    let (store, quest_id) = (world.store.clone(), world.quest_id);
    let writer = create_client(&db, "activities:write");

    let mut env: Vec<(String, String)> = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("PAYQUEST_LOG_FORMAT", "json"),
        ("PAYQUEST_LOG", "info,sqlx=warn"),
        ("PAYQUEST_CHAIN_CONFIRMATIONS", "1"),
        ("PAYQUEST_DISBURSE_INTERVAL_MS", "50"),
    ]
    .iter()
    .chain(GAME_API_ENV)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.extend(dev.server_env());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (server, logs) = spawn_with_logs(&db.url, &env);
    let url = server.url.clone();

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
    let (maker, checker, finance) = (&world.maker, &world.checker, &world.finance);
    let payouts = Payouts::new(store.clone(), Default::default());
    let b = payouts
        .create_batch(
            maker,
            &BatchRequest {
                note: "traced".into(),
                max_items: 10,
                ..BatchRequest::default()
            },
        )
        .await
        .expect("batch");
    payouts
        .submit(maker, b.payout_batch_id)
        .await
        .expect("submit");
    assert_eq!(
        payouts
            .approve(checker, b.payout_batch_id, &b.content_hash)
            .await
            .expect("approve"),
        ApproveOutcome::Approved
    );
    payouts
        .start_disbursement(finance, b.payout_batch_id)
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
    drop(server);
    db.cleanup().await;
}
