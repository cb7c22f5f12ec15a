//! `GET /metrics`: the metrics registry in Prometheus text format, for operators' scrapers
//! rather than API clients (so it is not in the OpenAPI document). With a token configured it
//! asks for it as a bearer token.

use poem::http::StatusCode;
use poem::web::Data;
use poem::{handler, Response};
use poem_openapi::types::ToJSON;

use crate::conversations::bearer_matches;
use crate::error::ErrorBody;
use crate::state::AppState;

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

#[handler]
pub async fn serve_metrics(req: &poem::Request, state: Data<&AppState>) -> Response {
    let Some(export) = &state.metrics else {
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "metrics are not enabled",
        );
    };
    if let Some(token) = &export.token {
        if !bearer_matches(req.header("Authorization"), token) {
            let mut response = json_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "metrics need the metrics bearer token",
            );
            response
                .headers_mut()
                .insert("WWW-Authenticate", "Bearer".parse().expect("static value"));
            return response;
        }
    }
    let in_use = state
        .http
        .max_streams
        .saturating_sub(state.streams.available_permits());
    metrics::gauge!("chat_streams_active").set(in_use as f64);
    Response::builder()
        .content_type(PROMETHEUS_TEXT)
        .body((export.render)().await)
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(ErrorBody::new(code, message).to_json_string())
}
