//! `GET /health` (liveness) and `GET /health/ready` (readiness: the database answers).
//!
//! Readiness names the dependency that is down, never why: a driver's error can carry host
//! names, user names or SQL, and the probe is public. The cause goes to the log.

use std::collections::BTreeMap;

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
    /// Database state, on readiness checks: `ok` or `down`.
    #[oai(skip_serializing_if_is_none)]
    pub database: Option<String>,
    /// On readiness checks, each dependency and its state: `ok` or `down`. Why one is down is
    /// logged, not shown.
    #[oai(skip_serializing_if_is_none)]
    pub checks: Option<BTreeMap<String, String>>,
    /// Which language model backend is wired in (e.g. `offline`).
    #[oai(skip_serializing_if_is_none)]
    pub llm: Option<String>,
    /// On readiness checks, when the WhatsApp inbox is wired: how long, in seconds, the oldest
    /// inbound message still waiting to be answered has waited (0 when none waits).
    #[oai(skip_serializing_if_is_none)]
    pub queue_oldest_pending_secs: Option<u64>,
}

impl Example for HealthStatus {
    fn example() -> Self {
        Self {
            status: "ready".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            database: Some("ok".into()),
            checks: Some(checks("ok")),
            llm: Some("offline".into()),
            queue_oldest_pending_secs: Some(0),
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
            checks: None,
            llm: None,
            queue_oldest_pending_secs: None,
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
                checks: Some(checks("ok")),
                llm,
                queue_oldest_pending_secs: queue_age(state.0).await,
            })),
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed: the database is down");
                Readiness::Unavailable(Json(HealthStatus {
                    status: "unavailable".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    database: Some("down".into()),
                    checks: Some(checks("down")),
                    llm,
                    queue_oldest_pending_secs: None,
                }))
            }
        }
    }
}

/// The readiness checks, all in `database` state today (the one dependency checked).
fn checks(database: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("database".to_string(), database.to_string())])
}

/// The inbound queue's oldest pending age, when an inbox is wired and its queue can be read.
async fn queue_age(state: &AppState) -> Option<u64> {
    let inbox = state.inbox.as_ref()?;
    match inbox.oldest_pending_age().await {
        Ok(age) => age.map(|age| age.as_secs()),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: the inbound queue cannot be read");
            None
        }
    }
}
