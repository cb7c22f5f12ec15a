//! The inbound channel port: what is provider-specific about receiving messages (signature
//! checks, parameter names), so the webhook endpoint and the core stay provider-neutral.

use crate::domain::Media;

/// An inbound webhook request as the HTTP layer received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query string as received, e.g. `/webhook?x=1` (the public base URL is
    /// configuration of the channel adapter, since the service sits behind proxies).
    pub path_and_query: String,
    /// Every form parameter (POST body) in the order received, repeated keys kept. Empty for
    /// GET, whose parameters are in the query string.
    pub form: Vec<(String, String)>,
    /// The provider's signature header, if any.
    pub signature: Option<String>,
    /// `scheme://host[:port]` as the request arrived (forwarded headers first), used as the
    /// signed URL's base when no public base URL is configured.
    pub origin: Option<String>,
}

impl WebhookRequest {
    /// All parameters: the form for POST, the query string for GET.
    pub fn params(&self) -> Vec<(String, String)> {
        if self.method.eq_ignore_ascii_case("GET") {
            self.path_and_query
                .split_once('?')
                .map(|(_, q)| parse_query(q))
                .unwrap_or_default()
        } else {
            self.form.clone()
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte); never
/// fails: malformed escapes are kept literally and invalid UTF-8 is replaced.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// An inbound user message, in provider-neutral terms.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundMessage {
    /// The provider's id (e.g. a `MessageSid`): the dedup key.
    pub provider_message_id: String,
    /// The sender's identity, normalised (E.164 for phone numbers: `+14155550100`).
    pub from: String,
    pub profile_name: Option<String>,
    /// The sender's id inside the channel (WhatsApp's `wa_id`), when the provider gives one.
    pub channel_user_id: Option<String>,
    pub body: String,
    pub media: Vec<Media>,
    /// Every parameter as received, for storage: providers add fields without notice.
    pub raw: serde_json::Value,
}

/// Delivery states of an outgoing message, in the order they progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryStatus {
    Accepted,
    Queued,
    Sending,
    Sent,
    Delivered,
    Read,
    /// Terminal.
    Undelivered,
    /// Terminal.
    Failed,
}

impl DeliveryStatus {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value.to_ascii_lowercase().as_str() {
            // Inbound-side and scheduling states carry no delivery progress for a reply.
            "accepted" | "scheduled" | "receiving" | "received" => DeliveryStatus::Accepted,
            "queued" => DeliveryStatus::Queued,
            "sending" => DeliveryStatus::Sending,
            "sent" | "partially_delivered" => DeliveryStatus::Sent,
            "delivered" => DeliveryStatus::Delivered,
            "read" => DeliveryStatus::Read,
            "undelivered" => DeliveryStatus::Undelivered,
            "failed" | "canceled" => DeliveryStatus::Failed,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Undelivered => "undelivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Rank used to ignore callbacks that arrive out of order: a status only replaces a
    /// lower-ranked one. Failures outrank everything, since they are final.
    pub fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Accepted => 1,
            DeliveryStatus::Queued => 2,
            DeliveryStatus::Sending => 3,
            DeliveryStatus::Sent => 4,
            DeliveryStatus::Delivered => 5,
            DeliveryStatus::Read => 6,
            DeliveryStatus::Undelivered => 7,
            DeliveryStatus::Failed => 8,
        }
    }
}

/// A delivery status callback.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusUpdate {
    pub provider_message_id: String,
    pub status: DeliveryStatus,
    pub error_code: Option<String>,
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature: not from the provider. Nothing may be stored.
    #[error("invalid or missing signature")]
    Forbidden,
    /// Signed, but not a message or status we understand; `0` says what is missing.
    #[error("malformed webhook: {0}")]
    Malformed(String),
}

/// A messaging provider's inbound side.
pub trait InboundChannel: Send + Sync {
    /// Checks the request's signature.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`] when it is missing or does not match.
    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError>;

    /// Reads an inbound message from verified parameters.
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] when required parameters are missing.
    fn parse_message(&self, params: &[(String, String)]) -> Result<InboundMessage, WebhookError>;

    /// Reads a delivery status callback from verified parameters.
    ///
    /// # Errors
    /// [`WebhookError::Malformed`] when required parameters are missing or unknown.
    fn parse_status(&self, params: &[(String, String)]) -> Result<StatusUpdate, WebhookError>;
}

#[cfg(test)]
mod tests {
    use super::parse_query;

    #[test]
    fn decodes_forms_without_panicking_on_bad_input() {
        let pairs =
            parse_query("From=whatsapp%3A%2B14155550100&Body=hola+se%C3%B1or&Bad=%zz%&Empty=&Flag");
        assert_eq!(pairs[0], ("From".into(), "whatsapp:+14155550100".into()));
        assert_eq!(pairs[1], ("Body".into(), "hola señor".into()));
        assert_eq!(pairs[2], ("Bad".into(), "%zz%".into()));
        assert_eq!(pairs[3], ("Empty".into(), String::new()));
        assert_eq!(pairs[4], ("Flag".into(), String::new()));
        assert_eq!(parse_query("a=%E2%82").len(), 1);
    }
}
