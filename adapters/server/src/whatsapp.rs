//! Wires the WhatsApp channel: signature checks and parsing, the messenger (real, or logging
//! when no credentials are configured), media downloads and the inbound worker.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use wa_offline::LoggingMessenger;
use wa_sql::SqlStore;
use whatsapp_agent::inbox::{InboundWorker, Inbox};
use whatsapp_agent::ports::{MediaFetcher, Messenger};
use whatsapp_agent::ChatService;

use crate::media_router::MediaRouter;
use crate::settings::Settings;

/// The parts of the WhatsApp channel the application runs.
pub struct WhatsApp {
    pub inbox: Inbox,
    pub worker: InboundWorker,
    /// The worker's messenger, which also sends the team's replies.
    pub messenger: Arc<dyn Messenger>,
    pub workers: usize,
    pub poll: Duration,
}

/// Media fetching: provider media with the account's credentials, the rest through the
/// guarded HTTP fetcher.
///
/// # Errors
/// When an HTTP client cannot be built.
pub fn media(settings: &Settings) -> anyhow::Result<Arc<dyn MediaFetcher>> {
    let general = wa_media::HttpMediaFetcher::new(settings.media_settings())
        .context("cannot build the media HTTP client")?;
    let provider: Option<Box<dyn MediaFetcher>> = match settings.twilio.credentials() {
        Some((sid, token)) => {
            let mut media = wa_twilio::TwilioMediaSettings::new(sid, token);
            media.allowed_hosts = settings.twilio.media_hosts.clone();
            media.not_found_retry_delays = settings
                .twilio
                .media_not_found_retry_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect();
            media.max_image_bytes = settings.media.max_image_bytes;
            media.max_audio_bytes = settings.media.max_audio_bytes;
            Some(Box::new(
                wa_twilio::TwilioMediaFetcher::new(media)
                    .context("cannot build the provider media client")?,
            ))
        }
        None => None,
    };
    Ok(Arc::new(MediaRouter {
        general: Box::new(general),
        provider_hosts: settings.twilio.media_hosts.clone(),
        provider,
    }))
}

/// Builds the inbox and worker.
///
/// # Errors
/// When the messenger's HTTP client cannot be built.
pub fn build(
    settings: &Settings,
    chat: ChatService,
    store: Arc<SqlStore>,
) -> anyhow::Result<WhatsApp> {
    let t = &settings.twilio;
    let token = t.auth_token.clone().unwrap_or_else(|| String::new().into());
    if t.public_base_url().is_none() {
        tracing::warn!(
            "PUBLIC_BASE_URL not set: webhook signatures are checked against the Host the request \
             arrived at (set it when behind a proxy), and no delivery status callbacks are requested"
        );
    }
    let mut channel =
        wa_twilio::TwilioChannelSettings::new(t.public_base_url().unwrap_or_default(), token);
    channel
        .secondary_auth_token
        .clone_from(&t.secondary_auth_token);
    channel.validate_signatures = t.validate_signatures;
    if !t.validate_signatures {
        tracing::warn!(
            "twilio.validate_signatures=false: webhooks are accepted WITHOUT signature checks"
        );
    } else if t.auth_token.is_none() {
        tracing::warn!("no TWILIO_AUTH_TOKEN: every webhook will be refused with 403");
    }
    let messenger: Arc<dyn Messenger> = match (t.credentials(), &t.phone_number) {
        (Some((sid, token)), Some(number)) if !number.trim().is_empty() => {
            let mut m = wa_twilio::TwilioMessengerSettings::new(sid, token, number.trim());
            m.api_base_url = t.api_base_url.clone();
            m.max_retries = t.max_send_retries;
            m.request_timeout = Duration::from_millis(t.request_timeout_ms);
            if t.status_callbacks {
                m.status_callback_url = t
                    .public_base_url()
                    .map(|base| format!("{base}/webhook/status"));
            }
            Arc::new(wa_twilio::TwilioMessenger::new(m).context("cannot build the messenger")?)
        }
        _ => {
            tracing::warn!(
                "TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN/TWILIO_PHONE_NUMBER not all set: WhatsApp replies are logged, not sent"
            );
            Arc::new(LoggingMessenger::default())
        }
    };
    let messenger: Arc<dyn Messenger> = Arc::new(crate::metrics::MeteredMessenger(messenger));
    let w = &settings.worker;
    tracing::info!(messenger = %messenger.label(), workers = w.concurrency, "WhatsApp channel ready");
    let worker = InboundWorker::new(
        chat,
        store.clone(),
        store.clone(),
        Arc::clone(&messenger),
        w.worker_config(),
    );
    Ok(WhatsApp {
        inbox: Inbox::new(
            Arc::new(wa_twilio::TwilioChannel::new(channel)),
            store.clone(),
            store.clone(),
        )
        .with_job_board(store)
        .with_message_span(crate::traces::message_span()),
        worker,
        messenger,
        workers: w.concurrency,
        poll: Duration::from_millis(w.poll_interval_ms),
    })
}
