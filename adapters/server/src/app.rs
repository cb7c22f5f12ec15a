//! `Application`: builds every adapter from settings, binds the listener and serves until a
//! shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use poem::listener::TcpAcceptor;
use poem::Server;
use wa_http::{AppState, HttpSettings};
use wa_offline::OfflineLlm;
use wa_sql::SqlStore;
use whatsapp_agent::access::Access;
use whatsapp_agent::ports::LlmPort;
use whatsapp_agent::rights::Rights;
use whatsapp_agent::staff::Staff;
use whatsapp_agent::ChatService;

use crate::header_timeout::HeaderTimeout;
use crate::no_delay::NoDelay;
use crate::settings::{LlmProvider, Settings};

/// A built, bound, not yet serving application.
pub struct Application {
    addr: SocketAddr,
    acceptor: HeaderTimeout<NoDelay<TcpAcceptor>>,
    state: AppState,
    whatsapp: crate::whatsapp::WhatsApp,
    retention: crate::retention::Retention,
    shutdown_timeout: Duration,
}

/// Picks the language model. The offline echo model is only used when nothing else is
/// configured, and start-up says so loudly.
fn select_llm(settings: &Settings) -> anyhow::Result<Arc<dyn LlmPort>> {
    let llm = &settings.llm;
    let configured = llm.api_key.is_some() || llm.base_url.is_some();
    let offline = || -> Arc<dyn LlmPort> {
        Arc::new(OfflineLlm::new(Duration::from_millis(
            llm.offline_word_delay_ms,
        )))
    };
    match (llm.provider, configured) {
        (LlmProvider::Offline, _) => {
            tracing::warn!("llm.provider=offline: replies come from the local echo model, not an AI");
            Ok(offline())
        }
        (LlmProvider::Auto, false) => {
            tracing::warn!(
                "no OPENAI_API_KEY or OPENAI_BASE_URL set: replies come from the offline echo model \
                 (prefixed [offline]), not an AI"
            );
            Ok(offline())
        }
        (LlmProvider::Openai, false) => anyhow::bail!(
            "configuration error: llm.provider=openai needs llm.api_key (OPENAI_API_KEY) or llm.base_url (OPENAI_BASE_URL)"
        ),
        (LlmProvider::Openai | LlmProvider::Auto, true) => {
            let openai = settings.openai_settings();
            tracing::info!(base_url = %openai.base_url, model = %openai.model, "using an OpenAI-compatible model server");
            Ok(Arc::new(
                wa_openai::OpenAiClient::new(openai).context("cannot build the model HTTP client")?,
            ))
        }
    }
}

