//! Request rates: a token bucket per credential (every authenticated request) and per chat user
//! (`/chat/` and `/chat/stream`), in memory, per instance. Over the limit the answer is 429
//! with `Retry-After` in whole seconds.
//!
//! Buckets live in a few independently locked shards, so concurrent requests rarely meet on a
//! lock and no lock is held for more than a map lookup. A bucket idle long enough to be full
//! again is the same as no bucket, so such buckets are dropped when a shard grows; past
//! [`MAX_KEYS_PER_SHARD`] the least recently used goes too, which bounds memory whatever keys
//! callers invent. Limits are per instance: N instances allow N times the rate.

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use futures::FutureExt;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use poem_openapi::types::ToJSON;
use serde_json::Value;

use crate::allow::AllowedMethods;
use crate::auth::{API_KEY, USER_TOKEN};
use crate::error::{ErrorBody, Failure};
use crate::state::AppState;

const SHARDS: usize = 16;
/// Buckets one shard keeps at most.
pub const MAX_KEYS_PER_SHARD: usize = 4096;

/// The configured rates; a `*_per_minute` of 0 means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub per_key_per_minute: u32,
    pub per_key_burst: u32,
    pub per_user_per_minute: u32,
    pub per_user_burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            per_key_per_minute: 1200,
            per_key_burst: 120,
            per_user_per_minute: 30,
            per_user_burst: 10,
        }
    }
}

/// The request limiters of one instance.
pub struct RequestLimits {
    /// Keyed by the credential ([`whatsapp_agent::access::Caller::rate_key`]).
    pub per_key: RateLimiter,
    /// Keyed by the chat `user_id` a turn acts as.
    pub per_user: RateLimiter,
}

impl RequestLimits {
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            per_key: RateLimiter::new(settings.per_key_per_minute, settings.per_key_burst),
            per_user: RateLimiter::new(settings.per_user_per_minute, settings.per_user_burst),
        }
    }

    /// Counts a turn for chat user `user_id`.
    ///
    /// # Errors
    /// A 429 [`Failure`] when the user is over their rate.
    pub fn admit_user(&self, user_id: &str) -> std::result::Result<(), Failure> {
        self.per_user.check(user_id).map_err(|retry| {
            too_many(
                "too many messages for this user_id; retry later",
                retry_after_secs(retry),
            )
        })
    }
}

fn too_many(message: &str, retry_after: u64) -> Failure {
    Failure::TooManyRequests(ErrorBody::new("rate_limited", message), retry_after)
}

/// `Retry-After` for a wait: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[derive(Clone, Copy, Debug)]
struct Rate {
    per_sec: f64,
    burst: f64,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per key: `burst` requests at once, refilled at `per_minute`.
pub struct RateLimiter {
    rate: Option<Rate>,
    hasher: std::collections::hash_map::RandomState,
    shards: Vec<Mutex<HashMap<String, Bucket>>>,
}

impl RateLimiter {
    /// `per_minute` 0 allows everything; a `burst` of 0 counts as 1.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let rate = (per_minute > 0).then(|| Rate {
            per_sec: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
        });
        Self {
            rate,
            hasher: std::collections::hash_map::RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// Takes a token from `key`'s bucket.
    ///
    /// # Errors
    /// How long until the bucket holds a token again, when it holds none now.
    pub fn check(&self, key: &str) -> std::result::Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> std::result::Result<(), Duration> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        let mut buckets = self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !buckets.contains_key(key) && buckets.len() >= MAX_KEYS_PER_SHARD {
            evict(&mut buckets, rate, now);
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let idle = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + idle * rate.per_sec).min(rate.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / rate.per_sec,
            ))
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

/// Makes room in a full shard: buckets that have refilled completely go (they are the same as
/// none), and if that frees nothing, the least recently used eighth, so that a stream of new
/// keys costs a scan only every few hundred requests.
fn evict(buckets: &mut HashMap<String, Bucket>, rate: Rate, now: Instant) {
    let refill = Duration::from_secs_f64(rate.burst / rate.per_sec);
    buckets.retain(|_, b| now.saturating_duration_since(b.at) < refill);
    if buckets.len() >= MAX_KEYS_PER_SHARD {
        let mut times: Vec<Instant> = buckets.values().map(|b| b.at).collect();
        let cut = times.len() / 8;
        let (_, threshold, _) = times.select_nth_unstable(cut);
        let threshold = *threshold;
        buckets.retain(|_, b| b.at > threshold);
    }
}

/// Whether a spec operation's `security` takes an API key or a user token (the provider's
/// signed webhooks take neither).
pub(crate) fn takes_credential(security: Option<&Value>) -> bool {
    security
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .any(|scheme| scheme.contains_key(API_KEY) || scheme.contains_key(USER_TOKEN))
}

