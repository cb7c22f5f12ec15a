//! When to send a part again, and after how long: exponential backoff with jitter, or the
//! server's `Retry-After`.

use std::time::Duration;

/// The wait before retry number `attempt + 1` (`attempt` retries already made), or `None` when
/// the failure must be returned now: retries used up, or a `Retry-After` longer than
/// `max_delay`.
pub(crate) fn delay_before_retry(
    attempt: u32,
    max_retries: u32,
    base: Duration,
    max_delay: Duration,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    if attempt >= max_retries {
        return None;
    }
    if let Some(wait) = retry_after {
        return (wait <= max_delay).then_some(wait);
    }
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt))
        .min(max_delay);
    // Half fixed, half random: spreads the retries of concurrent senders hit by the same limit.
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Some(Duration::from_millis(
        millis / 2 + fastrand::u64(0..=millis / 2),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        let first = delay_before_retry(0, 3, base, cap, None).unwrap_or_default();
        assert!(first >= Duration::from_millis(50) && first <= base);
        let third = delay_before_retry(2, 3, base, cap, None).unwrap_or_default();
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        let late = delay_before_retry(2, 9, Duration::from_secs(10), cap, None);
        assert!(late.is_some_and(|d| d <= cap));
        assert_eq!(delay_before_retry(3, 3, base, cap, None), None);
        let hinted = Some(Duration::from_millis(700));
        assert_eq!(delay_before_retry(0, 3, base, cap, hinted), hinted);
        assert_eq!(
            delay_before_retry(0, 3, base, cap, Some(Duration::from_secs(5))),
            None
        );
    }
}
