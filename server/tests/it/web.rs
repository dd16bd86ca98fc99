//! Health, readiness, metrics, headers, limits and the sign-in API, over HTTP.

use payquest_domain::on_both_backends;
use payquest_domain::testing::TestDb;
use serde_json::Value;

use crate::{bare_client, client, post_head_only, spawn};

/// Posts the first admin's email and one-time password to `sign_in`.
async fn sign_in_admin(c: &reqwest::Client, base: &str, otp: &str) -> reqwest::Response {
    c.post(format!("{base}/api/sign_in"))
        .form(&[("email", "admin@payquest.local"), ("password", otp)])
        .send()
        .await
        .expect("sign in")
}

async fn health_ready_metrics_and_headers(db: &TestDb) {
    let server = spawn(&db.url, &[]);
    let c = client();

    let health = c
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let id = health
        .headers()
        .get("x-request-id")
        .expect("request id header");
    assert_eq!(id.to_str().expect("ascii").len(), 36, "a UUID request id");
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    assert!(health.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .contains("frame-ancestors 'none'"));
    assert!(
        health.headers().get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );

    let ready = c
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["checks"]["database"], "ok");

    // The public site's landing page answers without a session.
    let public = c.get(&server.url).send().await.expect("public page");
    assert_eq!(public.status(), 200);
    assert!(public
        .text()
        .await
        .expect("body")
        .contains("data-testid=\"public-title\""));
    let page = c
        .get(format!("{}/admin/login", server.url))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("'nonce-")
            && csp.contains("'wasm-unsafe-eval'")
            && csp.contains("frame-ancestors 'none'")
    );
    assert_eq!(
        page.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce");
    let html = page.text().await.expect("html");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "inline scripts carry the header's nonce"
    );

    let public = c
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .expect("metrics on the public listener");
    assert_eq!(public.status(), 404, "metrics are not public");
    let metrics = c
        .get(&server.metrics_url)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"http_requests_total{method="GET",route="/admin/login",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("process_resident_memory_bytes"));
    // The pipeline's gauges are read from the database at start.
    assert!(metrics.contains("payquest_findings_open 0"), "{metrics}");
    assert!(
        metrics.contains("payquest_reconciliation_lag_seconds 0"),
        "{metrics}"
    );
}
on_both_backends!(health_on, crate::web::health_ready_metrics_and_headers);

async fn sign_in_api_refuses_everything_until_mfa_and_hides_account_existence(db: &TestDb) {
    let server = spawn(&db.url, &[]);
    let otp = server
        .one_time_password
        .clone()
        .expect("first start prints a one-time password");
    let c = client();
    let url = |path: &str| format!("{}{path}", server.url);

    let anonymous = c
        .post(url("/api/list_users"))
        .form(&[("x", "")])
        .send()
        .await
        .expect("call");
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.expect("json");
    assert_eq!(body["code"], "unauthenticated");

    let wrong = c
        .post(url("/api/sign_in"))
        .form(&[
            ("email", "admin@payquest.local"),
            ("password", "wrong password"),
        ])
        .send()
        .await
        .expect("call");
    let unknown = c
        .post(url("/api/sign_in"))
        .form(&[
            ("email", "ghost@payquest.local"),
            ("password", "wrong password"),
        ])
        .send()
        .await
        .expect("call");
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        wrong.text().await.expect("body"),
        unknown.text().await.expect("body")
    );

    let ok = c
        .post(url("/api/sign_in"))
        .form(&[
            ("email", "admin@payquest.local"),
            ("password", otp.as_str()),
        ])
        .send()
        .await
        .expect("call");
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "no Secure flag over plain HTTP");
    assert_eq!(
        ok.json::<String>().await.expect("json"),
        "/admin/login/password"
    );

    // Signed in with a password only: nothing else answers.
    let early = c
        .post(url("/api/list_users"))
        .form(&[("x", "")])
        .send()
        .await
        .expect("call");
    assert_eq!(early.status(), 403);
    assert_eq!(
        early.json::<Value>().await.expect("json")["code"],
        "password_change_required"
    );
    let enrol_early = c
        .post(url("/api/begin_enrolment"))
        .send()
        .await
        .expect("call");
    assert_eq!(enrol_early.status(), 403);

    // Bodies past the limit are refused with the stable error shape.
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let (status, body) = post_head_only(&server.url, "/api/sign_in", &form, 2 * 1024 * 1024).await;
    assert_eq!(status, 413);
    assert!(body.contains("\"code\":\"payload_too_large\""), "{body}");
}
on_both_backends!(
    sign_in_api_on,
    crate::web::sign_in_api_refuses_everything_until_mfa_and_hides_account_existence
);

