//! One log line per request: method, path, status and latency. Query strings are left out
//! because webhook queries carry phone numbers and message text.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

pub struct AccessLog;

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AccessLogEndpoint { inner: ep }
    }
}

pub struct AccessLogEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let started = Instant::now();
        let response = match self.inner.call(req).await {
            Ok(output) => output.into_response(),
            Err(err) => err.into_response(),
        };
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(
            target: "access",
            %method,
            %path,
            status,
            latency_ms = format_args!("{latency_ms:.2}"),
            "request"
        );
        Ok(response)
    }
}
