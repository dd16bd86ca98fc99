//! Machine clients (game servers, social bridges) and their access tokens.
//!
//! A client trades its id and secret for a 10-minute JWT signed with EdDSA
//! (Ed25519). Verification accepts only that algorithm, checks issuer,
//! audience, expiry and `typ`, and refuses a token whose version is older than
//! the client's: rotating the secret or disabling the client kills its tokens
//! at once. Keys rotate without downtime: the JWKS publishes the current key,
//! the next one (so verifiers learn it before it signs) and recently retired
//! ones (so tokens they signed live out their ten minutes).

use payquest_types::{ApiClientId, StaffUserId};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::RwLock;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::audit::{AuditActor, AuditRecord};
use crate::clock::now_ms;
use crate::limits::{
    ACCESS_TOKEN_LEEWAY_S, ACCESS_TOKEN_MAX_BYTES, ACCESS_TOKEN_TTL_S, API_CLIENT_NAME_MAX_CHARS,
    PAGE_SIZE_MAX, SIGNING_KEYS_REFRESH_MS,
};
use crate::secret::Secret;
use crate::session::{Actor, Permission};
use crate::store::{ApiClientRecord, DynStore, NewApiClient, SigningKeyRecord};
use crate::{DomainError, DomainResult};

pub const ISSUER: &str = "payquest";
pub const AUDIENCE: &str = "payquest-api";
/// RFC 9068's media type for JWT access tokens.
pub const TOKEN_TYPE: &str = "at+jwt";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "activities:write")]
    ActivitiesWrite,
    #[serde(rename = "activities:read")]
    ActivitiesRead,
    #[serde(rename = "content:read")]
    ContentRead,
}

impl Scope {
    pub const ALL: [Scope; 3] = [
        Scope::ActivitiesWrite,
        Scope::ActivitiesRead,
        Scope::ContentRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ActivitiesWrite => "activities:write",
            Scope::ActivitiesRead => "activities:read",
            Scope::ContentRead => "content:read",
        }
    }
}

impl FromStr for Scope {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                DomainError::InvalidInput(format!(
                    "unknown scope \"{}\"",
                    s.chars().take(40).collect::<String>()
                ))
            })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a space- or comma-separated scope list.
pub fn parse_scopes(raw: &str) -> DomainResult<BTreeSet<Scope>> {
    raw.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(Scope::from_str)
        .collect()
}

fn join_scopes(scopes: &BTreeSet<Scope>) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random(prefix: &str, len: usize) -> String {
    format!(
        "{prefix}{}",
        Alphanumeric.sample_string(&mut rand::rngs::OsRng, len)
    )
}

/// A client's credentials, as shown once at creation or secret rotation.
#[derive(Debug, Clone, Serialize)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub scopes: Vec<Scope>,
}

/// The machine acting on the API, after its token was verified.
#[derive(Debug, Clone)]
pub struct MachinePrincipal {
    pub api_client_id: ApiClientId,
    pub client_id: String,
    pub scopes: BTreeSet<Scope>,
}

impl MachinePrincipal {
    pub fn require(&self, scope: Scope) -> DomainResult<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(DomainError::Forbidden)
        }
    }

    pub fn audit_actor(&self) -> AuditActor {
        AuditActor {
            user_id: None,
            label: format!("api_client:{}", self.client_id),
            ip: None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    scope: String,
    /// The client's token version when the token was issued.
    ver: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
}

/// Why a token request or a token was refused. Deliberately coarse: a caller
/// learns "invalid client" or "invalid token", never which check failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the client id or secret is wrong, or the client is disabled")]
    InvalidClient,
    #[error("the requested scope is not granted to this client")]
    InvalidScope,
    #[error("the access token is invalid or expired")]
    InvalidToken,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<crate::store::StoreError> for TokenError {
    fn from(e: crate::store::StoreError) -> Self {
        TokenError::Domain(e.into())
    }
}

struct LoadedKey {
    record: SigningKeyRecord,
    decoding: DecodingKey,
}

struct KeyRing {
    keys: HashMap<String, LoadedKey>,
    current_kid: Option<String>,
    loaded_at_ms: i64,
}

/// Generates an Ed25519 key in the form we store.
pub fn generate_signing_key(
    state: payquest_types::SigningKeyState,
) -> DomainResult<SigningKeyRecord> {
    let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = signing
        .to_pkcs8_der()
        .map_err(|e| DomainError::Internal(e.to_string().into()))?;
    Ok(SigningKeyRecord {
        kid: random("k", 16),
        private_pkcs8: crate::sealed::seal(&STANDARD.encode(der.as_bytes()))?,
        public_x: URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes()),
        state,
        created_at_ms: now_ms(),
        retired_at_ms: None,
    })
}

