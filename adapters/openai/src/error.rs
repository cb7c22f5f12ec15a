//! Maps HTTP failures and error bodies onto `LlmError`.

use std::time::Duration;

use serde_json::Value;
use whatsapp_agent::ports::LlmError;

/// Codes that mean "pay or raise your limit": a retry cannot help.
fn is_billing(code: &str) -> bool {
    code.split('/').any(|part| {
        matches!(
            part,
            "insufficient_quota" | "billing_hard_limit_reached" | "credit_balance_exhausted"
        ) || part.ends_with("spend_limit_exceeded")
    })
}

/// The `error` object's message and its code and type (joined, e.g.
/// `context_length_exceeded/invalid_request_error`), from `{"error": {...}}` or
/// `{"error": "..."}`.
pub fn describe(error: &Value) -> (String, String) {
    match error {
        Value::Object(map) => {
            let message = map
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error")
                .to_string();
            let code = ["code", "type"]
                .iter()
                .filter_map(|k| map.get(*k).and_then(Value::as_str))
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join("/");
            (message, code)
        }
        Value::String(message) => (message.clone(), String::new()),
        other => (other.to_string(), String::new()),
    }
}

/// Classifies an HTTP error response.
pub fn from_status(status: u16, body: &str, retry_after: Option<Duration>) -> LlmError {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let (message, code) = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .map(describe)
        .unwrap_or_else(|| (body.chars().take(300).collect(), String::new()));
    let detail = if code.is_empty() {
        format!("HTTP {status}: {message}")
    } else {
        format!("HTTP {status} {code}: {message}")
    };
    match status {
        429 if is_billing(&code) => LlmError::Rejected(detail),
        429 => LlmError::RateLimited { retry_after },
        408 => LlmError::Timeout,
        500..=599 => LlmError::Unavailable(detail),
        _ => LlmError::Rejected(detail),
    }
}

/// Classifies an `error` object that arrived inside a stream.
pub fn from_stream_error(error: &Value) -> LlmError {
    let (message, code) = describe(error);
    let detail = if code.is_empty() {
        message
    } else {
        format!("{code}: {message}")
    };
    if is_billing(&code) || code.contains("invalid") || code.contains("context_length") {
        LlmError::Rejected(detail)
    } else if code.contains("rate_limit") {
        LlmError::RateLimited { retry_after: None }
    } else {
        LlmError::Unavailable(detail)
    }
}

/// Classifies a transport failure.
pub fn from_transport(err: &reqwest::Error) -> LlmError {
    if err.is_timeout() {
        LlmError::Timeout
    } else if err.is_decode() {
        LlmError::BadResponse(err.to_string())
    } else {
        LlmError::Unavailable(err.to_string())
    }
}

/// `Retry-After` (seconds or HTTP date) or `retry-after-ms`.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(Duration::from_secs_f64((ms / 1000.0).max(0.0)));
    }
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Some(Duration::from_secs_f64(seconds.max(0.0)));
    }
    httpdate_delay(value)
}

/// Seconds until an IMF-fixdate such as `Wed, 21 Oct 2015 07:28:00 GMT`.
fn httpdate_delay(value: &str) -> Option<Duration> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.len() != 6 {
        return None;
    }
    let day: i64 = parts[1].parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as i64
        + 1;
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<i64> = parts[4].split(':').filter_map(|p| p.parse().ok()).collect();
    if hms.len() != 3 {
        return None;
    }
    // Days from civil date (proleptic Gregorian), after H. Hinnant's algorithm.
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let at = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    Some(Duration::from_secs((at - now).max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_is_never_retryable_but_rate_limits_are() {
        let quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        assert!(!from_status(429, quota, None).is_retryable());
        let rate = r#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
        assert!(from_status(429, rate, Some(Duration::from_secs(1))).is_retryable());
        assert!(from_status(503, "overloaded", None).is_retryable());
        assert!(!from_status(401, r#"{"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#, None).is_retryable());
    }

    #[test]
    fn http_dates_in_the_past_mean_now() {
        assert_eq!(
            httpdate_delay("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(httpdate_delay("soon"), None);
    }
}
