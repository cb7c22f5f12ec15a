//! CORS for browser apps that call the chat API directly, when origins are configured.
//!
//! Without configured origins requests pass straight to the inner endpoint. With them, the
//! framework's CORS endpoint answers, its (larger) future boxed, so that a deployment without
//! CORS does not carry its space in every request in flight.

use std::future::Future;

use futures::future::{BoxFuture, Either};
use futures::FutureExt;
use poem::http::Method;
use poem::middleware::{Cors, CorsEndpoint};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// The middleware: CORS for `origins` (`*` for any); none when the list is empty.
pub struct OptionalCors(Option<Cors>);

impl OptionalCors {
    pub fn new(origins: &[String]) -> Self {
        if origins.is_empty() {
            return Self(None);
        }
        let cors = Cors::new()
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers(["content-type", "accept", "last-event-id", "authorization"])
            .max_age(600);
        Self(Some(if origins.iter().any(|o| o == "*") {
            cors
        } else {
            cors.allow_origins(origins.iter().map(String::as_str))
        }))
    }
}

impl<E: Endpoint> Middleware<E> for OptionalCors {
    type Output = OptionalCorsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        match &self.0 {
            Some(cors) => OptionalCorsEndpoint::With(Box::new(cors.transform(ep))),
            None => OptionalCorsEndpoint::Without(ep),
        }
    }
}

pub enum OptionalCorsEndpoint<E> {
    Without(E),
    With(Box<CorsEndpoint<E>>),
}

impl<E: Endpoint> Endpoint for OptionalCorsEndpoint<E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        match self {
            Self::Without(inner) => {
                Either::Left(inner.call(req).map(|r| r.map(IntoResponse::into_response)))
            }
            Self::With(cors) => {
                let answering: BoxFuture<'_, Result<Response>> = Box::pin(cors.call(req));
                Either::Right(answering)
            }
        }
    }
}
