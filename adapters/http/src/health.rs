//! `GET /health` (liveness) and `GET /health/ready` (readiness: the database answers).

use poem::web::Data;
use poem_openapi::types::Example;
use poem_openapi::{payload::Json, ApiResponse, Object, OpenApi};

use crate::chat::ApiTags;
use crate::state::AppState;

/// Probe result.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct HealthStatus {
    /// `ok`, `ready` or `unavailable`.
    pub status: String,
    /// The service version.
    pub version: String,
    /// Database state, on readiness checks: `ok` or the reason it is not.
    #[oai(skip_serializing_if_is_none)]
    pub database: Option<String>,
    /// Which language model backend is wired in (e.g. `offline`).
    #[oai(skip_serializing_if_is_none)]
    pub llm: Option<String>,
}

impl Example for HealthStatus {
    fn example() -> Self {
        Self {
            status: "ready".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database: Some("ok".into()),
            llm: Some("offline".into()),
        }
    }
}

#[derive(ApiResponse)]
pub enum Liveness {
    /// The process is up.
    #[oai(status = 200)]
    Ok(Json<HealthStatus>),
}

#[derive(ApiResponse)]
pub enum Readiness {
    /// Ready to serve.
    #[oai(status = 200)]
    Ready(Json<HealthStatus>),
    /// A dependency is down.
    #[oai(status = 503)]
    Unavailable(Json<HealthStatus>),
}

pub struct HealthApi;

#[OpenApi]
impl HealthApi {
    /// Liveness: answers as long as the process serves requests.
    #[oai(
        path = "/health",
        method = "get",
        tag = "ApiTags::Health",
        operation_id = "health"
    )]
    async fn health(&self) -> Liveness {
        Liveness::Ok(Json(HealthStatus {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database: None,
            llm: None,
        }))
    }

    /// Readiness: checks that the database answers.
    #[oai(
        path = "/health/ready",
        method = "get",
        tag = "ApiTags::Health",
        operation_id = "ready"
    )]
    async fn ready(&self, state: Data<&AppState>) -> Readiness {
        let llm = Some(state.chat.llm().label());
        match state.chat.turns().ping().await {
            Ok(()) => Readiness::Ready(Json(HealthStatus {
                status: "ready".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                database: Some("ok".into()),
                llm,
            })),
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed");
                Readiness::Unavailable(Json(HealthStatus {
                    status: "unavailable".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    database: Some(err.to_string()),
                    llm,
                }))
            }
        }
    }
}
