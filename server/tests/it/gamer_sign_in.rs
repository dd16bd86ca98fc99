//! Sign-In with Ethereum over HTTP, on both databases: a message signed by
//! a test key signs a gamer in; a replayed nonce, another domain, another
//! chain, an expired message, a future issued-at and another key's
//! signature are each refused with their own code, and each refusal is
//! audited and changes nothing else.

use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use payquest_domain::on_both_backends;
use payquest_domain::testing::TestDb;
use serde_json::{json, Value};

use crate::{client, spawn};

fn message(
    key: &PrivateKeySigner,
    challenge: &Value,
    domain: &str,
    chain: u64,
    issued_at: &str,
) -> String {
    format!(
        "{domain} wants you to sign in with your Ethereum account:\n{}\n\n{}\n\nURI: http://{domain}/\n\
         Version: 1\nChain ID: {chain}\nNonce: {}\nIssued At: {issued_at}",
        key.address().to_checksum(None),
        challenge["statement"].as_str().expect("statement"),
        challenge["nonce"].as_str().expect("nonce"),
    )
}

fn sign(key: &PrivateKeySigner, text: &str) -> String {
    let sig = key.sign_message_sync(text.as_bytes()).expect("sign");
    format!("0x{}", hex::encode(sig.as_bytes()))
}

