//! `POST`/`GET /webhook` (inbound WhatsApp messages) and `POST /webhook/status` (delivery
//! status callbacks). Each is verified, stored with its job and acknowledged with empty TwiML
//! in milliseconds; the model never runs inside the request, because the provider gives up
//! after 15 s and retries.

use poem::web::Data;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use whatsapp_agent::inbox::{InboxError, Received};
use whatsapp_agent::ports::{StoreError, WebhookError, WebhookRequest};

use crate::chat::ApiTags;
use crate::error::{ErrorBody, Failure};
use crate::form_body::FormParams;
use crate::proxies::TrustedProxies;
use crate::security::WebhookSignature;
use crate::state::AppState;
use crate::trailing_slash::OriginalUri;

const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// The parameters the provider posts for an inbound message (form-encoded). Every parameter is
/// kept and stored, not only these; `MediaUrlN`/`MediaContentTypeN` repeat per attachment.
#[derive(Debug, Clone, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct WebhookForm {
    /// The message id (`SM…`/`MM…`): the dedup key.
    #[oai(
        rename = "MessageSid",
        validator(
            pattern = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
        )
    )]
    pub message_sid: String,
    #[oai(rename = "AccountSid")]
    pub account_sid: Option<String>,
    /// The sender, `whatsapp:+14155550100`.
    #[oai(
        rename = "From",
        validator(
            pattern = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
        )
    )]
    pub from: String,
    /// The number the message was sent to, `whatsapp:+14155550000`.
    #[oai(rename = "To")]
    pub to: Option<String>,
    /// The message text.
    #[oai(rename = "Body")]
    pub body: Option<String>,
    /// How many `MediaUrlN` follow.
    #[oai(rename = "NumMedia")]
    pub num_media: Option<String>,
    #[oai(rename = "MediaUrl0")]
    pub media_url0: Option<String>,
    #[oai(rename = "MediaContentType0")]
    pub media_content_type0: Option<String>,
    /// The sender's WhatsApp profile name.
    #[oai(rename = "ProfileName")]
    pub profile_name: Option<String>,
    /// The sender's WhatsApp id (the number without `+`).
    #[oai(rename = "WaId")]
    pub wa_id: Option<String>,
}

impl Example for WebhookForm {
    fn example() -> Self {
        Self {
            message_sid: "SM0123456789abcdef0123456789abcdef".into(),
            account_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
            from: "whatsapp:+14155550100".into(),
            to: Some("whatsapp:+14155550000".into()),
            body: Some("Hello, can I book an appointment for Monday?".into()),
            num_media: Some("0".into()),
            media_url0: None,
            media_content_type0: None,
            profile_name: Some("Ana".into()),
            wa_id: Some("14155550100".into()),
        }
    }
}

/// A delivery status callback for a sent reply (form-encoded).
#[derive(Debug, Clone, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct StatusCallbackForm {
    /// The id of the sent reply.
    #[oai(
        rename = "MessageSid",
        validator(
            pattern = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
        )
    )]
    pub message_sid: String,
    #[oai(rename = "MessageStatus")]
    pub message_status: DeliveryStatusView,
    #[oai(rename = "AccountSid")]
    pub account_sid: Option<String>,
    /// On failed or undelivered callbacks: the provider's error code.
    #[oai(rename = "ErrorCode")]
    pub error_code: Option<String>,
}

impl Example for StatusCallbackForm {
    fn example() -> Self {
        Self {
            message_sid: "SM0123456789abcdef0123456789abcdef".into(),
            message_status: DeliveryStatusView::Delivered,
            account_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
            error_code: None,
        }
    }
}

/// A delivery status as the provider reports it; older ones never overwrite newer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DeliveryStatusView {
    Accepted,
    Scheduled,
    Receiving,
    Received,
    Queued,
    Sending,
    Sent,
    PartiallyDelivered,
    Delivered,
    Read,
    Undelivered,
    Failed,
    Canceled,
}

