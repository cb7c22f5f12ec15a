//! `TwilioMessenger`: sends replies through Twilio's Messages REST API, split to the body limit,
//! part after part, retrying only what is safe to retry.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use whatsapp_agent::ports::{Messenger, MessengerError, OutboundMessage, OutboundPart};

use crate::list::{self, Found};
use crate::rest::{self, Attempt};
use crate::retry;
use crate::split::{split_body, MAX_BODY_CHARS};

/// Where and how to send. The auth token is a secret: `Debug` never shows it.
#[derive(Clone, Debug)]
pub struct TwilioMessengerSettings {
    /// `https://api.twilio.com`, or a fake in tests. No trailing slash needed.
    pub api_base_url: String,
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The sender, E.164 (`+14155238886`); sent as `whatsapp:<number>`.
    pub from_number: String,
    /// Sent as `StatusCallback` with every part, when set.
    pub status_callback_url: Option<String>,
    /// Extra attempts per part after the first, for rate limits, 5xx and refused connections.
    pub max_retries: u32,
    /// First backoff delay; doubles each attempt, with jitter.
    pub retry_base_delay: Duration,
    /// Longest wait between attempts; a longer `Retry-After` ends the send with a temporary
    /// error instead.
    pub max_retry_delay: Duration,
    pub connect_timeout: Duration,
    /// Time allowed for one request, response included.
    pub request_timeout: Duration,
}

impl TwilioMessengerSettings {
    /// Twilio's production API with defaults: 3 retries from 500 ms, waits up to 20 s,
    /// 5 s to connect, 15 s per request.
    pub fn new(
        account_sid: impl Into<String>,
        auth_token: impl Into<SecretString>,
        from_number: impl Into<String>,
    ) -> Self {
        Self {
            api_base_url: "https://api.twilio.com".into(),
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            from_number: from_number.into(),
            status_callback_url: None,
            max_retries: 3,
            retry_base_delay: Duration::from_millis(500),
            max_retry_delay: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
        }
    }

    /// `POST` target for creating messages.
    pub fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_base_url.trim_end_matches('/'),
            self.account_sid
        )
    }
}

/// Messages listed per page when looking for a part already sent.
const LIST_PAGE_SIZE: u32 = 50;
/// Pages read at most: a part is looked for among recent messages only.
const LIST_MAX_PAGES: usize = 4;

/// Twilio WhatsApp as a [`Messenger`].
///
/// A body longer than 1600 characters is split ([`crate::split::split_body`]) and the parts
/// are sent one after the other, each after the previous one was accepted (201). Parts before
/// `OutboundMessage::skip_parts` are not sent; the ids returned, and the `sent` lists of
/// errors, are those of the parts this call delivered. Media go with the first part.
#[derive(Debug)]
pub struct TwilioMessenger {
    client: reqwest::Client,
    settings: TwilioMessengerSettings,
}

impl TwilioMessenger {
    /// # Errors
    /// When the HTTP client cannot be built (TLS backend failure).
    pub fn new(settings: TwilioMessengerSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            // A redirected POST would become a GET; the API does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("whatsapp-agent/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, settings })
    }

