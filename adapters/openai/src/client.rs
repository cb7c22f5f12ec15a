//! `OpenAiClient`: requests, retries and the `LlmPort` implementation.

use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;
use whatsapp_agent::ports::{Blob, ChunkStream, LlmError, LlmPort, LlmReply, LlmRequest, ToolCall};

use std::sync::Arc;

use crate::error::{from_status, from_transport, retry_after};
use crate::fallback;
use crate::quirks::{self, Quirk, Quirks};
use crate::retry::delay_before_retry;
use crate::settings::OpenAiSettings;
use crate::stream;
use crate::wire::{chat_request_body, WireCompletion, WireTranscription};

/// An OpenAI-compatible model server. Clones share the HTTP connections and what was learned
/// about the server.
#[derive(Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    /// The server's limits found so far; requests are shaped around them.
    quirks: Arc<Quirks>,
    settings: Arc<OpenAiSettings>,
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
            quirks: Arc::new(Quirks::from_settings(&settings)),
            settings: Arc::new(settings),
        })
    }

    fn authorized(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut builder = builder;
        if let Some(key) = self
            .settings
            .api_key
            .as_ref()
            .map(ExposeSecret::expose_secret)
            .filter(|k| !k.is_empty())
        {
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

    /// Posts a chat request, shaped around the server's known limits. A 4xx that names an
    /// optional field (stream options, the token limit's name, tools) is worked around, one
    /// field at a time, cheapest first; what works is remembered, with a warning, rather than
    /// failing every turn.
    async fn post_chat(
        &self,
        mut body: Value,
        stream: bool,
    ) -> Result<reqwest::Response, LlmError> {
        self.quirks.adapt(&mut body);
        let url = self.settings.endpoint("chat/completions");
        let mut worked_around: Vec<(Quirk, String)> = Vec::new();
        let mut first_refusal = None;
        loop {
            let sent = self
                .send_with_retries(|| {
                    let mut builder = self.http.post(&url).json(&body);
                    if stream {
                        builder = builder.header("Accept", "text/event-stream");
                    }
                    self.authorized(builder)
                })
                .await;
            let detail = match sent {
                Ok(response) => {
                    for (quirk, evidence) in &worked_around {
                        self.quirks.learn(*quirk, evidence);
                    }
                    return Ok(response);
                }
                Err(LlmError::Rejected(detail)) => detail,
                Err(other) => return Err(first_refusal.unwrap_or(other)),
            };
            let next = quirks::named_in(&detail)
                .into_iter()
                .find(|quirk| quirk.adapt(&mut body));
            let refusal = LlmError::Rejected(detail.clone());
            match next {
                Some(quirk) => {
                    first_refusal.get_or_insert(refusal);
                    worked_around.push((quirk, detail));
                }
                // The caller learns what the server first said, not a later side effect.
                None => return Err(first_refusal.unwrap_or(refusal)),
            }
        }
    }

    /// Whether a request for `request` would offer tools to the server.
    fn offers_tools(&self, request: &LlmRequest) -> bool {
        self.settings.supports_tools
            && !request.tools.is_empty()
            && !self.quirks.has(Quirk::NoTools)
    }

    /// The events of a streamed response. Some servers answer a stream request with a JSON
    /// body instead: an error object, or a whole completion.
    async fn events(&self, response: reqwest::Response) -> Result<ChunkStream, LlmError> {
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
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

    /// Asks again without streaming, after a streamed request with tools failed before its
    /// first piece of reply with `failure`, and streams the answer in one piece. When that
    /// works, the server is taken not to stream tools, and later such requests go whole at once.
    pub(crate) async fn answer_whole(
        &self,
        request: &LlmRequest,
        failure: LlmError,
    ) -> Result<ChunkStream, LlmError> {
        tracing::info!(%failure, "streamed request with tools failed before any reply; asking again without streaming");
        let reply = self.complete(request).await?;
        self.quirks
            .learn(Quirk::NoToolStreaming, &failure.to_string());
        Ok(fallback::whole_as_stream(reply))
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
        let choice = completion
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::BadResponse("no choices in the completion".into()))?;
        let cut_off = crate::wire::cut_off(choice.finish_reason.as_deref());
        let message = choice
            .message
            .ok_or_else(|| LlmError::BadResponse("no message in the completion".into()))?;
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
            cut_off,
        })
    }

    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        let with_tools = self.offers_tools(request);
        if with_tools && self.quirks.has(Quirk::NoToolStreaming) {
            return Ok(fallback::whole_as_stream(self.complete(request).await?));
        }
        let body = chat_request_body(&self.settings, request, true);
        // Only the request is retried: once events flow, a retry could repeat text the client
        // has already seen. With tools, a failure before any reply is asked again whole.
        let response = match self.post_chat(body, true).await {
            Ok(response) => response,
            Err(error) if with_tools && fallback::server_refused(&error) => {
                return self.answer_whole(request, error).await
            }
            Err(error) => return Err(error),
        };
        match self.events(response).await {
            Ok(events) if with_tools => Ok(fallback::guard(events, self.clone(), request.clone())),
            Err(error) if with_tools && fallback::may_work_whole(&error) => {
                self.answer_whole(request, error).await
            }
            other => other,
        }
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