/// Issues and verifies machine access tokens; manages API clients.
pub struct MachineAuth {
    store: DynStore,
    ring: RwLock<KeyRing>,
    dummy_hash: String,
}

impl MachineAuth {
    /// Loads the signing keys, creating the first pair on a fresh database.
    pub async fn load(store: DynStore) -> DomainResult<MachineAuth> {
        let auth = MachineAuth {
            store,
            ring: RwLock::new(KeyRing {
                keys: HashMap::new(),
                current_kid: None,
                loaded_at_ms: 0,
            }),
            dummy_hash: hash_secret(&random("", 40)),
        };
        if auth.store.signing_keys(now_ms()).await?.is_empty() {
            let current = generate_signing_key(payquest_types::SigningKeyState::Current)?;
            let next = generate_signing_key(payquest_types::SigningKeyState::Next)?;
            // Another replica may win the race; either way keys exist after this.
            auth.store.seed_signing_keys(&current, &next).await?;
        }
        auth.refresh_keys().await?;
        Ok(auth)
    }

    async fn refresh_keys(&self) -> DomainResult<()> {
        let since = now_ms() - ACCESS_TOKEN_TTL_S * 1000 - (ACCESS_TOKEN_LEEWAY_S as i64) * 1000;
        let records = self.store.signing_keys(since).await?;
        let mut keys = HashMap::new();
        let mut current_kid = None;
        for record in records {
            let decoding = DecodingKey::from_ed_components(&record.public_x).map_err(|e| {
                DomainError::Internal(format!("stored public key {}: {e}", record.kid).into())
            })?;
            if record.state == payquest_types::SigningKeyState::Current {
                current_kid = Some(record.kid.clone());
            }
            keys.insert(record.kid.clone(), LoadedKey { record, decoding });
        }
        let mut ring = self.ring.write().unwrap_or_else(|p| p.into_inner());
        *ring = KeyRing {
            keys,
            current_kid,
            loaded_at_ms: now_ms(),
        };
        Ok(())
    }

    async fn refresh_if_stale(&self) -> DomainResult<()> {
        let stale = {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            now_ms() - ring.loaded_at_ms > SIGNING_KEYS_REFRESH_MS
        };
        if stale {
            self.refresh_keys().await?;
        }
        Ok(())
    }

