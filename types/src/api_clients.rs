//! Machine clients (game servers, social bridges) and their credentials.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClientSummary {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub disabled: bool,
    pub created_at: String,
}

/// Credentials as shown once, when created or rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClientSecret {
    pub client_id: String,
    pub client_secret: String,
}