/// Every answer of `POST /webhook` and `POST /webhook/status`.
#[derive(ApiResponse)]
#[oai(bad_request_handler = "WebhookReply::from_request_error")]
pub enum WebhookReply {
    /// Accepted (or a duplicate, acknowledged without being stored again): empty TwiML.
    #[oai(status = 200, content_type = "text/xml")]
    Ack(PlainText<String>),
    /// Signed, but not a message we understand (e.g. no `MessageSid`).
    #[oai(status = 400)]
    Malformed(Json<ErrorBody>),
    /// Missing or invalid `X-Twilio-Signature`; nothing was stored.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Inbound messaging is not configured on this instance.
    #[oai(status = 404)]
    NotConfigured(Json<ErrorBody>),
    /// The body is larger than `server.body_limit_bytes` (1 MiB by default).
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body is not `application/x-www-form-urlencoded`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// A bug; logged.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// Could not be stored; the provider retries, so nothing is lost.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl WebhookReply {
    fn from_request_error(err: poem::Error) -> Self {
        match Failure::from_request_error(&err) {
            Failure::PayloadTooLarge(body) => Self::PayloadTooLarge(Json(body)),
            Failure::UnsupportedMediaType(body) => Self::UnsupportedMediaType(Json(body)),
            Failure::BadRequest(body) | Failure::Unprocessable(body) => Self::Malformed(Json(
                ErrorBody::new("malformed_webhook", body.error.message),
            )),
            other => {
                tracing::error!(failure = ?other, "unexpected webhook request error");
                Self::Internal(Json(ErrorBody::new(
                    "internal_error",
                    "an internal error occurred; it has been logged",
                )))
            }
        }
    }
}

/// Every answer of `GET /webhook` (no body, so no 413 or 415).
#[derive(ApiResponse)]
#[oai(bad_request_handler = "WebhookGetReply::from_request_error")]
pub enum WebhookGetReply {
    /// Accepted (or a duplicate, acknowledged without being stored again): empty TwiML.
    #[oai(status = 200, content_type = "text/xml")]
    Ack(PlainText<String>),
    /// Signed, but not a message we understand (e.g. no `MessageSid`).
    #[oai(status = 400)]
    Malformed(Json<ErrorBody>),
    /// Missing or invalid `X-Twilio-Signature`; nothing was stored.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Inbound messaging is not configured on this instance.
    #[oai(status = 404)]
    NotConfigured(Json<ErrorBody>),
    /// A bug; logged.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// Could not be stored; the provider retries, so nothing is lost.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before retrying.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

impl WebhookGetReply {
    fn from_request_error(err: poem::Error) -> Self {
        Self::Malformed(Json(ErrorBody::new("malformed_webhook", err.to_string())))
    }
}

impl From<WebhookReply> for WebhookGetReply {
    fn from(reply: WebhookReply) -> Self {
        match reply {
            WebhookReply::Ack(body) => Self::Ack(body),
            WebhookReply::Malformed(body) => Self::Malformed(body),
            WebhookReply::Forbidden(body) => Self::Forbidden(body),
            WebhookReply::NotConfigured(body) => Self::NotConfigured(body),
            WebhookReply::Unavailable(body, retry) => Self::Unavailable(body, retry),
            WebhookReply::PayloadTooLarge(body)
            | WebhookReply::UnsupportedMediaType(body)
            | WebhookReply::Internal(body) => Self::Internal(body),
        }
    }
}

/// Counts a webhook by what became of it: `accepted`, `duplicate`, `invalid_signature`,
/// `malformed`, `not_configured`, `unavailable` or `error`.
fn count(kind: &'static str, result: &'static str) {
    metrics::counter!("webhook_deliveries_total", "kind" => kind, "result" => result).increment(1);
}

fn result_label(result: &Result<(), InboxError>) -> &'static str {
    match result {
        Ok(()) => "accepted",
        Err(InboxError::Webhook(WebhookError::Forbidden)) => "invalid_signature",
        Err(InboxError::Webhook(WebhookError::Malformed(_))) => "malformed",
        Err(InboxError::Store(StoreError::Unavailable(_))) => "unavailable",
        Err(InboxError::Store(_)) => "error",
    }
}

fn reply(result: Result<(), InboxError>) -> WebhookReply {
    match result {
        Ok(()) => WebhookReply::Ack(PlainText(EMPTY_TWIML.to_string())),
        Err(InboxError::Webhook(WebhookError::Forbidden)) => WebhookReply::Forbidden(Json(
            ErrorBody::new("invalid_signature", "missing or invalid X-Twilio-Signature"),
        )),
        Err(InboxError::Webhook(WebhookError::Malformed(why))) => {
            WebhookReply::Malformed(Json(ErrorBody::new("malformed_webhook", why)))
        }
        Err(InboxError::Store(StoreError::Unavailable(cause))) => {
            tracing::warn!(%cause, "webhook not stored: database unavailable");
            WebhookReply::Unavailable(
                Json(ErrorBody::new("database_unavailable", "retry shortly")),
                1,
            )
        }
        Err(InboxError::Store(err)) => {
            tracing::error!(error = ?err, "webhook not stored");
            WebhookReply::Internal(Json(ErrorBody::new(
                "internal_error",
                "an internal error occurred; it has been logged",
            )))
        }
    }
}

