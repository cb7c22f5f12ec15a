//! The core's [`Timer`] on the tokio runtime.

use std::time::Duration;

use futures::future::BoxFuture;
use whatsapp_agent::ports::Timer;

pub struct TokioTimer;

impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}
