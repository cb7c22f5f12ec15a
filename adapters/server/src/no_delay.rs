//! Every accepted connection sends what is written to it at once (`TCP_NODELAY`).
//!
//! A streamed reply is many small writes: the response head, then one Server-Sent Event per
//! piece of text. With Nagle's algorithm a small write waits while an earlier one is not yet
//! acknowledged, and clients delay their acknowledgements (40 ms on Linux), so a model's first
//! delta that comes soon after the head reached the client up to 40 ms late. The HTTP server
//! already gathers each response's head and body into as few writes as it can, so nothing is
//! lost by sending them at once.

use std::future::Future;
use std::io;

use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::net::TcpStream;

/// An acceptor whose TCP connections have Nagle's algorithm off.
pub struct NoDelay<A>(pub A);

impl<A: Acceptor<Io = TcpStream>> Acceptor for NoDelay<A> {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    fn accept(
        &mut self,
    ) -> impl Future<Output = io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)>>
           + Send {
        let accepted = self.0.accept();
        async move {
            let (io, local, remote, scheme) = accepted.await?;
            // A connection that cannot take the option still works, only slower to stream.
            if let Err(error) = io.set_nodelay(true) {
                tracing::debug!(%error, "TCP_NODELAY not set");
            }
            Ok((io, local, remote, scheme))
        }
    }
}

#[cfg(test)]
mod tests {
    use poem::listener::TcpAcceptor;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_send_small_writes_at_once() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut acceptor = NoDelay(TcpAcceptor::from_tokio(listener).expect("acceptor"));

        let _client = TcpStream::connect(addr).await.expect("connect");
        let (io, ..) = acceptor.accept().await.expect("accept");

        assert!(io.nodelay().expect("socket option"));
    }
}
