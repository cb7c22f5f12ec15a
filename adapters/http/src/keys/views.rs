//! The key management DTOs: what a caller sends to create a key and what it is shown.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use serde::Deserialize;
use whatsapp_agent::access::{CreatedKey, Scope};
use whatsapp_agent::ports::ApiKey;

use crate::chat::example_ids;

/// What a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Deserialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// Talk to the assistant as any user (`/chat/`, `/chat/stream`) and sign user tokens.
    Chat,
    /// The staff API: conversations, export and erasure, keys.
    Admin,
}

impl From<KeyScope> for Scope {
    fn from(scope: KeyScope) -> Self {
        match scope {
            KeyScope::Chat => Scope::Chat,
            KeyScope::Admin => Scope::Admin,
        }
    }
}

impl From<Scope> for KeyScope {
    fn from(scope: Scope) -> Self {
        match scope {
            Scope::Chat => KeyScope::Chat,
            Scope::Admin => KeyScope::Admin,
        }
    }
}

/// A key to create.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
pub struct CreateKeyRequest {
    /// Who or what holds the key, e.g. `patient app backend` (1 to 100 characters).
    pub name: String,
    /// What the key may do: at least one of `chat`, `admin`.
    pub scopes: Vec<KeyScope>,
}

impl Example for CreateKeyRequest {
    fn example() -> Self {
        Self {
            name: "patient app backend".into(),
            scopes: vec![KeyScope::Chat],
        }
    }
}

const EXAMPLE_PREFIX: &str = "wak_3kX9aQ2m";

/// An API key as listed: never its secret.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ApiKeyInfo {
    /// The key's visible start; names it in listings, logs and `POST /keys/{prefix}/revoke`.
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<KeyScope>,
    pub created_at: DateTime<Utc>,
    /// When the key was last used (recorded at most about once a minute).
    #[oai(skip_serializing_if_is_none)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the key was revoked; a revoked key gets 401.
    #[oai(skip_serializing_if_is_none)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyInfo {
    fn from(key: ApiKey) -> Self {
        Self {
            prefix: key.prefix,
            name: key.name,
            scopes: key.scopes.into_iter().map(Into::into).collect(),
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

impl Example for ApiKeyInfo {
    fn example() -> Self {
        Self {
            prefix: EXAMPLE_PREFIX.into(),
            name: "patient app backend".into(),
            scopes: vec![KeyScope::Chat],
            created_at: example_ids::time(),
            last_used_at: Some(example_ids::time()),
            revoked_at: None,
        }
    }
}

/// Every key, newest first, revoked ones included.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyInfo>,
}

impl Example for ApiKeyList {
    fn example() -> Self {
        Self {
            keys: vec![ApiKeyInfo::example()],
        }
    }
}

/// A key just created. `key` is shown this once: only its hash is stored.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct CreatedApiKey {
    /// The whole key, for `Authorization: Bearer <key>`. Store it now: it cannot be shown
    /// again. A `chat` key's user tokens are signed with SHA-256 of `user-token:` followed
    /// by this key.
    pub key: String,
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<KeyScope>,
    pub created_at: DateTime<Utc>,
}

impl From<CreatedKey> for CreatedApiKey {
    fn from(created: CreatedKey) -> Self {
        Self {
            key: created.secret.expose().to_string(),
            prefix: created.key.prefix,
            name: created.key.name,
            scopes: created.key.scopes.into_iter().map(Into::into).collect(),
            created_at: created.key.created_at,
        }
    }
}

impl Example for CreatedApiKey {
    fn example() -> Self {
        Self {
            key: format!("{EXAMPLE_PREFIX}_Vd8Qm2LxT0bKc7RzW4nYp1sHj6Ue9FaG"),
            prefix: EXAMPLE_PREFIX.into(),
            name: "patient app backend".into(),
            scopes: vec![KeyScope::Chat],
            created_at: example_ids::time(),
        }
    }
}
