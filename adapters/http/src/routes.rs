//! Assembles the API, the docs and the middleware into one endpoint.

use std::sync::OnceLock;

use poem::endpoint::make_sync;
use poem::web::Html;
use poem::{get, Endpoint, EndpointExt, Response, Route};
use poem_openapi::{LicenseObject, OpenApiService, ServerObject};

use crate::allow::{AllowHeader, AllowedMethods};

use crate::access_log::AccessLog;
use crate::attach::Attach;
use crate::body_deadline::BodyDeadline;
use crate::chat::ChatApi;
use crate::cors::OptionalCors;
use crate::health::HealthApi;
use crate::jobs::JobsApi;
use crate::json_body::BodyLimit;
use crate::json_errors::JsonErrors;
use crate::keys::KeysApi;
use crate::rights::RightsApi;
use crate::spec;
use crate::staff::{StaffApi, StaffEventsApi, StaffRetryApi};
use crate::state::AppState;
use crate::stream::StreamApi;
use crate::trailing_slash::TrimTrailingSlash;
use crate::webhook::WebhookApi;

type Apis = (
    ChatApi,
    StreamApi,
    StaffApi,
    StaffEventsApi,
    StaffRetryApi,
    KeysApi,
    JobsApi,
    RightsApi,
    HealthApi,
    WebhookApi,
);

/// The OpenAPI service, without state: handlers take state from request data.
pub fn openapi_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            ChatApi,
            StreamApi,
            StaffApi,
            StaffEventsApi,
            StaffRetryApi,
            KeysApi,
            JobsApi,
            RightsApi,
            HealthApi,
            WebhookApi,
        ),
        "whatsapp-agent",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "An AI assistant on WhatsApp and on your app's own chat. Every message is stored.\n\n\
         Every error is JSON `{\"error\": {\"code\", \"message\", \"field\"?}}`: malformed \
         JSON is 400, a wrong `Content-Type` 415, a body over `server.body_limit_bytes` 413, a \
         missing or invalid field 422 naming it, an unknown path 404 and a method a path does \
         not serve 405 with `Allow`. The limits shown on `ChatRequest` are the defaults \
         (`chat.max_content_chars` changes the first).",
    )
    .license(LicenseObject::new("MIT").url("https://opensource.org/licenses/MIT"))
    .server(ServerObject::new("/").description("This service: the host that served this document."))
}

/// The spec as YAML, as committed in `openapi.yaml`.
pub fn spec_yaml() -> String {
    spec::document_yaml()
}

/// The methods each path serves, for `Allow` on a 405.
fn allowed_methods() -> AllowedMethods {
    let doc = spec::document();
    let mut paths: Vec<(String, Vec<String>)> = doc
        .get("paths")
        .and_then(serde_json::Value::as_object)
        .map(|paths| {
            paths
                .iter()
                .map(|(path, item)| {
                    let methods = item
                        .as_object()
                        .map(|ops| ops.keys().cloned().collect())
                        .unwrap_or_default();
                    (path.clone(), methods)
                })
                .collect()
        })
        .unwrap_or_default();
    for path in ["/docs", "/openapi.json", "/openapi.yaml", "/metrics"] {
        paths.push((path.to_string(), vec!["GET".to_string()]));
    }
    AllowedMethods::new(paths.iter().map(|(p, m)| (p.as_str(), m.clone())))
}

/// The published document as JSON, built when first asked for.
fn spec_json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(spec::document_json)
}

/// The published document as YAML, built when first asked for.
fn spec_yaml_cached() -> &'static str {
    static YAML: OnceLock<String> = OnceLock::new();
    YAML.get_or_init(spec::document_yaml)
}

/// The Swagger UI page, showing the completed document rather than the framework's own. It
/// embeds the UI's scripts (well over a megabyte), so it is built for each (rare) visit
/// instead of being held for the life of the process.
fn docs_page() -> String {
    let api = openapi_service();
    api.swagger_ui_html().replacen(&api.spec(), spec_json(), 1)
}

/// Every route of the service with its middleware.
pub fn routes(state: AppState) -> impl Endpoint {
    let routes = allowed_methods();
    let api = openapi_service();
    let limit = BodyLimit(state.http.body_limit_bytes);
    let body_deadline = BodyDeadline(state.http.body_read_timeout);
    let cors = OptionalCors::new(&state.http.cors_allowed_origins);
    let proxies = state.http.trusted_proxies.clone();
    Route::new()
        .nest("/", api)
        .at("/docs", get(make_sync(|_| Html(docs_page()))))
        .at(
            "/openapi.json",
            get(make_sync(|_| {
                Response::builder()
                    .content_type("application/json")
                    .body(spec_json())
            })),
        )
        .at(
            "/openapi.yaml",
            get(make_sync(|_| {
                Response::builder()
                    .content_type("application/x-yaml")
                    .body(spec_yaml_cached())
            })),
        )
        .at("/metrics", get(crate::metrics_endpoint::serve_metrics))
        .with(crate::rate_limit::PerKeyLimit::for_secured_operations())
        .with(Attach(state))
        .with(Attach(limit))
        .with(Attach(proxies.clone()))
        .with(body_deadline)
        .with(AllowHeader(routes.clone()))
        .with(JsonErrors)
        .with(TrimTrailingSlash)
        .with(cors)
        .with(AccessLog(routes, proxies))
}
