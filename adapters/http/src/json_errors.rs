//! Makes every error response JSON: framework errors (404, 405, 415, …) arrive as plain text,
//! and clients of a JSON API should never have to parse two formats.

use std::future::Future;

use futures::FutureExt;
use poem::http::header::CONTENT_TYPE;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use poem_openapi::types::ToJSON;

use crate::error::ErrorBody;

pub struct JsonErrors;

impl<E: Endpoint> Middleware<E> for JsonErrors {
    type Output = JsonErrorsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        JsonErrorsEndpoint { inner: ep }
    }
}

pub struct JsonErrorsEndpoint<E> {
    inner: E,
}

fn code_for(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        411 => "length_required",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_error",
        429 => "too_many_requests",
        503 => "unavailable",
        s if s >= 500 => "internal_error",
        _ => "client_error",
    }
}

impl<E: Endpoint> Endpoint for JsonErrorsEndpoint<E> {
    type Output = Response;

    // Combinators rather than an `async fn`, which would hold a second copy of the request
    // for as long as the inner endpoint runs.
    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        self.inner.call(req).then(|answered| async move {
            let response = match answered {
                Ok(output) => output.into_response(),
                Err(err) => err.into_response(),
            };
            Ok(as_json(response).await)
        })
    }
}

/// An error response whose body is not JSON gets the JSON error body, keeping its text.
async fn as_json(mut response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = response.take_body().into_string().await.unwrap_or_default();
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let body = ErrorBody::new(code_for(status.as_u16()), message);
    response.headers_mut().insert(
        CONTENT_TYPE,
        poem::http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
        .headers_mut()
        .remove(poem::http::header::CONTENT_LENGTH);
    response.set_body(body.to_json_string());
    response
}
