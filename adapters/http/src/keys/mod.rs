//! `POST /keys`, `GET /keys`, `POST /keys/{prefix}/revoke`: the staff manages API keys
//! (scope `admin`). A key is shown once, when it is created; listings never show a secret.
//!
//! Revoking is a `POST` to `…/revoke`, not a `DELETE`: the key is not deleted, it stays listed
//! with its revocation time, and revoking it twice answers the same.

mod replies;
mod views;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use whatsapp_agent::access::{KeyError, Scope};
use whatsapp_agent::ports::KeyStoreError;

use crate::auth::StaffAuth;
use crate::error::{ErrorBody, Failure};
use crate::json_body::ApiJson;
use crate::state::AppState;

use replies::{CreateKeyReply, ListKeysReply, RevokeKeyReply};
use views::{ApiKeyList, CreateKeyRequest};

#[derive(Tags)]
enum KeyTags {
    /// API keys: create (shown once), list, revoke. Scope `admin`.
    Keys,
}

pub struct KeysApi;

#[OpenApi]
impl KeysApi {
    /// Create an API key.
    ///
    /// The answer holds the whole key; it is shown this once and stored only as a hash.
    /// The same as `whatsapp-agent keys create --name NAME --scope chat|admin`.
    #[oai(
        path = "/keys",
        method = "post",
        tag = "KeyTags::Keys",
        operation_id = "createKey"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: StaffAuth,
        body: ApiJson<CreateKeyRequest>,
    ) -> CreateKeyReply {
        if let Err(err) = auth.admin() {
            return Failure::from(err).into();
        }
        let scopes: Vec<Scope> = body.0.scopes.into_iter().map(Into::into).collect();
        match state.access.create_key(&body.0.name, &scopes).await {
            Ok(created) => CreateKeyReply::Created(Json(created.into())),
            Err(err) => Failure::from(err).into(),
        }
    }

    /// List API keys.
    ///
    /// Every key, newest first, revoked ones included, with its prefix, name, scopes and
    /// times; never a secret.
    #[oai(
        path = "/keys",
        method = "get",
        tag = "KeyTags::Keys",
        operation_id = "listKeys"
    )]
    async fn list(&self, state: Data<&AppState>, auth: StaffAuth) -> ListKeysReply {
        if let Err(err) = auth.admin() {
            return Failure::from(err).into();
        }
        match state.access.list_keys().await {
            Ok(keys) => ListKeysReply::Ok(Json(ApiKeyList {
                keys: keys.into_iter().map(Into::into).collect(),
            })),
            Err(err) => Failure::from(err).into(),
        }
    }

    /// Revoke an API key.
    ///
    /// The key and the user tokens it signed get 401 from then on: at once on the instance
    /// that revoked it, on the others within `auth.key_cache_secs`. The key stays listed.
    #[oai(
        path = "/keys/:prefix/revoke",
        method = "post",
        tag = "KeyTags::Keys",
        operation_id = "revokeKey"
    )]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        /// The key's prefix, as listed (e.g. `wak_3kX9aQ2m`).
        prefix: Path<String>,
        auth: StaffAuth,
    ) -> RevokeKeyReply {
        if let Err(err) = auth.admin() {
            return Failure::from(err).into();
        }
        match state.access.revoke_key(&prefix.0).await {
            Ok(Some(key)) => RevokeKeyReply::Ok(Json(key.into())),
            Ok(None) => RevokeKeyReply::NotFound(Json(ErrorBody::new(
                "not_found",
                format!("no API key has the prefix {:?}", prefix.0),
            ))),
            Err(err) => Failure::from(err).into(),
        }
    }
}

impl From<KeyError> for Failure {
    fn from(err: KeyError) -> Self {
        match err {
            KeyError::Invalid(message) => {
                let field = named_field(&message).unwrap_or("body").to_string();
                Failure::Unprocessable(
                    ErrorBody::new("validation_error", message).with_field(field),
                )
            }
            KeyError::Store(KeyStoreError::Unavailable(cause)) => {
                tracing::warn!(%cause, "database unavailable");
                Failure::unavailable(
                    "database_unavailable",
                    "the database is unavailable; retry shortly",
                    1,
                )
            }
            KeyError::Store(err) => {
                tracing::error!(error = ?err, "key store failure");
                Failure::internal()
            }
        }
    }
}

/// The field a core validation message names first, in backticks: "`name` must be …".
fn named_field(message: &str) -> Option<&str> {
    message.split('`').nth(1).filter(|f| !f.is_empty())
}
