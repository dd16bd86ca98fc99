//! Machine tokens: what is accepted, and the forgeries that are refused.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use payquest_domain::api_clients::{
    generate_signing_key, ApiClients, ClientAdmin, MachineAuth, Scope, TokenError, AUDIENCE,
    ISSUER, TOKEN_TYPE,
};
use payquest_domain::audit::AuditActor;
use payquest_domain::clock::now_ms;
use payquest_domain::on_both_backends;
use payquest_domain::store::DynStore;
use payquest_domain::testing::TestDb;
use serde_json::json;

async fn current_key(store: &DynStore) -> (String, Vec<u8>) {
    let keys = store.signing_keys(0).await.expect("keys");
    let k = keys
        .into_iter()
        .find(|k| k.state == payquest_domain::types::SigningKeyState::Current)
        .expect("a current key");
    // Stored sealed: opening it needs the secrets key too.
    let pkcs8 = payquest_domain::sealed::open(&k.private_pkcs8).expect("open");
    (k.kid, STANDARD.decode(pkcs8).expect("der"))
}

fn forge(kid: &str, der: &[u8], claims: serde_json::Value) -> String {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_owned());
    header.typ = Some(TOKEN_TYPE.into());
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der)).expect("sign")
}

fn claims(sub: &str, exp: i64, aud: &str, ver: i64) -> serde_json::Value {
    let now = now_ms() / 1000;
    json!({ "iss": ISSUER, "aud": aud, "sub": sub, "iat": now, "nbf": now, "exp": exp,
            "jti": "j", "scope": "activities:write", "ver": ver })
}

fn refused(r: Result<impl std::fmt::Debug, TokenError>) -> bool {
    matches!(r, Err(TokenError::InvalidToken))
}

async fn tokens_are_issued_verified_and_revoked(db: &TestDb) {
    let store = db.store().await;
    let auth = MachineAuth::load(store.clone()).await.expect("keys");
    let clients = ApiClients::new(store.clone());
    let creds = clients
        .create(
            ClientAdmin::Cli,
            "Game server",
            "activities:write activities:read",
        )
        .await
        .expect("create");
    assert!(creds.client_id.starts_with("pqc_") && creds.client_secret.starts_with("pqs_"));

    let token = auth
        .issue(&creds.client_id, &creds.client_secret, None)
        .await
        .expect("issue");
    assert_eq!(token.expires_in, 600);
    let who = auth.verify(&token.access_token).await.expect("verify");
    assert_eq!(who.client_id, creds.client_id);
    assert!(who.require(Scope::ActivitiesWrite).is_ok());
    assert!(who.require(Scope::ContentRead).is_err());

    let narrow = auth
        .issue(
            &creds.client_id,
            &creds.client_secret,
            Some("activities:read"),
        )
        .await
        .expect("issue");
    assert!(auth
        .verify(&narrow.access_token)
        .await
        .expect("verify")
        .require(Scope::ActivitiesWrite)
        .is_err());
    assert!(matches!(
        auth.issue(&creds.client_id, &creds.client_secret, Some("content:read"))
            .await,
        Err(TokenError::InvalidScope)
    ));
    assert!(matches!(
        auth.issue(&creds.client_id, "pqs_wrong", None).await,
        Err(TokenError::InvalidClient)
    ));
    assert!(matches!(
        auth.issue("pqc_nobody", &creds.client_secret, None).await,
        Err(TokenError::InvalidClient)
    ));

    // Rotating the secret kills every token issued before, at once.
    let rotated = clients
        .rotate_secret(ClientAdmin::Cli, &creds.client_id)
        .await
        .expect("rotate");
    assert!(refused(auth.verify(&token.access_token).await));
    assert!(matches!(
        auth.issue(&creds.client_id, &creds.client_secret, None)
            .await,
        Err(TokenError::InvalidClient)
    ));
    let fresh = auth
        .issue(&creds.client_id, &rotated.client_secret, None)
        .await
        .expect("issue");
    assert!(auth.verify(&fresh.access_token).await.is_ok());
    // So does disabling.
    clients
        .set_disabled(ClientAdmin::Cli, &creds.client_id, true)
        .await
        .expect("disable");
    assert!(refused(auth.verify(&fresh.access_token).await));
    assert!(matches!(
        auth.issue(&creds.client_id, &rotated.client_secret, None)
            .await,
        Err(TokenError::InvalidClient)
    ));
}
on_both_backends!(
    issue_on,
    crate::api_clients::tokens_are_issued_verified_and_revoked
);