/// The request as the provider signed it: the path before any rewriting, with its query.
fn webhook_request(
    req: &Request,
    form: Vec<(String, String)>,
    signature: Option<String>,
) -> WebhookRequest {
    let uri = req
        .data::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    WebhookRequest {
        origin: origin(req),
        method: req.method().to_string(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string()),
        form,
        signature,
    }
}

/// `scheme://host` as the client reached us: what a trusted reverse proxy forwarded, else the
/// `Host` header over plain HTTP. Forwarding headers from any other peer are ignored, so a
/// caller cannot make a signature for another URL count.
fn origin(req: &Request) -> Option<String> {
    let proxies = req.data::<TrustedProxies>().cloned().unwrap_or_default();
    let host = proxies
        .forwarded(req, "x-forwarded-host")
        .or_else(|| req.header("host").map(str::trim).filter(|h| !h.is_empty()))?;
    let scheme = proxies
        .forwarded(req, "x-forwarded-proto")
        .unwrap_or("http");
    Some(format!("{scheme}://{host}"))
}

fn not_configured() -> WebhookReply {
    WebhookReply::NotConfigured(Json(ErrorBody::new(
        "not_configured",
        "inbound messaging is not configured",
    )))
}

pub struct WebhookApi;

#[OpenApi]
impl WebhookApi {
    /// Inbound WhatsApp message (form POST), signed with `X-Twilio-Signature`.
    #[oai(
        path = "/webhook",
        method = "post",
        tag = "ApiTags::Webhook",
        operation_id = "webhookPost"
    )]
    async fn receive_post(
        &self,
        state: Data<&AppState>,
        req: &Request,
        signature: WebhookSignature,
        form: FormParams<WebhookForm>,
    ) -> WebhookReply {
        let Some(inbox) = &state.inbox else {
            count("message", "not_configured");
            return not_configured();
        };
        let request = webhook_request(req, form.pairs, signature.0);
        log_received(inbox.receive(&request).await)
    }

    /// Inbound WhatsApp message with its parameters in the query string (for numbers set to
    /// use GET); the signature covers the URL alone.
    #[oai(
        path = "/webhook",
        method = "get",
        tag = "ApiTags::Webhook",
        operation_id = "webhookGet"
    )]
    async fn receive_get(
        &self,
        state: Data<&AppState>,
        req: &Request,
        signature: WebhookSignature,
        /// The message id (`SM…`/`MM…`): the dedup key.
        #[oai(
            name = "MessageSid",
            validator(
                pattern = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
            )
        )]
        _message_sid: Query<String>,
        /// The sender, `whatsapp:+14155550100`.
        #[oai(
            name = "From",
            validator(
                pattern = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
            )
        )]
        _from: Query<String>,
        /// The message text.
        #[oai(name = "Body")]
        _body: Query<Option<String>>,
    ) -> WebhookGetReply {
        let Some(inbox) = &state.inbox else {
            count("message", "not_configured");
            return not_configured().into();
        };
        let request = webhook_request(req, Vec::new(), signature.0);
        log_received(inbox.receive(&request).await).into()
    }

    /// Delivery status callback for a sent reply (queued, sent, delivered, read, failed,
    /// undelivered). Older statuses never overwrite newer ones.
    #[oai(
        path = "/webhook/status",
        method = "post",
        tag = "ApiTags::Webhook",
        operation_id = "webhookStatus"
    )]
    async fn status(
        &self,
        state: Data<&AppState>,
        req: &Request,
        signature: WebhookSignature,
        form: FormParams<StatusCallbackForm>,
    ) -> WebhookReply {
        let Some(inbox) = &state.inbox else {
            count("status", "not_configured");
            return not_configured();
        };
        let request = webhook_request(req, form.pairs, signature.0);
        let result = inbox.status(&request).await.map(|changed| {
            tracing::debug!(changed, "status callback applied");
        });
        count("status", result_label(&result));
        reply(result)
    }
}

fn log_received(result: Result<Received, InboxError>) -> WebhookReply {
    let duplicate = matches!(result, Ok(Received::Duplicate));
    let result = result.map(|_| {
        tracing::info!(duplicate, "inbound message acknowledged");
    });
    count(
        "message",
        if duplicate {
            "duplicate"
        } else {
            result_label(&result)
        },
    );
    reply(result)
}
