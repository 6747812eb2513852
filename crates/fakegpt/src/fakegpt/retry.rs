//! Which failures are retried, and after how long.

use std::time::Duration;

use rand::Rng;

use crate::error::{Error, TimeoutKind};
use crate::provider::RetryPolicy;

/// Whether `err` is worth another attempt: the connection failed (or broke
/// before any text), or the upstream answered 429 or 5xx.
pub fn retryable(err: &Error) -> bool {
    match err {
        Error::Connect { .. } => true,
        Error::Timeout {
            kind: TimeoutKind::Connect,
            ..
        } => true,
        Error::Status { status, .. } => *status == 429 || (500..=599).contains(status),
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
    if let Error::Status {
        retry_after: Some(secs),
        ..
    } = err
    {
        let asked = Duration::from_secs(*secs);
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
    use crate::error::Step;

    fn status(status: u16, retry_after: Option<u64>) -> Error {
        Error::Status {
            step: Step::Conversation,
            status,
            retry_after,
            body: String::new(),
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        assert!(retryable(&status(429, None)));
        assert!(retryable(&status(502, None)));
        assert!(!retryable(&status(400, None)));
        assert!(!retryable(&status(403, None)));
        assert!(!retryable(&Error::NoValidResponse));
        assert!(retryable(&Error::Connect {
            step: Step::Loads,
            reason: "refused".into()
        }));
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
