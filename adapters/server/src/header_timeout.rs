//! A deadline for request headers, enforced on the connection itself.
//!
//! The HTTP server reads a request's head for as long as the client takes, so a client that
//! opens connections and trickles header bytes ("slowloris") could hold them forever. This
//! acceptor wraps every connection: from the connection's start, and again from the first
//! byte of each later request, the head (up to the blank line that ends it) must arrive
//! within the timeout, or reads fail and the server closes the connection. Body reads are
//! bounded separately, where the body is read (a 408 with the JSON error body).
//!
//! An idle keep-alive connection between requests has no deadline: nothing is being read,
//! and its next request starts a new one. HTTP/2 connections (prior knowledge) are left alone.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// An acceptor whose connections must send each request head within `timeout`.
pub struct HeaderTimeout<A> {
    inner: A,
    timeout: Duration,
}

impl<A> HeaderTimeout<A> {
    pub fn new(inner: A, timeout: Duration) -> Self {
        Self { inner, timeout }
    }
}

impl<A: Acceptor> Acceptor for HeaderTimeout<A> {
    type Io = HeadDeadline<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    fn accept(
        &mut self,
    ) -> impl Future<Output = io::Result<(Self::Io, LocalAddr, RemoteAddr, poem::http::uri::Scheme)>>
           + Send {
        let timeout = self.timeout;
        let accepted = self.inner.accept();
        async move {
            let (io, local, remote, scheme) = accepted.await?;
            Ok((HeadDeadline::new(io, timeout), local, remote, scheme))
        }
    }
}

/// Where the connection is in its current request.
enum Phase {
    /// Reading a head; it must end before the sleep fires.
    Head,
    /// The head has arrived; the body and the response follow.
    Request,
    /// A response was written; the next byte read starts a new head.
    Idle,
    /// Not HTTP/1 (HTTP/2 prior knowledge): no deadline.
    Off,
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// A connection that fails its reads when a request head takes longer than the timeout.
pub struct HeadDeadline<T> {
    inner: T,
    timeout: Duration,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    /// The last bytes of the head so far, to find `\r\n\r\n` across reads.
    tail: [u8; 3],
    /// Bytes read since the connection opened, up to the length of the HTTP/2 preface.
    first: Vec<u8>,
}

impl<T> HeadDeadline<T> {
    fn new(inner: T, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            phase: Phase::Head,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            tail: [0; 3],
            first: Vec::with_capacity(H2_PREFACE.len()),
        }
    }

    /// Follows the bytes just read: a new head starts, or the current one ends.
    fn observe(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.first.len() < H2_PREFACE.len() {
            let take = (H2_PREFACE.len() - self.first.len()).min(bytes.len());
            self.first.extend_from_slice(&bytes[..take]);
            if self.first.len() == H2_PREFACE.len() && self.first == H2_PREFACE {
                self.phase = Phase::Off;
            }
        }
        match self.phase {
            Phase::Off | Phase::Request => return,
            Phase::Idle => {
                self.phase = Phase::Head;
                self.tail = [0; 3];
                self.deadline.as_mut().reset(Instant::now() + self.timeout);
            }
            Phase::Head => {}
        }
        // The blank line may straddle the previous read: look at its last three bytes too.
        let mut joint = [0u8; 6];
        let lead = bytes.len().min(3);
        joint[..3].copy_from_slice(&self.tail);
        joint[3..3 + lead].copy_from_slice(&bytes[..lead]);
        let ends = |w: &[u8]| w == b"\r\n\r\n";
        if joint[..3 + lead].windows(4).any(ends) || bytes.windows(4).any(ends) {
            self.phase = Phase::Request;
        } else if bytes.len() >= 3 {
            self.tail.copy_from_slice(&bytes[bytes.len() - 3..]);
        } else {
            self.tail.copy_from_slice(&joint[lead..lead + 3]);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HeadDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Head) && this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request headers not received in time",
            )));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            this.observe(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HeadDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Request) {
            this.phase = Phase::Idle;
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Request) {
            this.phase = Phase::Idle;
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> HeadDeadline<()> {
        HeadDeadline::new((), Duration::from_secs(10))
    }

    #[tokio::test]
    async fn a_head_ends_at_its_blank_line_even_across_reads() {
        let mut c = conn();

        c.observe(b"GET / HTTP/1.1\r\nHost: x\r\n\r");

        assert!(matches!(c.phase, Phase::Head));
        c.observe(b"\n");
        assert!(matches!(c.phase, Phase::Request));
    }

    #[tokio::test]
    async fn a_head_trickled_byte_by_byte_still_ends() {
        let mut c = conn();

        for byte in b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" {
            assert!(matches!(c.phase, Phase::Head));
            c.observe(&[*byte]);
        }

        assert!(matches!(c.phase, Phase::Request));
    }

    #[tokio::test]
    async fn after_a_response_the_next_request_starts_a_new_head() {
        let mut c = conn();
        c.observe(b"GET / HTTP/1.1\r\n\r\n");
        c.phase = Phase::Idle;

        c.observe(b"GET /again HTTP/1.1\r\n");

        assert!(matches!(c.phase, Phase::Head));
        assert_eq!(&c.tail, b"1\r\n");
    }

    #[tokio::test]
    async fn http2_connections_have_no_deadline() {
        let mut c = conn();

        c.observe(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

        assert!(matches!(c.phase, Phase::Off));
    }
}
