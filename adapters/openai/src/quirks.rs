//! What the adapter learns, while it runs, about what the model server cannot do. Each limit is
//! learned once, logged once, and requests are shaped around it for the rest of the process, so
//! a server that refuses a field costs one extra request, not one per turn.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::settings::{OpenAiSettings, TokenLimitField};

/// A limit of the model server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quirk {
    /// Refuses `stream_options`: streams come without a usage chunk.
    NoStreamOptions,
    /// Refuses `max_completion_tokens`: the limit goes as `max_tokens`.
    LegacyMaxTokens,
    /// Refuses tools or the tool choice: requests go without them.
    NoTools,
    /// Cannot stream the reply to a request with tools: such requests are made whole.
    NoToolStreaming,
}

impl Quirk {
    /// Refusals are worked around in this order, so the first workaround costs the least:
    /// leaving out tools loses hand-offs, so it comes last.
    const BY_COST: [Quirk; 3] = [
        Quirk::NoStreamOptions,
        Quirk::LegacyMaxTokens,
        Quirk::NoTools,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn what(self) -> &'static str {
        match self {
            Quirk::NoStreamOptions => "stream_options refused; streams go without usage",
            Quirk::LegacyMaxTokens => "max_completion_tokens refused; the limit goes as max_tokens",
            Quirk::NoTools => "tools refused; requests go without tools, so no hand-offs",
            Quirk::NoToolStreaming => {
                "replies to requests with tools cannot be streamed; they are requested whole"
            }
        }
    }

    /// Shapes `body` around this limit; `true` if that changed it.
    pub fn adapt(self, body: &mut Value) -> bool {
        let Some(object) = body.as_object_mut() else {
            return false;
        };
        match self {
            Quirk::NoStreamOptions => object.remove("stream_options").is_some(),
            Quirk::LegacyMaxTokens => match object.remove("max_completion_tokens") {
                Some(limit) => {
                    object.insert("max_tokens".into(), limit);
                    true
                }
                None => false,
            },
            // Every field goes (no short-circuit), then we report whether any was there.
            Quirk::NoTools => {
                ["tools", "tool_choice", "parallel_tool_calls"]
                    .iter()
                    .filter(|key| object.remove(**key).is_some())
                    .count()
                    > 0
            }
            Quirk::NoToolStreaming => false,
        }
    }
}

/// The limits learned so far.
#[derive(Debug, Default)]
pub struct Quirks {
    known: [AtomicBool; 4],
}

impl Quirks {
    /// Starts with the limits the settings already declare, so they are not logged as news.
    pub fn from_settings(settings: &OpenAiSettings) -> Self {
        let quirks = Self::default();
        if !settings.stream_tools {
            quirks.known[Quirk::NoToolStreaming.index()].store(true, Ordering::Relaxed);
        }
        if settings.token_limit_field == TokenLimitField::MaxTokens {
            quirks.known[Quirk::LegacyMaxTokens.index()].store(true, Ordering::Relaxed);
        }
        quirks
    }

    pub fn has(&self, quirk: Quirk) -> bool {
        self.known[quirk.index()].load(Ordering::Relaxed)
    }

    /// Records `quirk`, shown by `evidence`; the first time only, it is logged.
    pub fn learn(&self, quirk: Quirk, evidence: &str) {
        if !self.known[quirk.index()].swap(true, Ordering::Relaxed) {
            tracing::warn!(%evidence, "model server limit: {}; remembered until restart", quirk.what());
        }
    }

    /// Shapes `body` around every limit known so far.
    pub fn adapt(&self, body: &mut Value) {
        for quirk in Quirk::BY_COST {
            if self.has(quirk) {
                quirk.adapt(body);
            }
        }
    }
}

/// The limits a refusal points at, cheapest workaround first: a 400, 404 or 422 whose message
/// names the field. Other refusals (a bad image URL, the key, the quota) point at none.
pub fn named_in(detail: &str) -> Vec<Quirk> {
    let about_request = ["HTTP 400", "HTTP 404", "HTTP 422"]
        .iter()
        .any(|prefix| detail.starts_with(prefix));
    if !about_request {
        return Vec::new();
    }
    let lower = detail.to_ascii_lowercase();
    let names = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    Quirk::BY_COST
        .into_iter()
        .filter(|quirk| match quirk {
            Quirk::NoStreamOptions => names(&["stream_options", "include_usage"]),
            Quirk::LegacyMaxTokens => names(&["max_completion_tokens"]),
            Quirk::NoTools => names(&["tool", "function"]),
            Quirk::NoToolStreaming => false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_naming_stream_options_points_at_them_alone() {
        let detail = "HTTP 400: stream_options is only allowed when stream is true";

        assert_eq!(named_in(detail), [Quirk::NoStreamOptions]);
    }

    #[test]
    fn a_refusal_of_the_key_points_at_nothing() {
        assert!(named_in("HTTP 401 invalid_api_key: Incorrect API key provided: tool").is_empty());
    }

    #[test]
    fn the_legacy_limit_moves_the_value_to_max_tokens() {
        let mut body = serde_json::json!({"model": "m", "max_completion_tokens": 600});

        assert!(Quirk::LegacyMaxTokens.adapt(&mut body));

        assert_eq!(body, serde_json::json!({"model": "m", "max_tokens": 600}));
    }
}
