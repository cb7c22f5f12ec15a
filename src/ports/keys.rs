//! The key store port: API keys, kept as hashes with their scopes and use.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::Scope;

/// A stored API key, without anything secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: Uuid,
    /// The visible start of the key, e.g. `wak_3kX9aQ2m`; unique.
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key to store. The key itself is not here: only what checks it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub id: Uuid,
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Hex SHA-256 of the whole key; what a presented key is looked up by.
    pub lookup_hash: String,
    /// The secret that checks the key's end-user tokens.
    pub token_secret: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("prefix", &self.prefix)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The store cannot be reached; trying again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A key with the same prefix exists (a new random key collides: generate another).
    #[error("duplicate key prefix: {0}")]
    Duplicate(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Durable storage of API keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Stores a new key and returns it as listed.
    ///
    /// # Errors
    /// [`KeyStoreError::Duplicate`] when the prefix is taken; [`KeyStoreError::Unavailable`]
    /// when the store cannot be reached.
    async fn create_key(&self, key: &NewApiKey) -> Result<ApiKey, KeyStoreError>;

    /// Every key, revoked ones included, newest first.
    ///
    /// # Errors
    /// [`KeyStoreError::Unavailable`] when the store cannot be reached.
    async fn list_keys(&self) -> Result<Vec<ApiKey>, KeyStoreError>;

    /// Revokes the key with this prefix at `at` (a key revoked earlier keeps its first
    /// revocation time). Returns the key, or `None` when there is none with this prefix.
    ///
    /// # Errors
    /// [`KeyStoreError::Unavailable`] when the store cannot be reached.
    async fn revoke_key(
        &self,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, KeyStoreError>;

    /// The key whose lookup hash is `lookup_hash`, revoked or not, after recording that it
    /// was used at `at` (unless it is revoked).
    ///
    /// # Errors
    /// [`KeyStoreError::Unavailable`] when the store cannot be reached.
    async fn key_by_hash(
        &self,
        lookup_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, KeyStoreError>;

    /// The key with this prefix and its token secret, revoked or not, after recording that
    /// it was used at `at` (unless it is revoked).
    ///
    /// # Errors
    /// [`KeyStoreError::Unavailable`] when the store cannot be reached.
    async fn token_key(
        &self,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(ApiKey, Vec<u8>)>, KeyStoreError>;
}
