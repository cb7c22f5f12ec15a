//! `TwilioChannel`: the inbound side of Twilio WhatsApp (signature checks, message and
//! status-callback parameters).

use secrecy::{ExposeSecret, SecretString};
use whatsapp_agent::domain::{Media, MediaKind};
use whatsapp_agent::ports::{
    DeliveryStatus, InboundChannel, InboundMessage, StatusUpdate, WebhookError, WebhookRequest,
};

use crate::params;
use crate::signature;

/// Twilio sends at most ten media per message; more `NumMedia` than this is not looked at.
const MAX_MEDIA: usize = 10;

/// How webhooks are verified. The tokens are secrets: `Debug` never shows them.
#[derive(Clone, Debug)]
pub struct TwilioChannelSettings {
    /// The public URL of the service as configured in Twilio, without a trailing slash, e.g.
    /// `https://agent.example.com`. The signed URL is this plus the request's path and query.
    pub public_base_url: String,
    /// The primary Auth Token.
    pub auth_token: SecretString,
    /// The secondary Auth Token during a rotation; signatures made with either are accepted.
    pub secondary_auth_token: Option<SecretString>,
    /// When false, [`InboundChannel::verify`] accepts every request (development only).
    pub validate_signatures: bool,
}

impl TwilioChannelSettings {
    /// Settings that validate signatures with one token.
    pub fn new(public_base_url: impl Into<String>, auth_token: impl Into<SecretString>) -> Self {
        Self {
            public_base_url: public_base_url.into(),
            auth_token: auth_token.into(),
            secondary_auth_token: None,
            validate_signatures: true,
        }
    }
}

/// Twilio's inbound webhooks as an [`InboundChannel`].
#[derive(Clone, Debug)]
pub struct TwilioChannel {
    settings: TwilioChannelSettings,
}

impl TwilioChannel {
    pub fn new(settings: TwilioChannelSettings) -> Self {
        Self { settings }
    }

    /// The URL Twilio signed for `request`: the public base URL plus its path and query. With
    /// no public base URL configured, the origin the request arrived at stands in.
    pub fn signed_url(&self, request: &WebhookRequest) -> String {
        let configured = self.settings.public_base_url.trim_end_matches('/');
        let base = if configured.is_empty() {
            request
                .origin
                .as_deref()
                .unwrap_or_default()
                .trim_end_matches('/')
        } else {
            configured
        };
        let path = &request.path_and_query;
        if path.starts_with('/') || path.is_empty() {
            format!("{base}{path}")
        } else {
            format!("{base}/{path}")
        }
    }
}

impl InboundChannel for TwilioChannel {
    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        if !self.settings.validate_signatures {
            return Ok(());
        }
        let signature = request
            .signature
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .ok_or(WebhookError::Forbidden)?;
        let mut tokens = vec![self.settings.auth_token.expose_secret()];
        tokens.extend(
            self.settings
                .secondary_auth_token
                .as_ref()
                .map(ExposeSecret::expose_secret),
        );
        // GET parameters are part of the URL; only POST bodies are appended.
        let params: &[(String, String)] = if request.method.eq_ignore_ascii_case("GET") {
            &[]
        } else {
            &request.form
        };
        if signature::is_valid_signature(&tokens, &self.signed_url(request), params, signature) {
            Ok(())
        } else {
            Err(WebhookError::Forbidden)
        }
    }

    fn parse_message(&self, params: &[(String, String)]) -> Result<InboundMessage, WebhookError> {
        let sid = params::first_of(params, &["MessageSid", "SmsMessageSid", "SmsSid"])
            .ok_or_else(|| WebhookError::Malformed("missing MessageSid".into()))?;
        let from = params::first(params, "From")
            .map(normalize_address)
            .filter(|from| !from.is_empty())
            .ok_or_else(|| WebhookError::Malformed("missing From".into()))?;
        let profile_name = params::first(params, "ProfileName")
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string);
        Ok(InboundMessage {
            provider_message_id: sid.to_string(),
            from,
            profile_name,
            channel_user_id: params::first(params, "WaId")
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_string),
            body: params::first(params, "Body")
                .unwrap_or_default()
                .to_string(),
            media: media(params),
            raw: params::to_json(params),
        })
    }

    fn parse_status(&self, params: &[(String, String)]) -> Result<StatusUpdate, WebhookError> {
        let sid = params::first_of(params, &["MessageSid", "SmsSid"])
            .ok_or_else(|| WebhookError::Malformed("missing MessageSid".into()))?;
        let value = params::first_of(params, &["MessageStatus", "SmsStatus"])
            .ok_or_else(|| WebhookError::Malformed("missing MessageStatus".into()))?;
        let status = DeliveryStatus::parse(value)
            .ok_or_else(|| WebhookError::Malformed(format!("unknown MessageStatus `{value}`")))?;
        Ok(StatusUpdate {
            provider_message_id: sid.to_string(),
            status,
            error_code: params::first_of(params, &["ErrorCode"]).map(str::to_string),
        })
    }
}

/// `whatsapp:+14155550100` → `+14155550100`; other forms are kept, trimmed.
pub fn normalize_address(address: &str) -> String {
    let address = address.trim();
    let without_prefix = match address.get(..9) {
        Some(prefix) if prefix.eq_ignore_ascii_case("whatsapp:") => &address[9..],
        _ => address,
    };
    without_prefix.trim().to_string()
}

/// `MediaUrl{N}` / `MediaContentType{N}` for N below `NumMedia`, zero-based.
fn media(params: &[(String, String)]) -> Vec<Media> {
    let count = params::first(params, "NumMedia")
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_MEDIA);
    (0..count)
        .filter_map(|n| {
            let url = params::first_of(params, &[&format!("MediaUrl{n}")])?;
            let content_type = params::first_of(params, &[&format!("MediaContentType{n}")])
                .map(str::to_ascii_lowercase);
            let kind = match content_type.as_deref() {
                Some(t) if t.starts_with("image/") => MediaKind::Image,
                Some(t) if t.starts_with("audio/") => MediaKind::Audio,
                _ => MediaKind::Other,
            };
            Some(Media {
                url: url.to_string(),
                kind,
                content_type,
                transcript: None,
            })
        })
        .collect()
}