async fn forged_and_stale_tokens_are_refused(db: &TestDb) {
    let store = db.store().await;
    let auth = MachineAuth::load(store.clone()).await.expect("keys");
    let clients = ApiClients::new(store.clone());
    let creds = clients
        .create(ClientAdmin::Cli, "Game server", "activities:write")
        .await
        .expect("create");
    let (kid, der) = current_key(&store).await;
    let in_ten = now_ms() / 1000 + 600;

    // Control: a token we craft with the real key and right claims passes, so
    // each refusal below is down to the one thing changed.
    assert!(auth
        .verify(&forge(
            &kid,
            &der,
            claims(&creds.client_id, in_ten, AUDIENCE, 1)
        ))
        .await
        .is_ok());

    let stranger =
        generate_signing_key(payquest_domain::types::SigningKeyState::Current).expect("key");
    let stranger_der = STANDARD
        .decode(payquest_domain::sealed::open(&stranger.private_pkcs8).expect("open"))
        .expect("der");
    assert!(
        refused(
            auth.verify(&forge(
                &kid,
                &stranger_der,
                claims(&creds.client_id, in_ten, AUDIENCE, 1)
            ))
            .await
        ),
        "another key"
    );
    assert!(
        refused(
            auth.verify(&forge(
                &kid,
                &der,
                claims(&creds.client_id, now_ms() / 1000 - 120, AUDIENCE, 1)
            ))
            .await
        ),
        "expired"
    );
    assert!(
        refused(
            auth.verify(&forge(
                &kid,
                &der,
                claims(&creds.client_id, in_ten, "someone-else", 1)
            ))
            .await
        ),
        "audience"
    );
    assert!(
        refused(
            auth.verify(&forge(
                &kid,
                &der,
                claims(&creds.client_id, in_ten, AUDIENCE, 0)
            ))
            .await
        ),
        "old version"
    );
    assert!(
        refused(
            auth.verify(&forge(&kid, &der, claims("pqc_ghost", in_ten, AUDIENCE, 1)))
                .await
        ),
        "unknown client"
    );

    let body = URL_SAFE_NO_PAD.encode(claims(&creds.client_id, in_ten, AUDIENCE, 1).to_string());
    let none_header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": TOKEN_TYPE, "kid": kid}).to_string());
    assert!(
        refused(auth.verify(&format!("{none_header}.{body}.")).await),
        "alg none"
    );
    // Key confusion: HS256 "signed" with the public key as the secret.
    let public_x = store
        .signing_keys(0)
        .await
        .expect("keys")
        .into_iter()
        .find(|k| k.kid == kid)
        .expect("key")
        .public_x;
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.clone());
    hs.typ = Some(TOKEN_TYPE.into());
    let confused = jsonwebtoken::encode(
        &hs,
        &claims(&creds.client_id, in_ten, AUDIENCE, 1),
        &EncodingKey::from_secret(public_x.as_bytes()),
    )
    .expect("sign");
    assert!(
        refused(auth.verify(&confused).await),
        "HS256 with the public key"
    );
    assert!(refused(auth.verify("not.a.token").await));
    assert!(refused(auth.verify(&"a".repeat(10_000)).await));
}
on_both_backends!(
    forged_on,
    crate::api_clients::forged_and_stale_tokens_are_refused
);

async fn signing_keys_rotate_without_breaking_live_tokens(db: &TestDb) {
    let store = db.store().await;
    let auth = MachineAuth::load(store.clone()).await.expect("keys");
    let clients = ApiClients::new(store.clone());
    let creds = clients
        .create(ClientAdmin::Cli, "Bridge", "activities:write")
        .await
        .expect("create");
    let before = auth
        .issue(&creds.client_id, &creds.client_secret, None)
        .await
        .expect("issue");
    let jwks = auth.jwks().await.expect("jwks");
    let statuses = |j: &serde_json::Value| {
        let mut s: Vec<String> = j["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| k["status"].as_str().unwrap_or("").to_owned())
            .collect();
        s.sort();
        s
    };
    assert_eq!(statuses(&jwks), vec!["current", "next"]);
    let next_kid = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["status"] == "next")
        .expect("next")["kid"]
        .clone();

    auth.rotate_keys(&AuditActor::system("test"))
        .await
        .expect("rotate");
    let after = auth
        .issue(&creds.client_id, &creds.client_secret, None)
        .await
        .expect("issue");
    assert!(
        auth.verify(&before.access_token).await.is_ok(),
        "a token signed before rotation lives out its ten minutes"
    );
    assert!(auth.verify(&after.access_token).await.is_ok());
    let header = jsonwebtoken::decode_header(&after.access_token).expect("header");
    assert_eq!(
        Some(next_kid.as_str().expect("kid").to_owned()),
        header.kid,
        "the published next key signs after rotation"
    );
    assert_eq!(
        statuses(&auth.jwks().await.expect("jwks")),
        vec!["current", "next", "retired"]
    );

    // A second replica loading after the rotation verifies both tokens too.
    let replica = MachineAuth::load(store.clone()).await.expect("keys");
    assert!(replica.verify(&before.access_token).await.is_ok());
    assert!(replica.verify(&after.access_token).await.is_ok());
}
on_both_backends!(
    rotation_on,
    crate::api_clients::signing_keys_rotate_without_breaking_live_tokens
);
