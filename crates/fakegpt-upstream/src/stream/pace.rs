//! The pause before each answer event.
//!
//! Tokio's timers count whole milliseconds, so pauses of a millisecond or
//! more are plain `tokio::time::sleep`s (as they always were), and shorter
//! ones keep to a schedule instead: event `n` is due `n + 1` pauses after
//! the first was asked for, and each deadline is reached by sleeping on a
//! blocking thread, which wakes to the microsecond. Falling behind the
//! schedule is caught up, but never by sending several events at once.

use std::time::{Duration, Instant};

/// Paces one stream's events.
pub(crate) struct Pacer {
    delay: Duration,
    start: Option<Instant>,
}

/// Pauses from here down keep to the schedule.
const FINE: Duration = Duration::from_millis(1);

impl Pacer {
    pub(crate) fn new(delay: Duration) -> Pacer {
        Pacer { delay, start: None }
    }

    /// Waits until event `n` (counted from 0) is due.
    pub(crate) async fn wait(&mut self, n: usize) {
        if self.delay.is_zero() {
            return;
        }
        if self.delay >= FINE {
            tokio::time::sleep(self.delay).await;
            return;
        }
        let start = *self.start.get_or_insert_with(Instant::now);
        let due = u32::try_from(n + 1)
            .ok()
            .and_then(|events| self.delay.checked_mul(events))
            .and_then(|offset| start.checked_add(offset));
        match due {
            Some(due) if due > Instant::now() => sleep_until(due).await,
            // Late: let the event before this one go out on its own first.
            _ => tokio::task::yield_now().await,
        }
    }
}

/// Sleeps until `deadline`, to the microsecond rather than the millisecond.
async fn sleep_until(deadline: Instant) {
    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
        return;
    };
    // Whole milliseconds with the timer, the rest on a blocking thread.
    if left > 2 * FINE {
        tokio::time::sleep(left - FINE).await;
    }
    let block = move || {
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left);
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            // A failed join means the runtime is going away: nothing to pace.
            let _ = runtime.spawn_blocking(block).await;
        }
        Err(_) => block(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sub_millisecond_pauses_add_up() {
        let mut pacer = Pacer::new(Duration::from_micros(200));
        let start = Instant::now();
        for n in 0..50 {
            pacer.wait(n).await;
        }
        // 50 events at 0.2 ms: 10 ms at least (never an upper bound here).
        assert!(start.elapsed() >= Duration::from_millis(10));
    }
}
