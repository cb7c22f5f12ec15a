//! When and how long to wait before trying again.

use std::time::Duration;

use whatsapp_agent::ports::LlmError;

use crate::settings::OpenAiSettings;

/// The wait before attempt `attempt + 1`, or `None` when the error must be returned now.
pub fn delay_before_retry(
    settings: &OpenAiSettings,
    error: &LlmError,
    attempt: u32,
) -> Option<Duration> {
    if attempt >= settings.max_retries || !error.is_retryable() {
        return None;
    }
    if let LlmError::RateLimited {
        retry_after: Some(wait),
    } = error
    {
        // The server computed the wait; honour it, unless it is longer than we may block.
        return (*wait <= settings.max_retry_delay).then_some(*wait);
    }
    let ceiling = settings
        .retry_base_delay
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(settings.max_retry_delay);
    // Full jitter spreads retries of many clients hit by the same outage.
    let millis = ceiling.as_millis() as u64;
    Some(Duration::from_millis(
        millis / 2 + fastrand::u64(0..=millis / 2),
    ))
}
