//! `KeyStore` for `SqlStore`: API keys kept as their lookup hash, with scopes and last use.
//!
//! Checking a key reads one row. Its last use is written only when the recorded one is missing
//! or older than [`LAST_USE_RESOLUTION`], so a busy key costs one read per check, not a write
//! (and no row lock) per request.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QueryOrder, Set,
};
use whatsapp_agent::access::Scope;
use whatsapp_agent::ports::{ApiKey, KeyStore, KeyStoreError, NewApiKey, StoreError};

use crate::entity::api_keys;
use crate::error::store_error;
use crate::store::SqlStore;

/// How stale a key's recorded last use may get before a check writes it again.
const LAST_USE_RESOLUTION: Duration = Duration::seconds(60);

fn key_error(err: DbErr) -> KeyStoreError {
    match store_error(err) {
        StoreError::Unavailable(m) => KeyStoreError::Unavailable(m),
        StoreError::Duplicate(m) => KeyStoreError::Duplicate(m),
        StoreError::Unknown(e) => KeyStoreError::Unknown(e),
    }
}

/// Scope names, sorted and without repeats: `admin,chat`.
fn scopes_text(scopes: &[Scope]) -> String {
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(",")
}

fn to_key(model: &api_keys::Model) -> Result<ApiKey, KeyStoreError> {
    let scopes = model
        .scopes
        .split(',')
        .filter(|name| !name.trim().is_empty())
        .map(|name| {
            Scope::parse(name).ok_or_else(|| {
                KeyStoreError::Unknown(anyhow::anyhow!(
                    "unknown scope {name:?} on key {}",
                    model.prefix
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiKey {
        id: model.id,
        prefix: model.prefix.clone(),
        name: model.name.clone(),
        scopes,
        created_at: model.created_at,
        last_used_at: model.last_used_at,
        revoked_at: model.revoked_at,
    })
}

impl SqlStore {
    async fn key_where(
        &self,
        condition: Condition,
    ) -> Result<Option<api_keys::Model>, KeyStoreError> {
        api_keys::Entity::find()
            .filter(condition)
            .one(self.connection())
            .await
            .map_err(key_error)
    }

    /// Records that the key was used at `at`, unless it is revoked or its recorded use is
    /// recent enough; returns the row as it now stands.
    async fn record_use(
        &self,
        mut key: api_keys::Model,
        at: DateTime<Utc>,
    ) -> Result<api_keys::Model, KeyStoreError> {
        let stale_before = at - LAST_USE_RESOLUTION;
        let recent = key.last_used_at.is_some_and(|used| used >= stale_before);
        if key.revoked_at.is_some() || recent {
            return Ok(key);
        }
        // The same conditions again: another instance may have revoked or used it meanwhile.
        let written = api_keys::Entity::update_many()
            .col_expr(api_keys::Column::LastUsedAt, Expr::value(at))
            .filter(api_keys::Column::Id.eq(key.id))
            .filter(api_keys::Column::RevokedAt.is_null())
            .filter(
                Condition::any()
                    .add(api_keys::Column::LastUsedAt.is_null())
                    .add(api_keys::Column::LastUsedAt.lt(stale_before)),
            )
            .exec(self.connection())
            .await
            .map_err(key_error)?;
        if written.rows_affected == 1 {
            key.last_used_at = Some(at);
        }
        Ok(key)
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn create_key(&self, key: &NewApiKey) -> Result<ApiKey, KeyStoreError> {
        let row = api_keys::ActiveModel {
            id: Set(key.id),
            prefix: Set(key.prefix.clone()),
            name: Set(key.name.clone()),
            scopes: Set(scopes_text(&key.scopes)),
            lookup_hash: Set(key.lookup_hash.clone()),
            token_secret: Set(key.token_secret.clone()),
            created_at: Set(key.created_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
        };
        let stored = row.insert(self.connection()).await.map_err(key_error)?;
        to_key(&stored)
    }

    async fn list_keys(&self) -> Result<Vec<ApiKey>, KeyStoreError> {
        api_keys::Entity::find()
            .order_by_desc(api_keys::Column::CreatedAt)
            .order_by_desc(api_keys::Column::Id)
            .all(self.connection())
            .await
            .map_err(key_error)?
            .iter()
            .map(to_key)
            .collect()
    }

    async fn revoke_key(
        &self,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, KeyStoreError> {
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, Expr::value(at))
            .filter(api_keys::Column::Prefix.eq(prefix))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(self.connection())
            .await
            .map_err(key_error)?;
        self.key_where(Condition::all().add(api_keys::Column::Prefix.eq(prefix)))
            .await?
            .as_ref()
            .map(to_key)
            .transpose()
    }

    async fn key_by_hash(
        &self,
        lookup_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, KeyStoreError> {
        let found = self
            .key_where(Condition::all().add(api_keys::Column::LookupHash.eq(lookup_hash)))
            .await?;
        match found {
            Some(key) => to_key(&self.record_use(key, at).await?).map(Some),
            None => Ok(None),
        }
    }

    async fn token_key(
        &self,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(ApiKey, Vec<u8>)>, KeyStoreError> {
        let found = self
            .key_where(Condition::all().add(api_keys::Column::Prefix.eq(prefix)))
            .await?;
        match found {
            Some(key) => {
                let key = self.record_use(key, at).await?;
                Ok(Some((to_key(&key)?, key.token_secret)))
            }
            None => Ok(None),
        }
    }
}