#[tokio::test]
async fn over_tls_cookies_are_secure_and_hsts_is_sent() {
    let db = TestDb::sqlite();
    let server = spawn(
        &db.url,
        &[("PAYQUEST_PUBLIC_URL", "https://payquest.example")],
    );
    let otp = server.one_time_password.clone().expect("otp");
    let c = client();
    let res = sign_in_admin(&c, &server.url, &otp).await;
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .expect("hsts")
        .contains("max-age="));
    assert!(res.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .contains("Secure"));
}

#[tokio::test]
async fn readyz_says_503_when_the_database_goes_away() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let server = spawn(&db.url, &[]);
    let c = client();
    assert_eq!(
        c.get(format!("{}/readyz", server.url))
            .send()
            .await
            .expect("readyz")
            .status(),
        200
    );
    db.cleanup().await; // drops the database under the running server
    let res = c
        .get(format!("{}/readyz", server.url))
        .send()
        .await
        .expect("readyz");
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["status"], "unready");
    assert!(body["checks"]["database"].is_string());
    let health = c
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200, "the process is still alive");
}

/// CSRF (confirmed): form posts from another site, another port of this host,
/// `Origin: null` or no origin at all were applied. Now each is refused with
/// `cross_origin` before any handler runs, and a no-JS form post's redirect
/// never leaves our origin (it followed the Referer to another site).
#[tokio::test]
async fn csrf_state_changes_need_our_origin_and_redirects_stay_home() {
    let db = TestDb::sqlite();
    let server = spawn(&db.url, &[]);
    let c = bare_client();
    let port: u16 = server
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let sign_in = |origin: Option<String>| {
        let mut req = c
            .post(format!("{}/api/sign_in", server.url))
            .form(&[("email", "admin@payquest.local"), ("password", "wrong")]);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    for origin in [
        Some("https://evil.example".to_owned()),
        Some("null".to_owned()),
        Some(format!("http://127.0.0.1:{}", port.wrapping_add(1))),
        None,
    ] {
        let res = sign_in(origin.clone()).await.expect("call");
        assert_eq!(res.status(), 403, "{origin:?}");
        assert_eq!(
            res.json::<Value>().await.expect("json")["code"],
            "cross_origin",
            "{origin:?}"
        );
    }
    let ours = sign_in(Some(server.url.clone())).await.expect("call");
    assert_eq!(ours.status(), 401, "our own origin reaches the handler");

    // A no-JS form post is redirected back to the page it came from, and
    // only if that page is ours.
    let res = c
        .post(format!("{}/api/sign_in", server.url))
        .header("origin", server.url.clone())
        .header("accept", "text/html")
        .header("referer", "https://evil.example/phish")
        .form(&[("email", "admin@payquest.local"), ("password", "wrong")])
        .send()
        .await
        .expect("call");
    let location = res
        .headers()
        .get("location")
        .expect("a form post is sent back")
        .to_str()
        .expect("location");
    assert!(!location.contains("evil.example"), "{location}");
    assert!(location.starts_with('/'), "{location}");
}

/// Server-function arguments that don't parse answered 500 (and tripped 5xx
/// alerts). They are the client's mistake: 400 with `invalid_input`.
#[tokio::test]
async fn client_errors_are_4xx() {
    let db = TestDb::sqlite();
    let server = spawn(&db.url, &[]);
    let c = client();
    let url = |path: &str| format!("{}{path}", server.url);
    let forms: [(&str, &[(&str, &str)]); 3] = [
        ("/api/load_campaign", &[("campaign_id", "abc")]),
        (
            "/api/load_campaign",
            &[("campaign_id", "99999999999999999999999")],
        ),
        ("/api/load_campaign", &[]),
    ];
    for (path, form) in forms {
        let res = c.post(url(path)).form(form).send().await.expect("call");
        assert_eq!(res.status(), 400, "{path} {form:?}");
        assert_eq!(
            res.json::<Value>().await.expect("json")["code"],
            "invalid_input"
        );
    }
    for body in [
        "{",
        r#"{"user_id": "seven", "roles": []}"#,
        r#"{"user_id": 1}"#,
    ] {
        let res = c
            .post(url("/api/set_user_roles"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("call");
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(
            res.json::<Value>().await.expect("json")["code"],
            "invalid_input"
        );
    }
}

/// A budget alert webhook without a signing secret would let anyone forge
/// alerts: the server refuses to start with one.
#[tokio::test]
async fn an_unsigned_alert_webhook_refuses_to_start() {
    let db = TestDb::sqlite();
    let out = crate::command(&db.url)
        .args(["serve"])
        .env("PAYQUEST_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PAYQUEST_ALERT_WEBHOOK_SECRET is empty"),
        "{err}"
    );
}

/// Secrets at rest, sessions: only a hash of the session id is stored (a copy
/// of the table is no cookie jar), and the id is renewed at every sign-in
/// stage, not only the first.
#[tokio::test]
async fn session_ids_are_stored_hashed_and_renewed_at_every_stage() {
    let db = TestDb::sqlite();
    let server = spawn(&db.url, &[]);
    let otp = server.one_time_password.clone().expect("otp");
    let c = client();
    let cookie_of = |res: &reqwest::Response| {
        res.headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .and_then(|kv| kv.split_once('='))
            .map(|(_, v)| v.to_owned())
            .expect("a session cookie")
    };
    let signed_in = sign_in_admin(&c, &server.url, &otp).await;
    assert_eq!(signed_in.status(), 200);
    let first = cookie_of(&signed_in);
    let changed = c
        .post(format!("{}/api/change_password", server.url))
        .form(&[
            ("password", "correct horse battery staple"),
            ("confirm", "correct horse battery staple"),
        ])
        .send()
        .await
        .expect("change password");
    assert_eq!(changed.status(), 200);
    let second = cookie_of(&changed);
    assert_ne!(first, second, "a new id at the next stage");

    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&db.url)
        .await
        .expect("connect");
    for id in [&first, &second] {
        let found: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM web_session WHERE session_id = $1 OR data_json LIKE $2",
        )
        .bind(id)
        .bind(format!("%{id}%"))
        .fetch_one(&mut conn)
        .await
        .expect("query");
        assert_eq!(found, 0, "the cookie's id is not stored");
    }
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_session")
        .fetch_one(&mut conn)
        .await
        .expect("query");
    assert_eq!(stored, 1, "the renewed session, under its hash");
}

