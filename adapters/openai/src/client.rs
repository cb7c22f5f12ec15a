//! `OpenAiClient`: requests, retries and the `LlmPort` implementation.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;
use whatsapp_agent::ports::{Blob, ChunkStream, LlmError, LlmPort, LlmReply, LlmRequest, ToolCall};

use crate::error::{from_status, from_transport, retry_after};
use crate::retry::delay_before_retry;
use crate::settings::OpenAiSettings;
use crate::stream;
use crate::wire::{chat_request_body, WireCompletion, WireTranscription};

/// An OpenAI-compatible model server.
pub struct OpenAiClient {
    http: reqwest::Client,
    /// Set once the server refused a request with optional features (tools, stream usage) and
    /// accepted it without them; later requests leave them out from the start.
    plain_only: std::sync::atomic::AtomicBool,
    settings: OpenAiSettings,
}

impl OpenAiClient {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(settings: OpenAiSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("whatsapp-agent/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            plain_only: std::sync::atomic::AtomicBool::new(false),
            settings,
        })
    }

    fn authorized(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut builder = builder;
        if let Some(key) = self.settings.api_key.as_deref().filter(|k| !k.is_empty()) {
            builder = builder.bearer_auth(key);
        }
        if let Some(org) = &self.settings.organization {
            builder = builder.header("OpenAI-Organization", org);
        }
        if let Some(project) = &self.settings.project {
            builder = builder.header("OpenAI-Project", project);
        }
        builder
    }

    /// Sends a request (rebuilt per attempt) until it gets a success status, retrying what
    /// may succeed later. The whole exchange of each attempt is bounded by the request timeout.
    async fn send_with_retries(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, LlmError> {
        let mut attempt = 0;
        loop {
            let sent = tokio::time::timeout(self.settings.request_timeout, build().send()).await;
            let error = match sent {
                Err(_) => LlmError::Timeout,
                Ok(Err(err)) => from_transport(&err),
                Ok(Ok(response)) if response.status().is_success() => return Ok(response),
                Ok(Ok(response)) => {
                    let status = response.status().as_u16();
                    let wait = retry_after(response.headers());
                    // Bounded too: a stalled error body must not hang the call.
                    let body = tokio::time::timeout(self.settings.request_timeout, response.text())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or_default();
                    from_status(status, &body, wait)
                }
            };
            match delay_before_retry(&self.settings, &error, attempt) {
                Some(delay) => {
                    tracing::warn!(%error, attempt, delay_ms = delay.as_millis() as u64, "model call failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                None => return Err(error),
            }
        }
    }

    /// Posts a chat request. Servers without tool or stream-usage support answer 4xx to those
    /// fields; such a refusal is retried once without them, and if that works the fields are
    /// left out from then on, with a warning, rather than failing every turn.
    async fn post_chat(
        &self,
        mut body: Value,
        stream: bool,
    ) -> Result<reqwest::Response, LlmError> {
        use std::sync::atomic::Ordering;
        if self.plain_only.load(Ordering::Relaxed) {
            strip_optional(&mut body);
        }
        let url = self.settings.endpoint("chat/completions");
        let send = |body: &Value| {
            let body = body.clone();
            let url = url.clone();
            async move {
                self.send_with_retries(|| {
                    let mut builder = self.http.post(&url).json(&body);
                    if stream {
                        builder = builder.header("Accept", "text/event-stream");
                    }
                    self.authorized(builder)
                })
                .await
            }
        };
        match send(&body).await {
            Err(LlmError::Rejected(detail))
                if crate::error::is_feature_refusal(&detail) && strip_optional(&mut body) =>
            {
                let response = send(&body)
                    .await
                    .map_err(|_| LlmError::Rejected(detail.clone()))?;
                self.plain_only.store(true, Ordering::Relaxed);
                tracing::warn!(%detail, "model server refused tools/stream options; continuing without them");
                Ok(response)
            }
            other => other,
        }
    }

    async fn read_json<T: DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> Result<T, LlmError> {
        let body = tokio::time::timeout(self.settings.request_timeout, response.bytes())
            .await
            .map_err(|_| LlmError::Timeout)?
            .map_err(|e| from_transport(&e))?;
        serde_json::from_slice(&body)
            .map_err(|e| LlmError::BadResponse(format!("unexpected response body ({e})")))
    }
}

#[async_trait]
impl LlmPort for OpenAiClient {
    fn label(&self) -> String {
        format!("openai-compatible:{}", self.settings.model)
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmReply, LlmError> {
        let body = chat_request_body(&self.settings, request, false);
        let response = self.post_chat(body, false).await?;
        let completion: WireCompletion = self.read_json(response).await?;
        if let Some(error) = completion.error.as_ref().filter(|e| !e.is_null()) {
            return Err(crate::error::from_stream_error(error));
        }
        let message = completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message)
            .ok_or_else(|| LlmError::BadResponse("no choices in the completion".into()))?;
        let tool_calls: Vec<ToolCall> = message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, call)| call.into_call(i))
            .collect();
        // A refusal is the model's answer to the user, so it is shown like any other text.
        let text = message
            .content
            .filter(|c| !c.is_empty())
            .or(message.refusal)
            .unwrap_or_default();
        Ok(LlmReply {
            text,
            tool_calls,
            usage: completion.usage.map(Into::into),
        })
    }

    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let body = chat_request_body(&self.settings, request, true);
        // Only the request is retried: once events flow, a retry could repeat text the client
        // has already seen.
        let response = self.post_chat(body, true).await?;
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            // Some servers answer a stream request with a whole completion or an error object.
            let value: Value = self.read_json(response).await?;
            if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
                return Err(crate::error::from_stream_error(error));
            }
            return Err(LlmError::BadResponse(
                "expected an event stream, got a JSON body".into(),
            ));
        }
        Ok(stream::parse(response, self.settings.idle_stream_timeout))
    }

    async fn transcribe(&self, audio: &Blob) -> Result<String, LlmError> {
        let url = self.settings.endpoint("audio/transcriptions");
        let response = self
            .send_with_retries(|| {
                let file = reqwest::multipart::Part::bytes(audio.bytes.clone())
                    .file_name(audio.filename.clone())
                    .mime_str(&audio.content_type)
                    .unwrap_or_else(|_| {
                        reqwest::multipart::Part::bytes(audio.bytes.clone())
                            .file_name(audio.filename.clone())
                    });
                let form = reqwest::multipart::Form::new()
                    .part("file", file)
                    .text("model", self.settings.transcription_model.clone())
                    .text("response_format", "json");
                self.authorized(self.http.post(&url).multipart(form))
            })
            .await?;
        let transcription: WireTranscription = self.read_json(response).await?;
        Ok(transcription.text)
    }
}

/// Removes the fields some compatible servers reject; `true` if there were any.
fn strip_optional(body: &mut Value) -> bool {
    let Some(object) = body.as_object_mut() else {
        return false;
    };
    // Every field is removed (no short-circuit), then we report whether any was there.
    [
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "stream_options",
    ]
    .iter()
    .filter(|key| object.remove(**key).is_some())
    .count()
        > 0
}