    /// Sends one part, retrying what is safe to retry; `sent` only fills in errors.
    async fn post_part(
        &self,
        form: &[(&str, &str)],
        part: usize,
        parts: usize,
        sent: &[String],
    ) -> Result<String, MessengerError> {
        let s = &self.settings;
        let url = s.messages_url();
        let mut attempt = 0;
        loop {
            let request = self
                .client
                .post(&url)
                .basic_auth(&s.account_sid, Some(s.auth_token.expose_secret()));
            match rest::create_message(request, form).await {
                Attempt::Created(sid) => return Ok(sid),
                Attempt::Refused { message, code } => {
                    return Err(MessengerError::Permanent {
                        message,
                        code,
                        sent: sent.to_vec(),
                    })
                }
                Attempt::Unknown(message) => {
                    return Err(MessengerError::Temporary {
                        message,
                        sent: sent.to_vec(),
                    })
                }
                Attempt::Retry {
                    message,
                    retry_after,
                } => {
                    let Some(wait) = retry::delay_before_retry(
                        attempt,
                        s.max_retries,
                        s.retry_base_delay,
                        s.max_retry_delay,
                        retry_after,
                    ) else {
                        return Err(MessengerError::Temporary {
                            message,
                            sent: sent.to_vec(),
                        });
                    };
                    tracing::warn!(
                        part = part + 1,
                        parts,
                        attempt = attempt + 1,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "Twilio send failed, retrying: {message}"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

impl TwilioMessenger {
    /// The form for one part: media go with the first part only.
    fn form<'a>(
        &'a self,
        to: &'a str,
        from: &'a str,
        part: &'a OutboundPart,
    ) -> Vec<(&'a str, &'a str)> {
        let mut form = vec![("To", to), ("From", from)];
        if !part.body.is_empty() {
            form.push(("Body", part.body.as_str()));
        }
        form.extend(part.media_urls.iter().map(|u| ("MediaUrl", u.as_str())));
        if let Some(callback) = &self.settings.status_callback_url {
            form.push(("StatusCallback", callback.as_str()));
        }
        form
    }

    /// One page of the Messages list, from `url`.
    async fn list_page(&self, url: &str) -> Result<list::Page, MessengerError> {
        let s = &self.settings;
        let temporary = |message: String| MessengerError::Temporary {
            message,
            sent: Vec::new(),
        };
        let response = self
            .client
            .get(url)
            .basic_auth(&s.account_sid, Some(s.auth_token.expose_secret()))
            .send()
            .await
            .map_err(|e| temporary(format!("cannot list Twilio messages: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(temporary(format!(
                "listing Twilio messages answered HTTP {}",
                status.as_u16()
            )));
        }
        response
            .json::<list::Page>()
            .await
            .map_err(|e| temporary(format!("unreadable Twilio message list: {e}")))
    }
}

/// `whatsapp:<address>`, unless it already has the prefix.
fn whatsapp_address(address: &str) -> String {
    let address = address.trim();
    if address
        .get(..9)
        .is_some_and(|p| p.eq_ignore_ascii_case("whatsapp:"))
    {
        address.to_string()
    } else {
        format!("whatsapp:{address}")
    }
}

#[async_trait]
impl Messenger for TwilioMessenger {
    fn label(&self) -> String {
        "twilio".into()
    }

    fn split(&self, body: &str) -> Vec<String> {
        split_body(body, MAX_BODY_CHARS)
    }

    async fn send_part(&self, part: &OutboundPart) -> Result<String, MessengerError> {
        let to = whatsapp_address(&part.to);
        let from = whatsapp_address(&self.settings.from_number);
        let form = self.form(&to, &from, part);
        self.post_part(&form, 0, 1, &[]).await
    }

    async fn find_sent(
        &self,
        to: &str,
        body: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, MessengerError> {
        let s = &self.settings;
        let base = s.api_base_url.trim_end_matches('/');
        let query = [
            ("To", whatsapp_address(to)),
            ("From", whatsapp_address(&s.from_number)),
            ("PageSize", LIST_PAGE_SIZE.to_string()),
        ];
        let mut url = reqwest::Url::parse_with_params(&s.messages_url(), &query)
            .map_err(|e| MessengerError::Temporary {
                message: format!("bad Twilio list URL: {e}"),
                sent: Vec::new(),
            })?
            .to_string();
        for _ in 0..LIST_MAX_PAGES {
            let page = self.list_page(&url).await?;
            match list::find(&page, body, since) {
                Found::Sid(sid) => return Ok(Some(sid)),
                Found::Absent => return Ok(None),
                Found::ReadOn => {}
            }
            match page.next_page_uri.as_deref().filter(|u| !u.is_empty()) {
                Some(next) => url = format!("{base}{next}"),
                None => return Ok(None),
            }
        }
        Err(MessengerError::Temporary {
            message: format!(
                "more than {} messages to this recipient since the attempt; cannot tell",
                LIST_MAX_PAGES * LIST_PAGE_SIZE as usize
            ),
            sent: Vec::new(),
        })
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        let mut bodies = split_body(&message.body, MAX_BODY_CHARS);
        if bodies.is_empty() {
            if message.media_urls.is_empty() {
                return Err(MessengerError::Permanent {
                    message: "nothing to send: empty body and no media".into(),
                    code: None,
                    sent: Vec::new(),
                });
            }
            bodies.push(String::new());
        }
        let to = whatsapp_address(&message.to);
        let from = whatsapp_address(&self.settings.from_number);
        // Splitting is deterministic, so parts sent by an earlier attempt are the first ones.
        let mut sent = Vec::with_capacity(bodies.len());
        for (index, body) in bodies.iter().enumerate().skip(message.skip_parts) {
            let mut form = vec![("To", to.as_str()), ("From", from.as_str())];
            if !body.is_empty() {
                form.push(("Body", body.as_str()));
            }
            // Media go with the first part, so they arrive next to the start of the reply (and
            // are not sent again when that part was skipped).
            if index == 0 {
                form.extend(message.media_urls.iter().map(|u| ("MediaUrl", u.as_str())));
            }
            if let Some(callback) = &self.settings.status_callback_url {
                form.push(("StatusCallback", callback.as_str()));
            }
            let sid = self.post_part(&form, index, bodies.len(), &sent).await?;
            sent.push(sid);
        }
        Ok(sent)
    }
}
