//! A deadline for request bodies: a client that trickles its body cannot hold a connection
//! and a handler for longer than the body read timeout. Its request gets 408 with the JSON
//! error body, and the connection is closed.
//!
//! The body is wrapped so that reading it fails once the deadline passes; whatever the
//! operation then answered (it saw an unreadable body) is replaced by the 408, so every
//! operation behaves alike without each knowing about the timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::Either;
use futures::{FutureExt, Stream};
use poem::http::{header, StatusCode};
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tokio::time::{Instant, Sleep};

use poem_openapi::types::ToJSON;

use crate::error::ErrorBody;

/// The middleware: bodies must arrive whole within the given time from the request's start.
pub struct BodyDeadline(pub Duration);

impl<E: Endpoint> Middleware<E> for BodyDeadline {
    type Output = BodyDeadlineEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyDeadlineEndpoint {
            inner: ep,
            timeout: self.0,
        }
    }
}

pub struct BodyDeadlineEndpoint<E> {
    inner: E,
    timeout: Duration,
}

/// Whether the request says it has a body.
fn has_body(req: &Request) -> bool {
    let declared = req
        .header(header::CONTENT_LENGTH)
        .and_then(|v| v.trim().parse::<u64>().ok());
    declared.is_some_and(|len| len > 0) || req.header(header::TRANSFER_ENCODING).is_some()
}

impl<E: Endpoint> Endpoint for BodyDeadlineEndpoint<E> {
    type Output = Response;

    // Combinators, not an `async fn`: no second copy of the request while the inner runs.
    fn call(&self, mut req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        if !has_body(&req) {
            return Either::Left(
                self.inner
                    .call(req)
                    .map(|r| r.map(IntoResponse::into_response)),
            );
        }
        let expired = Arc::new(AtomicBool::new(false));
        let body = TimedBody {
            inner: Box::pin(req.take_body().into_bytes_stream()),
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + self.timeout)),
            expired: Arc::clone(&expired),
            done: false,
        };
        req.set_body(Body::from_bytes_stream(body));
        let timeout = self.timeout;
        Either::Right(self.inner.call(req).map(move |answered| {
            if expired.load(Ordering::Acquire) {
                return Ok(timed_out(timeout));
            }
            answered.map(IntoResponse::into_response)
        }))
    }
}

fn timed_out(timeout: Duration) -> Response {
    let body = ErrorBody::new(
        "request_timeout",
        format!(
            "the request body did not arrive within {} s",
            timeout.as_secs()
        ),
    );
    Response::builder()
        .status(StatusCode::REQUEST_TIMEOUT)
        .header(header::CONNECTION, "close")
        .content_type("application/json; charset=utf-8")
        .body(body.to_json_string())
}

/// The request body, failing with `TimedOut` once the deadline passes.
struct TimedBody<S> {
    inner: Pin<Box<S>>,
    deadline: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
    done: bool,
}

impl<S, T> Stream for TimedBody<S>
where
    S: Stream<Item = std::io::Result<T>>,
{
    type Item = std::io::Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.done = true;
            self.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            ))));
        }
        let next = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            self.done = true;
        }
        next
    }
}
