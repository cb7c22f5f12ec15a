//! Capped exponential backoff with jitter, for jobs put back in the queue.

use std::time::Duration;

/// The wait after failed attempt number `attempts` (1-based): `base` doubled per attempt,
/// capped at `max`, then drawn between half of that and all of it, so that jobs failed by the
/// same outage do not all come back at the same instant.
pub fn delay(attempts: u32, base: Duration, max: Duration) -> Duration {
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(31)))
        .min(max);
    let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    let half = millis / 2;
    Duration::from_millis(half + random_below(half + 1))
}

fn random_below(bound: u64) -> u64 {
    let mut bytes = [0u8; 8];
    // Without entropy the wait is the upper bound: still capped, only not spread.
    if getrandom::getrandom(&mut bytes).is_err() || bound == 0 {
        return bound.saturating_sub(1);
    }
    u64::from_le_bytes(bytes) % bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_per_attempt_is_capped_and_spread() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let first = delay(1, base, max);
        assert!(first >= Duration::from_millis(50) && first <= base);
        let third = delay(3, base, max);
        assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
        for attempts in [10, 40, u32::MAX] {
            let late = delay(attempts, base, max);
            assert!(late >= max / 2 && late <= max);
        }
    }
}