/// With JSON logs (a log pipeline, not a terminal) the first admin's
/// one-time password is never printed: it goes to a 0600 file.
#[tokio::test]
async fn the_first_password_never_reaches_json_logs() {
    use std::os::unix::fs::PermissionsExt;
    let db = TestDb::sqlite();
    let dir = std::env::temp_dir().join(format!("pq-otp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("first-admin-password");
    let server = spawn(
        &db.url,
        &[
            ("PAYQUEST_LOG_FORMAT", "json"),
            (
                "PAYQUEST_BOOTSTRAP_PASSWORD_FILE",
                file.to_str().expect("path"),
            ),
        ],
    );
    assert_eq!(server.one_time_password, None, "not on standard output");
    let written = std::fs::read_to_string(&file).expect("password file");
    assert_eq!(written.trim().len(), 20);
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Refused requests are audited, capped so probing can't fill the log: a
/// signed-in maker calling an admin server function five times leaves one
/// `auth.refused` record naming the path.
#[tokio::test]
async fn refused_requests_are_audited_once_a_minute() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let server = spawn(&db.url, &[]);
    let cookie = crate::budget_race::sign_in_as(
        &store,
        &server.url,
        "maker@example.com",
        payquest_domain::types::Role::Maker,
    )
    .await;
    let c = client();
    for _ in 0..5 {
        let res = c
            .post(format!("{}/api/list_users", server.url))
            .header("cookie", &cookie)
            .form(&[("x", "")])
            .send()
            .await
            .expect("call");
        assert_eq!(res.status(), 403);
    }
    // The record is written beside the answer: give it a moment.
    let mut found = 0;
    for _ in 0..50 {
        found = store
            .list_audit(None, 200)
            .await
            .expect("audit")
            .iter()
            .filter(|e| e.action == "auth.refused" && e.subject == "path:/api/list_users")
            .count();
        if found > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(found, 1);
}

/// Invalid input names the form field it is about, so the page shows the
/// message beside that field: a campaign form with an unreadable start date
/// answers 422 `invalid_input` with `field: "starts_on"`, one that ends
/// before it starts names `ends_on`, and nothing is created.
#[tokio::test]
async fn invalid_input_names_its_field() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let server = spawn(&db.url, &[]);
    let cookie = crate::budget_race::sign_in_as(
        &store,
        &server.url,
        "finance@example.com",
        payquest_domain::types::Role::Finance,
    )
    .await;
    let c = client();
    let create = |starts_on: &'static str, ends_on: &'static str| {
        c.post(format!("{}/api/create_campaign", server.url))
            .header("cookie", &cookie)
            .form(&[
                ("name", "Launch"),
                ("owner_email", "finance@example.com"),
                ("cost_centre_code", "CC-FIELD"),
                ("starts_on", starts_on),
                ("ends_on", ends_on),
            ])
            .send()
    };
    for (starts, ends, field) in [
        ("tomorrow", "2026-12-31", "starts_on"),
        ("2026-12-31", "2026-12-01", "ends_on"),
    ] {
        let res = create(starts, ends).await.expect("call");
        assert_eq!(
            res.status().as_u16(),
            payquest_domain::types::ErrorCode::InvalidInput.http_status(),
            "{starts} {ends}"
        );
        let body = res.json::<Value>().await.expect("json");
        assert_eq!(body["code"], "invalid_input", "{body}");
        assert_eq!(body["field"], field, "{body}");
    }
    let campaigns = store
        .list_campaigns(None, payquest_domain::types::CampaignId::default(), 10)
        .await
        .expect("list");
    assert!(campaigns.is_empty(), "nothing half-written");
    let centres = store
        .list_cost_centres(payquest_domain::types::CostCentreId::default(), 10)
        .await
        .expect("list");
    assert!(centres.is_empty(), "no cost centre left behind");
}

/// The public site reads no staff session: `current_gamer` is `null` for a
/// visitor and for a signed-in staff member alike (a staff session is not a
/// gamer's), and a staff server function still refuses a visitor.
#[tokio::test]
async fn a_staff_session_is_not_a_gamer() {
    let db = TestDb::sqlite();
    let store = db.store().await;
    let server = spawn(&db.url, &[]);
    let cookie = crate::budget_race::sign_in_as(
        &store,
        &server.url,
        "finance@example.com",
        payquest_domain::types::Role::Finance,
    )
    .await;
    let c = client();
    for cookie in ["", cookie.as_str()] {
        let res = c
            .post(format!("{}/api/current_gamer", server.url))
            .header("cookie", cookie)
            .form(&[("x", "")])
            .send()
            .await
            .expect("call");
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.expect("json"), Value::Null);
    }
    let res = c
        .post(format!("{}/api/list_campaigns", server.url))
        .form(&[("x", "")])
        .send()
        .await
        .expect("call");
    assert_eq!(res.status(), 401);
}
