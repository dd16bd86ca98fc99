//! Machine clients and signing keys, shared SQL for both backends (see `sql.rs`).

use super::{ApiClientRecord, SigningKeyRecord};
use payquest_types::ApiClientId;

pub(super) const CLIENT_COLUMNS: &str =
    "api_client_id, client_id, name, secret_hash, scopes, token_version, disabled, created_at_ms";
pub(super) const KEY_COLUMNS: &str =
    "kid, private_pkcs8, public_x, state, created_at_ms, retired_at_ms";

#[derive(sqlx::FromRow)]
pub(super) struct ClientRow {
    pub api_client_id: ApiClientId,
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: String,
    pub token_version: i64,
    pub disabled: bool,
    pub created_at_ms: i64,
}

impl From<ClientRow> for ApiClientRecord {
    fn from(r: ClientRow) -> Self {
        ApiClientRecord {
            api_client_id: r.api_client_id,
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            scopes: r.scopes,
            token_version: r.token_version,
            disabled: r.disabled,
            created_at_ms: r.created_at_ms,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct KeyRow {
    pub kid: String,
    pub private_pkcs8: String,
    pub public_x: String,
    #[sqlx(try_from = "String")]
    pub state: payquest_types::SigningKeyState,
    pub created_at_ms: i64,
    pub retired_at_ms: Option<i64>,
}

impl From<KeyRow> for SigningKeyRecord {
    fn from(r: KeyRow) -> Self {
        SigningKeyRecord {
            kid: r.kid,
            private_pkcs8: r.private_pkcs8,
            public_x: r.public_x,
            state: r.state,
            created_at_ms: r.created_at_ms,
            retired_at_ms: r.retired_at_ms,
        }
    }
}

/// Implements `MachineStore` for `$store`.
macro_rules! impl_machine {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn insert_key(
                conn: &mut <$db as sqlx::Database>::Connection,
                k: &$crate::store::SigningKeyRecord,
            ) -> sqlx::Result<()> {
                sqlx::query(
                    "INSERT INTO signing_key (kid, private_pkcs8, public_x, state, created_at_ms) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&k.kid)
                .bind(&k.private_pkcs8)
                .bind(&k.public_x)
                .bind(k.state.as_str())
                .bind(k.created_at_ms)
                .execute(&mut *conn)
                .await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::MachineStore for $store {
            async fn create_api_client(
                &self,
                new: &$crate::store::NewApiClient<'_>,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::ApiClientRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "INSERT INTO api_client (client_id, name, secret_hash, scopes, created_by, created_at_ms, \
                     updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {}",
                    $crate::store::machine_sql::CLIENT_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::machine_sql::ClientRow>(&sql)
                    .bind(new.client_id)
                    .bind(new.name)
                    .bind(new.secret_hash)
                    .bind(new.scopes)
                    .bind(new.created_by)
                    .bind(audit.at_ms)
                    .fetch_one(&mut *tx)
                    .await?;
                Self::insert_audit_as(&mut tx, audit, format!("api_client:{}", row.client_id)).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn api_client(
                &self,
                client_id: &str,
            ) -> $crate::store::StoreResult<Option<$crate::store::ApiClientRecord>> {
                let sql = format!(
                    "SELECT {} FROM api_client WHERE client_id = $1",
                    $crate::store::machine_sql::CLIENT_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::machine_sql::ClientRow>(&sql)
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(Into::into))
            }

            async fn list_api_clients(
                &self,
                after_id: ApiClientId,
                limit: u32,
            ) -> $crate::store::StoreResult<Vec<$crate::store::ApiClientRecord>> {
                let sql = format!(
                    "SELECT {} FROM api_client WHERE api_client_id > $1 ORDER BY api_client_id LIMIT $2",
                    $crate::store::machine_sql::CLIENT_COLUMNS
                );
                self.find_page::<$crate::store::machine_sql::ClientRow, _>(&sql, after_id, limit).await
            }

            async fn revoke_api_client_tokens(
                &self,
                client_id: &str,
                new_secret_hash: Option<&str>,
                disabled: Option<bool>,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<$crate::store::ApiClientRecord> {
                let mut tx = self.begin_write().await?;
                let sql = format!(
                    "UPDATE api_client SET token_version = token_version + 1, \
                     secret_hash = COALESCE($1, secret_hash), disabled = COALESCE($2, disabled), \
                     updated_at_ms = $3 WHERE client_id = $4 RETURNING {}",
                    $crate::store::machine_sql::CLIENT_COLUMNS
                );
                let row = sqlx::query_as::<_, $crate::store::machine_sql::ClientRow>(&sql)
                    .bind(new_secret_hash)
                    .bind(disabled)
                    .bind(audit.at_ms)
                    .bind(client_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or($crate::store::StoreError::NotFound("API client"))?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            async fn signing_keys(
                &self,
                retired_since_ms: i64,
            ) -> $crate::store::StoreResult<Vec<$crate::store::SigningKeyRecord>> {
                let sql = format!(
                    "SELECT {} FROM signing_key WHERE state <> 'retired' OR retired_at_ms >= $1 \
                     ORDER BY created_at_ms DESC",
                    $crate::store::machine_sql::KEY_COLUMNS
                );
                Ok(sqlx::query_as::<_, $crate::store::machine_sql::KeyRow>(&sql)
                    .bind(retired_since_ms)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            }

            async fn seed_signing_keys(
                &self,
                current: &$crate::store::SigningKeyRecord,
                next: &$crate::store::SigningKeyRecord,
            ) -> $crate::store::StoreResult<bool> {
                let mut tx = self.begin_write().await?;
                for k in [current, next] {
                    if let Err(e) = Self::insert_key(&mut tx, k).await {
                        if $crate::store::sql::is_unique_violation(&e) {
                            return Ok(false);
                        }
                        return Err(e.into());
                    }
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn rotate_signing_keys(
                &self,
                new_next: &$crate::store::SigningKeyRecord,
                audit: &$crate::audit::AuditRecord,
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query("UPDATE signing_key SET state = 'retired', retired_at_ms = $1 WHERE state = 'current'")
                    .bind(audit.at_ms)
                    .execute(&mut *tx)
                    .await?;
                let promoted = sqlx::query("UPDATE signing_key SET state = 'current' WHERE state = 'next'")
                    .execute(&mut *tx)
                    .await?;
                if promoted.rows_affected() != 1 {
                    return Err($crate::store::StoreError::Corrupt("no next signing key to promote".into()));
                }
                Self::insert_key(&mut tx, new_next).await?;
                Self::insert_audit(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(super) use impl_machine;