    /// The public keys to publish: current, next and recently retired.
    pub async fn jwks(&self) -> DomainResult<serde_json::Value> {
        self.refresh_if_stale().await?;
        let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<_> = ring.keys.values().map(|k| &k.record).collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        Ok(serde_json::json!({
            "keys": keys.iter().map(|k| serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                "kid": k.kid, "x": k.public_x, "status": k.state,
            })).collect::<Vec<_>>()
        }))
    }

    /// Trades client credentials for an access token.
    pub async fn issue(
        &self,
        client_id: &str,
        client_secret: &str,
        requested_scope: Option<&str>,
    ) -> Result<AccessToken, TokenError> {
        let client = self.store.api_client(client_id).await?;
        // Unknown clients compare against a dummy hash: same work, same answer.
        let stored = client
            .as_ref()
            .map_or(self.dummy_hash.as_str(), |c| c.secret_hash.as_str());
        let matches = bool::from(
            hash_secret(client_secret)
                .as_bytes()
                .ct_eq(stored.as_bytes()),
        );
        let client = match client {
            Some(c) if matches && !c.disabled => c,
            _ => return Err(TokenError::InvalidClient),
        };
        let granted = parse_scopes(&client.scopes)?;
        let scopes = match requested_scope {
            None => granted,
            Some(raw) => {
                let wanted = parse_scopes(raw).map_err(|_| TokenError::InvalidScope)?;
                if !wanted.is_subset(&granted) {
                    return Err(TokenError::InvalidScope);
                }
                wanted
            }
        };
        self.refresh_if_stale().await?;
        let (kid, pkcs8) = {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            let kid = ring
                .current_kid
                .clone()
                .ok_or_else(|| DomainError::Internal("no current signing key".into()))?;
            let pkcs8 = ring
                .keys
                .get(&kid)
                .map(|k| Secret::new(k.record.private_pkcs8.clone()));
            (
                kid,
                pkcs8.ok_or_else(|| DomainError::Internal("current key not loaded".into()))?,
            )
        };
        let der = STANDARD
            .decode(crate::sealed::open(pkcs8.expose())?)
            .map_err(|e| DomainError::Internal(format!("stored private key: {e}").into()))?;
        let now_s = now_ms() / 1000;
        let scope = join_scopes(&scopes);
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: client.client_id.clone(),
            iat: now_s,
            nbf: now_s,
            exp: now_s + ACCESS_TOKEN_TTL_S,
            jti: uuid::Uuid::new_v4().to_string(),
            scope: scope.clone(),
            ver: client.token_version,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid);
        header.typ = Some(TOKEN_TYPE.into());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(&der))
            .map_err(|e| DomainError::Internal(format!("signing: {e}").into()))?;
        Ok(AccessToken {
            access_token: token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_TTL_S,
            scope,
        })
    }

    /// Verifies a bearer token and returns the machine it speaks for.
    pub async fn verify(&self, token: &str) -> Result<MachinePrincipal, TokenError> {
        if token.len() > ACCESS_TOKEN_MAX_BYTES {
            return Err(TokenError::InvalidToken);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::InvalidToken)?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TOKEN_TYPE) {
            return Err(TokenError::InvalidToken);
        }
        let kid = header.kid.ok_or(TokenError::InvalidToken)?;
        let known = {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            ring.keys.contains_key(&kid)
        };
        if !known {
            // Maybe another replica rotated; re-read once (bounded by the refresh interval).
            self.refresh_if_stale().await?;
        }
        let claims = {
            let ring = self.ring.read().unwrap_or_else(|p| p.into_inner());
            let key = ring.keys.get(&kid).ok_or(TokenError::InvalidToken)?;
            let mut validation = Validation::new(Algorithm::EdDSA);
            validation.set_issuer(&[ISSUER]);
            validation.set_audience(&[AUDIENCE]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
            validation.validate_nbf = true;
            validation.leeway = ACCESS_TOKEN_LEEWAY_S;
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
                .map_err(|_| TokenError::InvalidToken)?
                .claims
        };
        let client = self
            .store
            .api_client(&claims.sub)
            .await?
            .ok_or(TokenError::InvalidToken)?;
        if client.disabled || claims.ver != client.token_version {
            return Err(TokenError::InvalidToken);
        }
        Ok(MachinePrincipal {
            api_client_id: client.api_client_id,
            client_id: client.client_id,
            scopes: parse_scopes(&claims.scope)?,
        })
    }

    /// Rotates the signing keys: next becomes current, a new next is made.
    pub async fn rotate_keys(&self, by: &AuditActor) -> DomainResult<()> {
        let new_next = generate_signing_key(payquest_types::SigningKeyState::Next)?;
        let audit = AuditRecord::new(
            by,
            "api.signing_keys_rotated",
            format!("signing_key:{}", new_next.kid),
        );
        self.store.rotate_signing_keys(&new_next, &audit).await?;
        self.refresh_keys().await
    }
}

