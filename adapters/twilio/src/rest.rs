//! One `POST …/Messages.json` and what its outcome means: created, worth retrying, refused, or
//! unknown (the request may have reached Twilio).

use std::time::Duration;

use serde::Deserialize;

/// The outcome of one attempt to create a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// 2xx with the message's `sid`.
    Created(String),
    /// Rate limited (429 / 20429), a server error, or no connection: nothing was created, so
    /// sending again is safe.
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Refused for good (opted out, invalid number, bad credentials…).
    Refused {
        message: String,
        code: Option<String>,
    },
    /// Failed after the request may have been received (a read timeout, a lost or unreadable
    /// 2xx answer). Twilio has no idempotency key, so sending again could deliver the part
    /// twice: not retried here, reported as temporary for the caller to decide.
    Unknown(String),
}

/// Twilio's error body: `{"code": 21610, "message": "...", "more_info": "...", "status": 400}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    code: Option<serde_json::Value>,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Created {
    sid: Option<String>,
}

/// Sends `form` and classifies the outcome.
pub(crate) async fn create_message(
    request: reqwest::RequestBuilder,
    form: &[(&str, &str)],
) -> Attempt {
    let response = match request.form(form).send().await {
        Ok(response) => response,
        Err(err) if err.is_connect() => {
            return Attempt::Retry {
                message: format!("cannot connect to Twilio: {err}"),
                retry_after: None,
            }
        }
        Err(err) => {
            return Attempt::Unknown(format!(
                "Twilio request failed after sending; the part may have been sent: {err}"
            ))
        }
    };
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let text = match response.text().await {
        Ok(text) => text,
        Err(err) if status.is_success() => {
            return Attempt::Unknown(format!(
                "Twilio accepted the part but its answer was lost: {err}"
            ))
        }
        Err(_) => String::new(),
    };
    if status.is_success() {
        return match serde_json::from_str::<Created>(&text)
            .ok()
            .and_then(|c| c.sid)
        {
            Some(sid) => Attempt::Created(sid),
            None => Attempt::Unknown(format!(
                "Twilio answered HTTP {status} without a message sid; the part may have been sent"
            )),
        };
    }
    let error = serde_json::from_str::<ErrorBody>(&text).ok();
    let code = error
        .as_ref()
        .and_then(|e| e.code.as_ref())
        .and_then(|c| match c {
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        });
    let detail = error
        .and_then(|e| e.message)
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let message = match &code {
        Some(code) => format!("Twilio error {code}: {detail} (HTTP {})", status.as_u16()),
        None => format!("Twilio HTTP {}: {detail}", status.as_u16()),
    };
    if status.as_u16() == 429 || status.is_server_error() || code.as_deref() == Some("20429") {
        Attempt::Retry {
            message,
            retry_after,
        }
    } else {
        Attempt::Refused { message, code }
    }
}

/// `Retry-After` in seconds, when given that way.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map(Duration::from_secs_f64)
}
