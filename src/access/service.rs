//! [`Access`]: turns a presented credential into a [`Caller`], and manages API keys.
//!
//! A verified key or token key is cached for `cache_ttl` (a few seconds), so the hot path
//! costs a hash and a map lookup, not a database round trip; a revocation reaches every
//! instance when their cached entries expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ports::{ApiKey, Clock, KeyStore, KeyStoreError, NewApiKey, SystemClock};

use super::secret::KeySecret;
use super::token;
use super::{AccessError, Caller, Scope};

/// How credentials are checked.
#[derive(Clone)]
pub struct AccessConfig {
    /// Requests without a credential act as [`Caller::Anonymous`] (the local run on loopback).
    pub allow_anonymous: bool,
    /// The bootstrap admin credential (`ADMIN_TOKEN`), if set.
    pub admin_token: Option<String>,
    /// How long a verified key is trusted before the store is asked again.
    pub cache_ttl: Duration,
    /// Seconds an end-user token is still accepted after its `exp` (clock skew).
    pub token_leeway_secs: i64,
    /// The furthest ahead an end-user token's `exp` may be, in seconds.
    pub token_max_ttl_secs: i64,
}

impl std::fmt::Debug for AccessConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessConfig")
            .field("allow_anonymous", &self.allow_anonymous)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            allow_anonymous: false,
            admin_token: None,
            cache_ttl: Duration::from_secs(5),
            token_leeway_secs: 30,
            token_max_ttl_secs: 24 * 3600,
        }
    }
}

/// A key just created: the listing entry and the key itself, to show once.
#[derive(Debug)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: KeySecret,
}

type KeyEntry = (Instant, Option<ApiKey>);
type TokenKeyEntry = (Instant, Option<(ApiKey, Vec<u8>)>);

/// Beyond this many cached credentials the cache starts over, so junk keys cannot grow it.
const CACHE_CAP: usize = 10_000;

/// Checks credentials and manages API keys.
#[derive(Clone)]
pub struct Access {
    keys: Arc<dyn KeyStore>,
    config: Arc<AccessConfig>,
    admin_digest: Option<[u8; 32]>,
    by_hash: Arc<Mutex<HashMap<String, KeyEntry>>>,
    by_prefix: Arc<Mutex<HashMap<String, TokenKeyEntry>>>,
    clock: Arc<dyn Clock>,
}