impl Application {
    /// Connects to the database, applies migrations, wires the adapters and binds the listener.
    ///
    /// # Errors
    /// Any failure to connect, migrate, select an adapter or bind; the message names the part.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let llm = select_llm(&settings)?;
        Self::build_with_llm(settings, llm).await
    }

    /// Like [`Application::build`], with the language model supplied by the caller (tests use
    /// this to put a failing or scripted model behind the real HTTP and SQL adapters).
    ///
    /// # Errors
    /// Any failure to connect, migrate or bind; the message names the part.
    pub async fn build_with_llm(settings: Settings, llm: Arc<dyn LlmPort>) -> anyhow::Result<Self> {
        let llm: Arc<dyn LlmPort> = Arc::new(crate::metrics::MeteredLlm(llm));
        let db = wa_sql::connect(&settings.db_settings())
            .await
            .with_context(|| {
                format!("cannot open database {}", settings.database.redacted_url())
            })?;
        wa_sql::migrate(&db)
            .await
            .context("cannot apply database migrations")?;
        let store = Arc::new(SqlStore::new(db));
        let metrics = crate::metrics::export(
            store.clone(),
            settings
                .server
                .metrics_token
                .as_ref()
                .map(|t| secrecy::ExposeSecret::expose_secret(t).to_string()),
        );
        tracing::info!(
            database = %settings.database.redacted_url(),
            llm = %llm.label(),
            "adapters ready"
        );
        if settings.media.allow_private_networks {
            tracing::warn!("media.allow_private_networks=true: user URLs may reach internal hosts");
        }
        let media = crate::whatsapp::media(&settings)?;
        let chat = ChatService::new(
            Arc::new(crate::traced_store::TracedTurnStore(store.clone())),
            store.clone(),
            llm,
            media,
            settings.chat_config(),
            settings.agents_config(),
        )
        .with_turn_wait(
            settings.limits.turn_wait(),
            Arc::new(crate::tokio_timer::TokioTimer),
        );
        let whatsapp = crate::whatsapp::build(&settings, chat.clone(), store.clone())?;
        let access = Access::new(store.clone(), settings.access_config());
        let staff = Staff::new(store.clone(), store.clone())
            .with_messenger(Arc::clone(&whatsapp.messenger))
            .with_job_board(store.clone());
        let rights = Rights::new(store.clone());
        let retention = crate::retention::Retention {
            rights: rights.clone(),
            leases: store.clone(),
            settings: settings.privacy.clone(),
        };
        if settings.auth.allow_anonymous {
            tracing::warn!(
                "auth.allow_anonymous=true: requests without a credential may do anything; allowed only because the service listens on loopback"
            );
        }
        let state = AppState::new(
            chat,
            access,
            HttpSettings {
                body_limit_bytes: settings.server.body_limit_bytes,
                stream_keep_alive: Duration::from_secs(settings.stream.keep_alive_secs),
                max_streams: settings.stream.max_concurrent,
                cors_allowed_origins: settings.server.cors_allowed_origins.clone(),
                trusted_proxies: settings.server.trusted_proxies(),
                body_read_timeout: settings.server.body_read_timeout(),
                rate_limits: wa_http::RateLimitSettings {
                    per_key_per_minute: settings.limits.per_key_per_minute,
                    per_key_burst: settings.limits.per_key_burst,
                    per_user_per_minute: settings.limits.per_user_per_minute,
                    per_user_burst: settings.limits.per_user_burst,
                },
            },
        )
        .with_staff(staff)
        .with_inbox(whatsapp.inbox.clone())
        .with_rights(rights);
        let state = match metrics {
            Some(export) => state.with_metrics(export),
            None => state,
        };
        let listener =
            tokio::net::TcpListener::bind((settings.server.host.as_str(), settings.server.port))
                .await
                .with_context(|| {
                    format!(
                        "cannot listen on {}:{}",
                        settings.server.host, settings.server.port
                    )
                })?;
        let addr = listener.local_addr()?;
        let acceptor = HeaderTimeout::new(
            NoDelay(TcpAcceptor::from_tokio(listener)?),
            settings.server.header_read_timeout(),
        );
        Ok(Self {
            addr,
            acceptor,
            state,
            whatsapp,
            retention,
            shutdown_timeout: Duration::from_secs(settings.server.shutdown_timeout_secs),
        })
    }

    /// The bound address; with port 0 in settings this is the port the OS picked.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` completes, then lets running requests and streamed replies
    /// finish within the configured shutdown timeout.
    ///
    /// # Errors
    /// I/O errors of the listener.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        tracing::info!(addr = %self.addr, "listening");
        let tasks = self.state.tasks.clone();
        let stop_workers = tokio_util::sync::CancellationToken::new();
        let workers = tokio_util::task::TaskTracker::new();
        crate::workers::spawn(
            &self.whatsapp.worker,
            self.whatsapp.workers,
            self.whatsapp.poll,
            &stop_workers,
            &workers,
        );
        self.retention.spawn(&stop_workers, &workers);
        let signalled = Arc::new(OnceLock::new());
        let shutdown = {
            let signalled = Arc::clone(&signalled);
            let stopping = self.state.stopping.clone();
            async move {
                shutdown.await;
                let _ = signalled.set(Instant::now());
                stopping.cancel();
            }
        };
        // The inbox page is static and public (it holds no data; the API it calls checks the
        // key), so it sits beside the API rather than behind the API's middleware.
        let app = poem::Route::new()
            .nest("/inbox", wa_inbox::endpoint())
            .nest("/", wa_http::routes(self.state));
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, shutdown, Some(self.shutdown_timeout))
            .await;
        // Workers stop claiming; the jobs in hand and replies whose clients left get what is
        // left of the shutdown window. An unfinished job is claimed again after its lease.
        stop_workers.cancel();
        workers.close();
        tasks.close();
        let used = signalled.get().map_or(Duration::ZERO, Instant::elapsed);
        let remaining = self.shutdown_timeout.saturating_sub(used);
        if tokio::time::timeout(remaining, async {
            tokio::join!(tasks.wait(), workers.wait())
        })
        .await
        .is_err()
        {
            tracing::warn!(
                pending = tasks.len(),
                "shutdown deadline passed with replies still generating"
            );
        }
        served
    }
}

/// Completes on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing running requests");
}
