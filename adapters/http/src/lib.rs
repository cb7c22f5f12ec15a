//! The HTTP driving adapter: a poem-openapi API over the core's `ChatService`.
//!
//! Every operation and every status it can answer is typed, so `/openapi.json`, the committed
//! `openapi.yaml` and Swagger UI at `/docs` describe exactly what is served. HTTP status codes
//! live only in this crate.

mod access_log;
mod allow;
mod attach;
mod auth;
mod body_deadline;
mod chat;
mod conversations;
mod cors;
mod error;
mod form_body;
mod health;
mod jobs;
mod json_body;
mod json_errors;
mod keys;
mod metrics_endpoint;
mod proxies;
mod rate_limit;
mod rights;
mod routes;
mod security;
mod spec;
mod staff;
mod state;
mod stream;
mod trailing_slash;
mod webhook;

pub use proxies::TrustedProxies;
pub use rate_limit::RateLimitSettings;
pub use routes::{openapi_service, routes, spec_yaml};
pub use spec::document as spec_document;
pub use state::{AppState, HttpSettings, MetricsExport, RenderMetrics};