async fn sign_in_with_a_wallet(db: &TestDb) {
    let server = spawn(&db.url, &[]);
    let c = client();
    let call = |path: &str, body: Value| {
        c.post(format!("{}/api/{path}", server.url))
            .json(&body)
            .send()
    };
    let key = PrivateKeySigner::random();
    let address = format!("{:#x}", key.address());
    let challenge = || async {
        let res = c
            .post(format!("{}/api/siwe_challenge", server.url))
            .form(&[("address", address.as_str())])
            .send()
            .await
            .expect("challenge");
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.expect("json")
    };
    // Before signing in, and with a staff session, a gamer's page is refused.
    let mine = |cookie: Option<String>| {
        let mut req = crate::bare_client()
            .post(format!("{}/api/my_activities", server.url))
            .header("sec-fetch-site", "same-origin")
            .form(&[("x", "")]);
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        req.send()
    };
    assert_eq!(mine(None).await.expect("anonymous").status(), 401);
    let store = db.store().await;
    let staff = crate::budget_race::sign_in_as(
        &store,
        &server.url,
        "finance@example.com",
        payquest_domain::types::Role::Finance,
    )
    .await;
    assert_eq!(
        mine(Some(staff)).await.expect("staff").status(),
        401,
        "a staff session is no gamer"
    );
    let first = challenge().await;
    assert_eq!(
        first["domain"], "127.0.0.1:3000",
        "the configured public URL's host"
    );
    assert_eq!(first["chain_id"], 31_337);
    assert_eq!(
        first["nonce"].as_str().expect("nonce").len(),
        32,
        "128 bits"
    );
    let now = first["issued_at"].as_str().expect("issued_at").to_owned();
    // The message the server asks the wallet to sign, as a wallet would sign it.
    let good = first["message"].as_str().expect("message").to_owned();
    assert!(good.contains(&key.address().to_checksum(None)), "{good}");
    let res = call(
        "siwe_sign_in",
        json!({ "message": good, "signature": sign(&key, &good) }),
    )
    .await
    .expect("sign in");
    let set_cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    // The gamer's session is a cookie of its own, with a shorter idle
    // timeout than staff's (15 minutes by default), and nothing else.
    assert_eq!(set_cookies.len(), 1, "{set_cookies:?}");
    let gamer_cookie = &set_cookies[0];
    assert!(gamer_cookie.starts_with("pq_gamer="), "{gamer_cookie}");
    assert!(gamer_cookie.contains("Max-Age=900"), "{gamer_cookie}");
    assert!(gamer_cookie.contains("HttpOnly"), "{gamer_cookie}");
    let value = gamer_cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix("pq_gamer="))
        .expect("value")
        .to_owned();
    // Presented under the staff cookie's name, a gamer session is nobody's
    // (its rows are apart); and as itself it reaches no staff function.
    for cookie in [format!("pq_session={value}"), format!("pq_gamer={value}")] {
        let res = crate::bare_client()
            .post(format!("{}/api/list_campaigns", server.url))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", &cookie)
            .form(&[("x", "")])
            .send()
            .await
            .expect("staff call");
        assert_eq!(res.status(), 401, "{cookie}");
    }
    assert_eq!(
        mine(Some(format!("pq_session={value}")))
            .await
            .expect("swapped")
            .status(),
        401,
        "a gamer session id under the staff name reads nothing"
    );
    assert_eq!(
        mine(Some(format!("pq_gamer={value}")))
            .await
            .expect("own")
            .status(),
        200
    );
    let me: Value = c
        .post(format!("{}/api/current_gamer", server.url))
        .form(&[("x", "")])
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let wallet = key.address().to_checksum(None);
    assert_eq!(
        me["wallet_short"],
        format!("{}…{}", &wallet[..6], &wallet[38..])
    );
    let rows: Value = c
        .post(format!("{}/api/my_activities", server.url))
        .form(&[("x", "")])
        .send()
        .await
        .expect("mine")
        .json()
        .await
        .expect("json");
    assert_eq!(rows[0], json!([]), "a new wallet has reported nothing");

    // The same message again: its nonce is spent.
    let res = call(
        "siwe_sign_in",
        json!({ "message": good, "signature": sign(&key, &good) }),
    )
    .await
    .expect("replay");
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<Value>().await.expect("json")["code"],
        "siwe_nonce"
    );

    let other = PrivateKeySigner::random();
    let old = "2026-01-01T00:00:00Z";
    let future = "2099-01-01T00:00:00Z";
    let here = "127.0.0.1:3000";
    // (the code expected, the message's domain, chain and issued-at, who signs)
    let cases = [
        (
            "siwe_wrong_domain",
            "evil.example",
            31_337,
            now.as_str(),
            &key,
        ),
        ("siwe_wrong_chain", here, 1, now.as_str(), &key),
        ("siwe_expired", here, 31_337, old, &key),
        ("siwe_issued_in_future", here, 31_337, future, &key),
        ("siwe_bad_signature", here, 31_337, now.as_str(), &other),
        ("siwe_invalid", "", 0, "", &key),
    ];
    for (code, domain, chain, issued_at, signer) in cases {
        let ch = challenge().await;
        let (m, s) = if code == "siwe_invalid" {
            ("not a sign-in message".to_owned(), "0x00".to_owned())
        } else {
            let m = message(&key, &ch, domain, chain, issued_at);
            let s = sign(signer, &m);
            (m, s)
        };
        let res = call("siwe_sign_in", json!({ "message": m, "signature": s }))
            .await
            .expect("sign in");
        let status = res.status().as_u16();
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["code"], code, "{body}");
        assert!(status == 401 || status == 422, "{code}: {status}");
    }
    let trail = store.list_audit(None, 100).await.expect("audit");
    let refused = trail
        .iter()
        .filter(|e| e.action == "gamer.sign_in_refused")
        .count();
    assert_eq!(refused, 1 + cases.len(), "every refusal is audited");
    assert_eq!(
        trail
            .iter()
            .filter(|e| e.action == "gamer.signed_in")
            .count(),
        1
    );

    // Attempts from one address are limited: the 31st in a minute waits.
    let mut throttled = None;
    for _ in 0..40 {
        let res = call(
            "siwe_sign_in",
            json!({ "message": "x", "signature": "0x00" }),
        )
        .await
        .expect("attempt");
        if res.status() == 429 {
            throttled = Some(res);
            break;
        }
    }
    let res = throttled.expect("wallet sign-in attempts are rate limited per address");
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(
        res.json::<Value>().await.expect("json")["code"],
        "throttled"
    );

    // Signing out ends the gamer's session only.
    let res = c
        .post(format!("{}/api/gamer_sign_out", server.url))
        .form(&[("x", "")])
        .send()
        .await
        .expect("sign out");
    assert_eq!(res.status(), 200);
    let me: Value = c
        .post(format!("{}/api/current_gamer", server.url))
        .form(&[("x", "")])
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me, Value::Null);
}
on_both_backends!(siwe_on, crate::gamer_sign_in::sign_in_with_a_wallet);
