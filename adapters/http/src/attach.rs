//! Attaches a value every handler may read (`Data<&T>`) to each request as it enters.
//!
//! The framework's own `data` middleware is an `async fn` that holds a copy of the request
//! beside the inner endpoint's for as long as the request runs; this one hands back the inner
//! endpoint's future itself, so attaching costs nothing per request in flight.

use std::future::Future;

use poem::{Endpoint, Middleware, Request, Result};

/// The middleware: a clone of the value goes into each request's extensions.
pub struct Attach<T>(pub T);

impl<E: Endpoint, T: Clone + Send + Sync + 'static> Middleware<E> for Attach<T> {
    type Output = AttachEndpoint<E, T>;

    fn transform(&self, ep: E) -> Self::Output {
        AttachEndpoint {
            inner: ep,
            value: self.0.clone(),
        }
    }
}

pub struct AttachEndpoint<E, T> {
    inner: E,
    value: T,
}

impl<E: Endpoint, T: Clone + Send + Sync + 'static> Endpoint for AttachEndpoint<E, T> {
    type Output = E::Output;

    fn call(&self, mut req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        req.extensions_mut().insert(self.value.clone());
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use poem::handler;
    use poem::test::TestClient;
    use poem::web::Data;
    use poem::EndpointExt;

    use super::*;

    #[handler]
    fn read(Data(value): Data<&u32>) -> String {
        value.to_string()
    }

    #[tokio::test]
    async fn the_handler_reads_the_attached_value() {
        let app = read.with(Attach(7_u32));
        let response = TestClient::new(app).get("/").send().await;
        response.assert_status_is_ok();
        response.assert_text("7").await;
    }
}
