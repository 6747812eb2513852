//! Which failures are retried, and after how long.

use std::time::Duration;

use rand::Rng;

use crate::error::{Error, ErrorKind, TimeoutKind};
use crate::request::RetryPolicy;

/// Whether `err` is worth another attempt: the connection failed (or broke
/// before any text), or the upstream answered 429 or 5xx.
pub fn retryable(err: &Error) -> bool {
    match err.kind() {
        ErrorKind::Connect | ErrorKind::RateLimited => true,
        ErrorKind::Timeout => err.timeout_kind() == Some(TimeoutKind::Connect),
        ErrorKind::UpstreamStatus => err.status().is_some_and(|s| (500..=599).contains(&s)),
        _ => false,
    }
}

/// The wait before attempt `attempt + 1` after `err`, or `None` when the
/// upstream asks for a longer wait than the policy allows.
pub fn delay(
    policy: &RetryPolicy,
    attempt: u32,
    err: &Error,
    rng: &mut impl Rng,
) -> Option<Duration> {
    if let Some(asked) = err.retry_after() {
        return (asked <= policy.max_retry_after).then_some(asked);
    }
    let exponent = attempt.saturating_sub(1).min(20);
    let full = policy
        .base_delay
        .saturating_mul(1u32 << exponent)
        .min(policy.max_delay);
    // "Equal jitter": half fixed, half random, so waits neither pile up in
    // step nor collapse to zero.
    let half = full / 2;
    let jitter = rng.random_range(0..=half.as_micros().min(u128::from(u64::MAX)) as u64);
    Some(half + Duration::from_micros(jitter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat_shared::step::Step;

    fn status(status: u16, retry_after: Option<u64>) -> Error {
        Step::Conversation.status(status, retry_after, "")
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(retryable(&status(429, None)));
        assert!(retryable(&status(502, None)));
        assert!(!retryable(&status(400, None)));
        assert!(!retryable(&status(403, None)));
        assert!(!retryable(&crate::chat_shared::decode::no_valid_response()));
        assert!(retryable(&Step::Loads.error(ErrorKind::Connect, "refused")));
    }

    #[test]
    fn delays_double_with_jitter_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rng();
        for attempt in 1..=8 {
            let full = (policy.base_delay * (1 << (attempt - 1))).min(policy.max_delay);
            let d = delay(&policy, attempt, &status(500, None), &mut rng).unwrap();
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d:?} vs {full:?}"
            );
        }
        assert_eq!(
            delay(&policy, 1, &status(429, Some(5)), &mut rng),
            Some(Duration::from_secs(5))
        );
        assert_eq!(delay(&policy, 1, &status(429, Some(31)), &mut rng), None);
    }
}