fn client_name(raw: &str) -> DomainResult<String> {
    let n = raw.trim();
    if n.is_empty()
        || n.chars().count() > API_CLIENT_NAME_MAX_CHARS
        || n.chars().any(char::is_control)
    {
        return Err(DomainError::InvalidInput(format!(
            "the name must be 1 to {API_CLIENT_NAME_MAX_CHARS} printable characters"
        )));
    }
    Ok(n.to_owned())
}

/// API client administration. `by` is an admin actor, or the CLI's system actor.
pub struct ApiClients {
    store: DynStore,
}

pub enum ClientAdmin<'a> {
    Staff(&'a Actor),
    Cli,
}

impl ClientAdmin<'_> {
    fn authorise(&self) -> DomainResult<(AuditActor, Option<StaffUserId>)> {
        match self {
            ClientAdmin::Staff(actor) => {
                actor.require(Permission::ManageApiClients)?;
                Ok((actor.audit_actor(), Some(actor.user_id)))
            }
            ClientAdmin::Cli => Ok((AuditActor::system("cli"), None)),
        }
    }
}

impl ApiClients {
    pub fn new(store: DynStore) -> Self {
        Self { store }
    }

    pub async fn create(
        &self,
        by: ClientAdmin<'_>,
        name: &str,
        scopes: &str,
    ) -> DomainResult<ClientCredentials> {
        let (audit_actor, created_by) = by.authorise()?;
        let name = client_name(name)?;
        let scopes = parse_scopes(scopes)?;
        if scopes.is_empty() {
            return Err(DomainError::InvalidInput("grant at least one scope".into()));
        }
        let client_id = random("pqc_", 20);
        let secret = random("pqs_", 40);
        let joined = join_scopes(&scopes);
        let audit = AuditRecord::new(&audit_actor, "api.client_created", "api_client:new")
            .after(&serde_json::json!({ "name": name, "scopes": joined }));
        self.store
            .create_api_client(
                &NewApiClient {
                    client_id: &client_id,
                    name: &name,
                    secret_hash: &hash_secret(&secret),
                    scopes: &joined,
                    created_by,
                },
                &audit,
            )
            .await?;
        Ok(ClientCredentials {
            client_id,
            client_secret: secret,
            name,
            scopes: scopes.into_iter().collect(),
        })
    }

    /// Issues a new secret; every token of the client dies at once.
    pub async fn rotate_secret(
        &self,
        by: ClientAdmin<'_>,
        client_id: &str,
    ) -> DomainResult<ClientCredentials> {
        let (audit_actor, _) = by.authorise()?;
        let secret = random("pqs_", 40);
        let audit = AuditRecord::new(
            &audit_actor,
            "api.client_secret_rotated",
            format!("api_client:{client_id}"),
        );
        let client = self
            .store
            .revoke_api_client_tokens(client_id, Some(&hash_secret(&secret)), None, &audit)
            .await?;
        Ok(ClientCredentials {
            client_id: client.client_id,
            client_secret: secret,
            name: client.name,
            scopes: parse_scopes(&client.scopes)?.into_iter().collect(),
        })
    }

    /// Disables (or re-enables) a client; its tokens die at once either way.
    pub async fn set_disabled(
        &self,
        by: ClientAdmin<'_>,
        client_id: &str,
        disabled: bool,
    ) -> DomainResult<ApiClientRecord> {
        let (audit_actor, _) = by.authorise()?;
        let action = if disabled {
            "api.client_disabled"
        } else {
            "api.client_enabled"
        };
        let audit = AuditRecord::new(&audit_actor, action, format!("api_client:{client_id}"));
        Ok(self
            .store
            .revoke_api_client_tokens(client_id, None, Some(disabled), &audit)
            .await?)
    }

    pub async fn list(
        &self,
        by: ClientAdmin<'_>,
        after_id: ApiClientId,
        limit: u32,
    ) -> DomainResult<Vec<ApiClientRecord>> {
        by.authorise()?;
        if limit == 0 || limit > PAGE_SIZE_MAX {
            return Err(DomainError::InvalidInput(format!(
                "page size must be 1 to {PAGE_SIZE_MAX}"
            )));
        }
        Ok(self.store.list_api_clients(after_id, limit).await?)
    }
}
