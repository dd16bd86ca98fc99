//! tower-sessions storage over our own `Store`, so sessions live in the same
//! database (and migration folder) as everything else on both backends.

use async_trait::async_trait;
use payquest_domain::clock::now_ms;
use payquest_domain::store::DynStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, ExpiredDeletion, Result};
use tower_sessions::SessionStore;

#[derive(Clone)]
pub struct DbSessionStore {
    store: DynStore,
}

impl DbSessionStore {
    pub fn new(store: DynStore) -> Self {
        Self { store }
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
    let json = serde_json::to_string(record).map_err(|e| Error::Encode(e.to_string()))?;
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
                .session_create(&record.id.to_string(), &json, expires_at_ms)
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
            .session_save(&record.id.to_string(), &json, expires_at_ms)
            .await
            .map_err(backend)
    }

    async fn load(&self, session_id: &Id) -> Result<Option<Record>> {
        let Some(json) = self
            .store
            .session_load(&session_id.to_string(), now_ms())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| Error::Decode(e.to_string()))
    }

    async fn delete(&self, session_id: &Id) -> Result<()> {
        self.store
            .session_delete(&session_id.to_string())
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
