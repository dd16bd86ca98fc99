//! Server functions of machine clients and their credentials.

use leptos::prelude::*;
use payquest_types::{ApiClientSecret, ApiClientSummary};

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::server::StaffCtx;

#[cfg(feature = "ssr")]
fn secret(c: payquest_domain::api_clients::ClientCredentials) -> ApiClientSecret {
    ApiClientSecret {
        client_id: c.client_id,
        client_secret: c.client_secret,
    }
}

#[server(endpoint = "list_api_clients")]
pub async fn list_api_clients() -> Result<Vec<ApiClientSummary>, AppError> {
    use payquest_domain::api_clients::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let list = ctx
        .state
        .api_clients
        .list(
            ClientAdmin::Staff(actor),
            payquest_types::ApiClientId::default(),
            200,
        )
        .await?;
    Ok(list
        .into_iter()
        .map(|c| ApiClientSummary {
            client_id: c.client_id,
            name: c.name,
            scopes: c.scopes,
            disabled: c.disabled,
            created_at: payquest_domain::clock::format_ms(c.created_at_ms),
        })
        .collect())
}

/// Creates a client; the secret is in the answer and nowhere else.
#[server(endpoint = "create_api_client")]
pub async fn create_api_client(name: String, scopes: String) -> Result<ApiClientSecret, AppError> {
    use payquest_domain::api_clients::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let c = ctx
        .state
        .api_clients
        .create(ClientAdmin::Staff(actor), &name, &scopes)
        .await?;
    Ok(secret(c))
}

#[server(endpoint = "rotate_api_client")]
pub async fn rotate_api_client(client_id: String) -> Result<ApiClientSecret, AppError> {
    use payquest_domain::api_clients::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    let c = ctx
        .state
        .api_clients
        .rotate_secret(ClientAdmin::Staff(actor), &client_id)
        .await?;
    Ok(secret(c))
}

#[server(endpoint = "disable_api_client")]
pub async fn disable_api_client(client_id: String) -> Result<(), AppError> {
    use payquest_domain::api_clients::ClientAdmin;
    let ctx = StaffCtx::load().await?;
    let actor = &ctx.actor;
    ctx.state
        .api_clients
        .set_disabled(ClientAdmin::Staff(actor), &client_id, true)
        .await?;
    Ok(())
}