impl Access {
    pub fn new(keys: Arc<dyn KeyStore>, config: AccessConfig) -> Self {
        let admin_digest = config
            .admin_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| Sha256::digest(t.as_bytes()).into());
        Self {
            keys,
            config: Arc::new(config),
            admin_digest,
            by_hash: Arc::default(),
            by_prefix: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same checks reading the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn config(&self) -> &AccessConfig {
        &self.config
    }

    /// Who presented `authorization` (the whole `Authorization` header value, if any).
    ///
    /// # Errors
    /// [`AccessError::Unauthenticated`] for a missing (when anonymous access is off), malformed,
    /// unknown, revoked or expired credential; [`AccessError::Unavailable`] when the key store
    /// cannot be reached.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AccessError> {
        let Some(header) = authorization.map(str::trim).filter(|h| !h.is_empty()) else {
            return if self.config.allow_anonymous {
                Ok(Caller::Anonymous)
            } else {
                Err(AccessError::Unauthenticated(
                    "this endpoint needs a credential: `Authorization: Bearer <API key or user token>`"
                        .into(),
                ))
            };
        };
        let credential = match header.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => {
                return Err(AccessError::Unauthenticated(
                    "the `Authorization` header must be `Bearer <API key or user token>`".into(),
                ))
            }
        };
        if let Some(expected) = &self.admin_digest {
            let presented: [u8; 32] = Sha256::digest(credential.as_bytes()).into();
            if &presented == expected {
                return Ok(Caller::AdminToken);
            }
        }
        if let Some(secret) = KeySecret::parse(credential) {
            return self.key_caller(&secret).await;
        }
        if token::looks_like_token(credential) {
            return self.token_caller(credential).await;
        }
        Err(AccessError::Unauthenticated(
            "the bearer credential is neither an API key nor a user token".into(),
        ))
    }

    async fn key_caller(&self, secret: &KeySecret) -> Result<Caller, AccessError> {
        let hash = secret.lookup_hash();
        let cached = lock(&self.by_hash)
            .get(&hash)
            .filter(|(at, _)| at.elapsed() < self.config.cache_ttl)
            .map(|(_, key)| key.clone());
        let key = match cached {
            Some(key) => key,
            None => {
                let key = self
                    .keys
                    .key_by_hash(&hash, self.clock.now())
                    .await
                    .map_err(unavailable)?;
                let mut cache = lock(&self.by_hash);
                if cache.len() >= CACHE_CAP {
                    cache.clear();
                }
                cache.insert(hash, (Instant::now(), key.clone()));
                key
            }
        };
        match key {
            None => Err(AccessError::Unauthenticated("unknown API key".into())),
            Some(key) if key.revoked_at.is_some() => Err(AccessError::Unauthenticated(
                "this API key was revoked".into(),
            )),
            Some(key) => Ok(Caller::Key {
                prefix: key.prefix,
                name: key.name,
                scopes: key.scopes,
            }),
        }
    }

    async fn token_caller(&self, credential: &str) -> Result<Caller, AccessError> {
        let unverified = token::parse(credential).map_err(AccessError::Unauthenticated)?;
        let cached = lock(&self.by_prefix)
            .get(&unverified.kid)
            .filter(|(at, _)| at.elapsed() < self.config.cache_ttl)
            .map(|(_, entry)| entry.clone());
        let entry = match cached {
            Some(entry) => entry,
            None => {
                let entry = self
                    .keys
                    .token_key(&unverified.kid, self.clock.now())
                    .await
                    .map_err(unavailable)?;
                let mut cache = lock(&self.by_prefix);
                if cache.len() >= CACHE_CAP {
                    cache.clear();
                }
                cache.insert(unverified.kid.clone(), (Instant::now(), entry.clone()));
                entry
            }
        };
        let (key, secret) = entry.ok_or_else(|| {
            AccessError::Unauthenticated("the user token's `kid` names no API key".into())
        })?;
        if key.revoked_at.is_some() {
            return Err(AccessError::Unauthenticated(
                "the key that signed this user token was revoked".into(),
            ));
        }
        if !key.scopes.contains(&Scope::Chat) {
            return Err(AccessError::Unauthenticated(
                "the user token is signed by a key without the `chat` scope".into(),
            ));
        }
        let claims = unverified
            .verify(
                &secret,
                self.clock.now().timestamp(),
                self.config.token_leeway_secs,
                self.config.token_max_ttl_secs,
            )
            .map_err(AccessError::Unauthenticated)?;
        Ok(Caller::EndUser {
            user_id: claims.sub,
            key_prefix: key.prefix,
        })
    }

    /// Creates a key named `name` with `scopes`; the returned secret is shown once and never
    /// stored.
    ///
    /// # Errors
    /// [`KeyError::Invalid`] for an empty or overlong name or no scope;
    /// [`KeyError::Store`] when the store fails.
    pub async fn create_key(&self, name: &str, scopes: &[Scope]) -> Result<CreatedKey, KeyError> {
        // The length counts what was sent, as the spec's `maxLength` does.
        let too_long = name.chars().count() > 100;
        let name = name.trim();
        if name.is_empty() || too_long || name.chars().any(char::is_control) {
            return Err(KeyError::Invalid(
                "`name` must be 1 to 100 characters, not blank, without control characters".into(),
            ));
        }
        if scopes.is_empty() {
            return Err(KeyError::Invalid(
                "`scopes` must name at least one of `chat`, `admin`".into(),
            ));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        // A prefix collision (1 in 62^8 per pair) only costs another draw.
        for _ in 0..3 {
            let secret = KeySecret::generate();
            let new = NewApiKey {
                id: Uuid::now_v7(),
                prefix: secret.prefix().unwrap_or_default().to_string(),
                name: name.to_string(),
                scopes: scopes.clone(),
                lookup_hash: secret.lookup_hash(),
                token_secret: secret.token_secret(),
                created_at: self.clock.now(),
            };
            match self.keys.create_key(&new).await {
                Ok(key) => {
                    tracing::info!(prefix = %key.prefix, "API key created");
                    return Ok(CreatedKey { key, secret });
                }
                Err(KeyStoreError::Duplicate(_)) => continue,
                Err(err) => return Err(KeyError::Store(err)),
            }
        }
        Err(KeyError::Store(KeyStoreError::Unknown(anyhow::anyhow!(
            "three random key prefixes collided"
        ))))
    }

    /// Every key, newest first; never their secrets.
    ///
    /// # Errors
    /// [`KeyError::Store`] when the store fails.
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, KeyError> {
        self.keys.list_keys().await.map_err(KeyError::Store)
    }

    /// Revokes the key with `prefix`; this instance stops accepting it at once, others within
    /// the cache lifetime. `None` when no key has this prefix.
    ///
    /// # Errors
    /// [`KeyError::Store`] when the store fails.
    pub async fn revoke_key(&self, prefix: &str) -> Result<Option<ApiKey>, KeyError> {
        let revoked = self
            .keys
            .revoke_key(prefix, self.clock.now())
            .await
            .map_err(KeyError::Store)?;
        if revoked.is_some() {
            lock(&self.by_hash)
                .retain(|_, (_, key)| key.as_ref().map_or(true, |k| k.prefix != prefix));
            lock(&self.by_prefix).remove(prefix);
            tracing::info!(%prefix, "API key revoked");
        }
        Ok(revoked)
    }
}

/// Why a key could not be managed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The request is wrong (HTTP 422): the message names the field.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(KeyStoreError),
}

fn unavailable(err: KeyStoreError) -> AccessError {
    tracing::warn!(error = %err, "cannot check a credential");
    AccessError::Unavailable("the key store is unavailable".into())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
