//! Assembles the API, the docs and the middleware into one endpoint.

use poem::http::Method;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

use crate::access_log::AccessLog;
use crate::chat::ChatApi;
use crate::conversations::ConversationsApi;
use crate::health::HealthApi;
use crate::json_body::BodyLimit;
use crate::json_errors::JsonErrors;
use crate::state::AppState;
use crate::stream::StreamApi;
use crate::trailing_slash::TrimTrailingSlash;
use crate::webhook::WebhookApi;

type Apis = (ChatApi, StreamApi, ConversationsApi, HealthApi, WebhookApi);

/// The OpenAPI service, without state: handlers take state from request data.
pub fn openapi_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (ChatApi, StreamApi, ConversationsApi, HealthApi, WebhookApi),
        "whatsapp-agent",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "An AI assistant on WhatsApp and on your app's own chat. Every message is stored; \
             errors are JSON `{\"error\": {\"code\", \"message\", \"field\"?}}`.",
    )
}

/// The spec as YAML, as committed in `openapi.yaml`.
pub fn spec_yaml() -> String {
    openapi_service().spec_yaml()
}

/// Every route of the service with its middleware.
pub fn routes(state: AppState) -> impl Endpoint {
    let api = openapi_service();
    let docs = api.swagger_ui();
    let spec_json = api.spec_endpoint();
    let spec_yaml = api.spec_endpoint_yaml();
    let limit = BodyLimit(state.http.body_limit_bytes);
    let cors = cors(&state.http.cors_allowed_origins);
    Route::new()
        .nest("/", api)
        .nest("/docs", docs)
        .at("/openapi.json", spec_json)
        .at("/openapi.yaml", spec_yaml)
        .data(state)
        .data(limit)
        .with(JsonErrors)
        .with(TrimTrailingSlash)
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .with(AccessLog)
}

/// CORS for browser apps that call the chat API directly; `None` when no origin is allowed.
fn cors(origins: &[String]) -> Option<Cors> {
    if origins.is_empty() {
        return None;
    }
    let cors = Cors::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(["content-type", "accept", "last-event-id"])
        .max_age(600);
    Some(if origins.iter().any(|o| o == "*") {
        cors
    } else {
        cors.allow_origins(origins.iter().map(String::as_str))
    })
}