/// The per-credential limit, applied before the handler runs to every request for an operation
/// that takes a credential (those the spec gives a security requirement). A request whose
/// credential does not check out is left to its handler, which answers 401 or 503.
pub struct PerKeyLimit {
    secured: AllowedMethods,
}

impl PerKeyLimit {
    /// Covers the operations the published spec secures.
    pub fn for_secured_operations() -> Self {
        let doc = crate::spec::document();
        let paths: Vec<(String, Vec<String>)> = doc
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(path, item)| {
                let methods: Vec<String> = item
                    .as_object()?
                    .iter()
                    .filter(|(_, op)| takes_credential(op.get("security")))
                    .map(|(method, _)| method.to_ascii_uppercase())
                    .collect();
                (!methods.is_empty()).then(|| (path.clone(), methods))
            })
            .collect();
        Self {
            secured: AllowedMethods::new(paths.iter().map(|(p, m)| (p.as_str(), m.clone()))),
        }
    }
}

impl<E: Endpoint> Middleware<E> for PerKeyLimit {
    type Output = PerKeyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        PerKeyLimitEndpoint {
            inner: ep,
            secured: self.secured.clone(),
        }
    }
}

pub struct PerKeyLimitEndpoint<E> {
    inner: E,
    secured: AllowedMethods,
}

impl<E> PerKeyLimitEndpoint<E> {
    fn covers(&self, req: &Request) -> bool {
        self.secured
            .for_path(req.uri().path())
            .is_some_and(|methods| methods.split(", ").any(|m| m == req.method().as_str()))
    }
}

impl<E: Endpoint> Endpoint for PerKeyLimitEndpoint<E> {
    type Output = Response;

    // Combinators, not an `async fn`: the request is held by the check, then by the inner
    // endpoint, never by both at once.
    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        if !self.covers(&req) {
            return Either::Left(
                self.inner
                    .call(req)
                    .map(|r| r.map(IntoResponse::into_response)),
            );
        }
        Either::Right(checked(req).then(move |checked| {
            match checked {
                Ok(req) => Either::Left(
                    self.inner
                        .call(req)
                        .map(|r| r.map(IntoResponse::into_response)),
                ),
                Err(refused) => Either::Right(future::ready(Ok(refused))),
            }
        }))
    }
}

/// Authenticates a covered request once and counts it against its credential's rate: the
/// request back, carrying the outcome for the operation's extractor, or the 429 to answer.
async fn checked(mut req: Request) -> Result<Request, Response> {
    let Some(state) = req.data::<AppState>() else {
        return Ok(req);
    };
    let caller = state.access.authenticate(req.header("Authorization")).await;
    let limited = match &caller {
        Ok(caller) => state.limits.per_key.check(&caller.rate_key()).err(),
        Err(_) => None,
    };
    // The operation's extractor reuses this outcome instead of checking again.
    req.extensions_mut().insert(crate::auth::Checked(caller));
    let Some(wait) = limited else {
        return Ok(req);
    };
    let retry_after = retry_after_secs(wait);
    tracing::info!(retry_after, "credential over its request rate");
    let body = ErrorBody::new(
        "rate_limited",
        "too many requests for this credential; retry later",
    );
    Err(Response::builder()
        .status(StatusCode::TOO_MANY_REQUESTS)
        .content_type("application/json; charset=utf-8")
        .header("Retry-After", retry_after.to_string())
        .body(body.to_json_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_rate() {
        let limiter = RateLimiter::new(60, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("k", start).is_ok());
        }
        let wait = limiter.check_at("k", start).expect_err("over the burst");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // One token a second comes back.
        assert!(limiter
            .check_at("k", start + Duration::from_secs(1))
            .is_ok());
        assert!(limiter
            .check_at("k", start + Duration::from_secs(1))
            .is_err());
        // Other keys have their own buckets.
        assert!(limiter.check_at("other", start).is_ok());
    }

    #[test]
    fn zero_per_minute_is_unlimited() {
        let limiter = RateLimiter::new(0, 0);
        let now = Instant::now();
        for _ in 0..10_000 {
            assert!(limiter.check_at("k", now).is_ok());
        }
        assert_eq!(limiter.len(), 0);
    }

    #[test]
    fn memory_stays_bounded_whatever_the_keys() {
        let limiter = RateLimiter::new(60, 1);
        let now = Instant::now();
        for i in 0..(SHARDS * MAX_KEYS_PER_SHARD * 2) {
            let _ = limiter.check_at(&format!("user-{i}"), now);
        }
        assert!(limiter.len() <= SHARDS * MAX_KEYS_PER_SHARD);
        // A key that was evicted starts again with a full bucket: never stricter than the rate.
        assert!(limiter.check_at("user-0", now).is_ok());
    }

    #[test]
    fn retry_after_is_whole_seconds_and_at_least_one() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
