//! `GET /users/{user}/export` and `DELETE /users/{user}`: a patient's data exported whole or
//! erased whole, by the staff (scope `admin`).
//!
//! `{user}` is the user's UUID or identity: `+14155550100` (URL-encoded as `%2B14155550100`)
//! or `chat_alice`. An erasure answers 200 with how many rows it removed rather than 204, so
//! the caller sees that something happened.

mod replies;
mod views;

use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{OpenApi, Tags};
use whatsapp_agent::ports::UserRef;
use whatsapp_agent::rights::{EraseError, ExportError, Rights};

use crate::auth::StaffAuth;
use crate::error::{ErrorBody, Failure};
use crate::state::AppState;

use replies::{EraseReply, ExportReply};

#[derive(Tags)]
enum RightsTags {
    /// A patient's data rights: export and erasure. Scope `admin`.
    DataRights,
}

pub struct RightsApi;

#[OpenApi]
impl RightsApi {
    /// Export everything stored about a user.
    ///
    /// One JSON document: the user with their full identity, their conversations, every
    /// message with media metadata, transcripts, delivery status and errors, and the
    /// provider's delivery records.
    #[oai(
        path = "/users/:user/export",
        method = "get",
        tag = "RightsTags::DataRights",
        operation_id = "exportUser"
    )]
    async fn export(
        &self,
        state: Data<&AppState>,
        /// The user's UUID or identity (`+14155550100` URL-encoded, or `chat_alice`).
        user: Path<String>,
        auth: StaffAuth,
    ) -> ExportReply {
        let caller = match auth.0 {
            Ok(caller) => caller,
            Err(err) => return Failure::from(err).into(),
        };
        let Some(rights) = rights(&state) else {
            return Failure::internal().into();
        };
        match rights.export(&caller, &UserRef::parse(&user.0)).await {
            Ok(export) => ExportReply::Ok(Json(export.into())),
            Err(ExportError::NotFound) => ExportReply::NotFound(Json(not_found())),
            Err(ExportError::Access(err)) => Failure::from(err).into(),
            Err(ExportError::Unavailable(cause)) => unavailable(&cause).into(),
            Err(ExportError::Unknown(err)) => {
                tracing::error!(error = ?err, "export failed");
                Failure::internal().into()
            }
        }
    }

    /// Erase a user.
    ///
    /// Removes, in one transaction, every row that holds the user's data: the user, their
    /// messages and raw webhook parameters, conversations, jobs and delivery records. An
    /// audit record keeps only that an erasure happened, when, and by which credential. A
    /// later message from the same number or `user_id` starts a new user.
    #[oai(
        path = "/users/:user",
        method = "delete",
        tag = "RightsTags::DataRights",
        operation_id = "eraseUser"
    )]
    async fn erase(
        &self,
        state: Data<&AppState>,
        /// The user's UUID or identity (`+14155550100` URL-encoded, or `chat_alice`).
        user: Path<String>,
        auth: StaffAuth,
    ) -> EraseReply {
        let caller = match auth.0 {
            Ok(caller) => caller,
            Err(err) => return Failure::from(err).into(),
        };
        let Some(rights) = rights(&state) else {
            return Failure::internal().into();
        };
        match rights.erase(&caller, &UserRef::parse(&user.0)).await {
            Ok(report) => EraseReply::Ok(Json(report.into())),
            Err(EraseError::NotFound) => EraseReply::NotFound(Json(not_found())),
            Err(EraseError::Access(err)) => Failure::from(err).into(),
            Err(EraseError::Unavailable(cause)) => unavailable(&cause).into(),
            Err(EraseError::Unknown(err)) => {
                tracing::error!(error = ?err, "erasure failed");
                Failure::internal().into()
            }
        }
    }
}

fn rights(state: &AppState) -> Option<&Rights> {
    let rights = state.rights.as_ref();
    if rights.is_none() {
        tracing::error!("no data rights store is wired");
    }
    rights
}

fn not_found() -> ErrorBody {
    ErrorBody::new("not_found", "no user has this id or identity")
}

fn unavailable(cause: &str) -> Failure {
    tracing::warn!(%cause, "database unavailable");
    Failure::unavailable(
        "database_unavailable",
        "the database is unavailable; retry shortly",
        1,
    )
}
