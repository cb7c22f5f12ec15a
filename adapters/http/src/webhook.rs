//! `POST`/`GET /webhook` (inbound WhatsApp messages) and `POST /webhook/status` (delivery
//! status callbacks). Each is verified, stored with its job and acknowledged with empty TwiML
//! in milliseconds; the model never runs inside the request, because the provider gives up
//! after 15 s and retries.

use poem::web::Data;
use poem::Request;
use poem_openapi::param::Header;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};
use whatsapp_agent::inbox::{InboxError, Received};
use whatsapp_agent::ports::{StoreError, WebhookError, WebhookRequest};

use crate::chat::ApiTags;
use crate::error::ErrorBody;
use crate::form_body::FormParams;
use crate::state::AppState;
use crate::trailing_slash::OriginalUri;

const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

/// The parameters the provider posts (form-encoded). Every parameter is kept and stored, not
/// only these; `MediaUrlN`/`MediaContentTypeN` repeat per attachment.
#[derive(Debug, Clone, Object)]
pub struct WebhookForm {
    /// The message id (`SM…`/`MM…`): the dedup key.
    #[oai(rename = "MessageSid")]
    pub message_sid: String,
    #[oai(rename = "AccountSid")]
    pub account_sid: Option<String>,
    /// `whatsapp:+14155550100`.
    #[oai(rename = "From")]
    pub from: String,
    #[oai(rename = "To")]
    pub to: Option<String>,
    #[oai(rename = "Body")]
    pub body: Option<String>,
    #[oai(rename = "NumMedia")]
    pub num_media: Option<String>,
    #[oai(rename = "MediaUrl0")]
    pub media_url0: Option<String>,
    #[oai(rename = "MediaContentType0")]
    pub media_content_type0: Option<String>,
    #[oai(rename = "ProfileName")]
    pub profile_name: Option<String>,
    #[oai(rename = "WaId")]
    pub wa_id: Option<String>,
    /// On status callbacks.
    #[oai(rename = "MessageStatus")]
    pub message_status: Option<String>,
    /// On failed or undelivered status callbacks.
    #[oai(rename = "ErrorCode")]
    pub error_code: Option<String>,
}

#[derive(ApiResponse)]
pub enum WebhookReply {
    /// Accepted (or a duplicate, acknowledged without being stored again): empty TwiML.
    #[oai(status = 200, content_type = "text/xml")]
    Ack(PlainText<String>),
    /// Signed, but not a message we understand.
    #[oai(status = 400)]
    Malformed(Json<ErrorBody>),
    /// Missing or invalid `X-Twilio-Signature`; nothing was stored.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Inbound messaging is not configured on this instance.
    #[oai(status = 404)]
    NotConfigured(Json<ErrorBody>),
    /// Could not be stored; the provider retries, so nothing is lost.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] Option<u64>),
    /// A bug; logged.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
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
                Some(1),
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

/// `scheme://host` as the client reached us, preferring what a reverse proxy forwarded.
fn origin(req: &Request) -> Option<String> {
    let first = |name: &str| {
        req.header(name)
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let host = first("x-forwarded-host").or_else(|| first("host"))?;
    let scheme = first("x-forwarded-proto").unwrap_or_else(|| "http".to_string());
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
        #[oai(name = "X-Twilio-Signature")] signature: Header<Option<String>>,
        form: FormParams,
    ) -> WebhookReply {
        let Some(inbox) = &state.inbox else {
            return not_configured();
        };
        let request = webhook_request(req, form.0, signature.0);
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
        #[oai(name = "X-Twilio-Signature")] signature: Header<Option<String>>,
    ) -> WebhookReply {
        let Some(inbox) = &state.inbox else {
            return not_configured();
        };
        let request = webhook_request(req, Vec::new(), signature.0);
        log_received(inbox.receive(&request).await)
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
        #[oai(name = "X-Twilio-Signature")] signature: Header<Option<String>>,
        form: FormParams,
    ) -> WebhookReply {
        let Some(inbox) = &state.inbox else {
            return not_configured();
        };
        let request = webhook_request(req, form.0, signature.0);
        reply(inbox.status(&request).await.map(|changed| {
            tracing::debug!(changed, "status callback applied");
        }))
    }
}

fn log_received(result: Result<Received, InboxError>) -> WebhookReply {
    reply(result.map(|received| {
        tracing::info!(
            duplicate = (received == Received::Duplicate),
            "inbound message acknowledged"
        );
    }))
}
