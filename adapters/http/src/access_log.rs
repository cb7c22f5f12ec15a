//! One log line per request: method, path, client address, status and latency. Query strings are left out
//! because webhook queries carry phone numbers and message text. The same figures feed the
//! request metrics, labelled by route template rather than path so ids do not multiply series.

use std::future::Future;
use std::time::Instant;

use futures::FutureExt;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument;

use crate::allow::AllowedMethods;
use crate::proxies::TrustedProxies;

/// The routes (for templates) and the proxies whose `X-Forwarded-For` names the client.
pub struct AccessLog(pub AllowedMethods, pub TrustedProxies);

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AccessLogEndpoint {
            inner: ep,
            routes: self.0.clone(),
            proxies: self.1.clone(),
        }
    }
}

pub struct AccessLogEndpoint<E> {
    inner: E,
    routes: AllowedMethods,
    proxies: TrustedProxies,
}

/// Methods recorded as themselves; any other is `other`, so a client cannot mint series.
fn method_label(method: &poem::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    // Built from combinators rather than as an `async fn`: an `async fn` keeps its own copy of
    // the request beside the inner future's, and every request in flight pays for it.
    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        let method = req.method().clone();
        // The peer, or the client a trusted proxy names; a header from anyone else is ignored.
        let client = self.proxies.client_addr(&req).unwrap_or_default();
        let path = req.uri().path().to_string();
        // A trailing slash is served as the same route (`/chat/` is `/chat`).
        let trimmed = path.trim_end_matches('/');
        let route = self
            .routes
            .template(if trimmed.is_empty() { "/" } else { trimmed })
            .unwrap_or("unmatched")
            .to_string();
        // A path that names a user (`/users/+14155550100/export`) is logged as its template:
        // the access log must not keep the number of a user who may ask to be erased.
        let path = if route.contains("{user}") {
            route.clone()
        } else {
            path
        };
        let method_name = method_label(&method);
        // The request's span: route template and status, and the conversation when a handler
        // knows it. Never the query string, a phone number or a body.
        let span = tracing::info_span!(
            "request",
            otel.name = format!("{method_name} {route}"),
            otel.kind = "server",
            http.request.method = method_name,
            http.route = %route,
            http.response.status_code = tracing::field::Empty,
            conversation = tracing::field::Empty,
        );
        let started = Instant::now();
        let answering = self.inner.call(req).instrument(span.clone());
        answering.map(move |answered| {
            let response = match answered {
                Ok(output) => output.into_response(),
                Err(err) => err.into_response(),
            };
            let status = response.status().as_u16();
            span.record("http.response.status_code", status);
            let elapsed = started.elapsed().as_secs_f64();
            let latency_ms = elapsed * 1000.0;
            let labels = [
                ("method", method_name.to_string()),
                ("route", route),
                ("status", status.to_string()),
            ];
            metrics::counter!("http_server_requests_total", &labels).increment(1);
            metrics::histogram!("http_server_request_duration_seconds", &labels).record(elapsed);
            tracing::info!(
                target: "access",
                %method,
                %path,
                %client,
                status,
                latency_ms = format_args!("{latency_ms:.2}"),
                "request"
            );
            Ok(response)
        })
    }
}
