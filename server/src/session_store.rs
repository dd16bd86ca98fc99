//! tower-sessions storage over our own `Store`, so sessions live in the same
//! database (and migration folder) as everything else on both backends.
//! Only a SHA-256 of the session id is stored (the record is written with a
//! blank id): a copy of the table can't be replayed as anyone's cookie.

use async_trait::async_trait;
use payquest_domain::clock::now_ms;
use payquest_domain::store::DynStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, ExpiredDeletion, Result};
use tower_sessions::SessionStore;

#[derive(Clone)]
pub struct DbSessionStore {
    store: DynStore,
    /// Which sessions these are: staff (`""`) or gamers (`"gamer:"`). It is
    /// hashed in front of the id, so a gamer's cookie value presented as a
    /// staff cookie (or the other way round) finds no row.
    kind: &'static str,
}

impl DbSessionStore {
    /// Staff sessions (the `pq_session` cookie).
    pub fn new(store: DynStore) -> Self {
        Self { store, kind: "" }
    }

    /// Gamer sessions (the `pq_gamer` cookie): rows of their own.
    pub fn gamers(store: DynStore) -> Self {
        Self {
            store,
            kind: "gamer:",
        }
    }

    /// The stored key of a session id.
    fn key(&self, id: &Id) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.kind.as_bytes());
        h.update(id.to_string().as_bytes());
        hex::encode(h.finalize())
    }
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn encode(record: &Record) -> Result<(String, i64)> {
    let mut blank = record.clone();
    blank.id = Id(0);
    let json = serde_json::to_string(&blank).map_err(|e| Error::Encode(e.to_string()))?;
    let expires_at_ms =
        i64::try_from(record.expiry_date.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    Ok((json, expires_at_ms))
}

/// Fresh ids are 128 random bits; a collision is astronomically unlikely, but
/// one must never hand a stranger's session over, so creation never overwrites.
const CREATE_ATTEMPTS: usize = 8;

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        for _ in 0..CREATE_ATTEMPTS {
            let (json, expires_at_ms) = encode(record)?;
            if self
                .store
                .session_create(&self.key(&record.id), &json, expires_at_ms)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(Error::Backend(
            "could not allocate a unique session id".into(),
        ))
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (json, expires_at_ms) = encode(record)?;
        self.store
            .session_save(&self.key(&record.id), &json, expires_at_ms)
            .await
            .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> Result<Option<Record>> {
        let Some(json) = self
            .store
            .session_load(&self.key(session_id), now_ms())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let mut record: Record =
            serde_json::from_str(&json).map_err(|e| Error::Decode(e.to_string()))?;
        record.id = *session_id;
        Ok(Some(record))
    }

    async fn delete(&self, session_id: &Id) -> Result<()> {
        self.store
            .session_delete(&self.key(session_id))
            .await
            .map_err(backend)
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        self.store
            .session_delete_expired(now_ms())
            .await
            .map(|_| ())
            .map_err(backend)
    }
}
