//! What the HTTP handlers share: the use case, the HTTP-level limits and the streaming tasks.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use whatsapp_agent::access::Access;
use whatsapp_agent::inbox::Inbox;
use whatsapp_agent::rights::Rights;
use whatsapp_agent::staff::Staff;
use whatsapp_agent::ChatService;

use crate::proxies::TrustedProxies;
use crate::rate_limit::{RateLimitSettings, RequestLimits};

/// Limits that belong to the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub body_limit_bytes: usize,
    /// Interval of keep-alive comments on an idle stream.
    pub stream_keep_alive: Duration,
    /// Replies that may stream at once; more get 503.
    pub max_streams: usize,
    /// Browser origins allowed to call the API (CORS); `*` allows any; empty sends no CORS
    /// headers at all.
    pub cors_allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-*` headers are believed; from others they are ignored.
    pub trusted_proxies: TrustedProxies,
    /// Time a client has to send a whole request body; slower bodies get 408.
    pub body_read_timeout: Duration,
    /// Request rates per credential and per chat user.
    pub rate_limits: RateLimitSettings,
}

/// Shared state, handed to handlers through poem's `Data` extractor.
#[derive(Clone)]
pub struct AppState {
    pub chat: ChatService,
    /// Checks every request's credential.
    pub access: Access,
    pub http: HttpSettings,
    /// The request rate limiters of this instance.
    pub limits: Arc<RequestLimits>,
    /// Free permits = streams that may still start.
    pub streams: Arc<Semaphore>,
    /// Generation tasks that outlive their connections; shutdown waits for them.
    pub tasks: TaskTracker,
    /// Cancelled when the server starts shutting down: endless streams (the staff feed) end
    /// then, so they do not hold the shutdown until its deadline.
    pub stopping: CancellationToken,
    /// The messaging channel's inbox, when one is wired.
    pub inbox: Option<Inbox>,
    /// `GET /metrics`, when a metrics registry is wired.
    pub metrics: Option<MetricsExport>,
    /// Export and erasure of a user's data, when a store for them is wired.
    pub rights: Option<Rights>,
    /// The staff operations, when wired; without them staff endpoints answer 503.
    pub staff: Option<Staff>,
}

/// Renders the metrics registry in Prometheus text format.
pub type RenderMetrics = Arc<dyn Fn() -> BoxFuture<'static, String> + Send + Sync>;

/// What `GET /metrics` serves, and the bearer token it asks for, if any.
#[derive(Clone)]
pub struct MetricsExport {
    pub render: RenderMetrics,
    pub token: Option<String>,
}

impl AppState {
    pub fn new(chat: ChatService, access: Access, http: HttpSettings) -> Self {
        Self {
            access,
            limits: Arc::new(RequestLimits::new(&http.rate_limits)),
            streams: Arc::new(Semaphore::new(http.max_streams)),
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
            inbox: None,
            metrics: None,
            rights: None,
            staff: None,
            chat,
            http,
        }
    }

    /// Serves `GET /metrics` from `export`.
    pub fn with_metrics(mut self, export: MetricsExport) -> Self {
        self.metrics = Some(export);
        self
    }

    /// Serves the staff endpoints through `staff`.
    pub fn with_staff(mut self, staff: Staff) -> Self {
        self.staff = Some(staff);
        self
    }

    /// Serves `GET /users/{user}/export` and `DELETE /users/{user}` through `rights`.
    pub fn with_rights(mut self, rights: Rights) -> Self {
        self.rights = Some(rights);
        self
    }

    /// Serves the messaging webhooks through `inbox`.
    pub fn with_inbox(mut self, inbox: Inbox) -> Self {
        self.inbox = Some(inbox);
        self
    }
}
