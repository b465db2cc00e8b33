//! One pacer for every "at most so many per second": the worker's provider calls and the
//! replayer's `--rate`. A virtual schedule (GCRA): each call is due `1 / rate` after the one
//! before, and may go `burst` calls early. Time not used is not saved up beyond that burst, so a
//! caller that fell behind (slow calls) does not catch up in a rush.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    per_call: Duration,
    /// How far ahead of its slot a call may go: `burst` slots.
    early: Duration,
    /// When the schedule is next free; `None` before the first call.
    free_at: Mutex<Option<Instant>>,
}

impl Pacer {
    /// At most `rate` calls per second, with a burst of one second's worth (at least one):
    /// the worker's pace toward the provider.
    pub fn new(rate: f64) -> Self {
        Self::with_burst(rate, rate.max(1.0))
    }

    /// At most `rate` calls per second and no burst: the n-th call goes no earlier than
    /// n / rate seconds after the first wait began, so N calls take at least N / rate seconds.
    pub fn strict(rate: f64) -> Self {
        Self::with_burst(rate, 0.0)
    }

    fn with_burst(rate: f64, burst: f64) -> Self {
        let per_call = Duration::from_secs_f64(1.0 / rate);
        Self {
            per_call,
            early: per_call.mul_f64(burst),
            free_at: Mutex::new(None),
        }
    }

    /// Waits until one call may be made.
    pub async fn acquire(&self) {
        self.acquire_many(1).await;
    }

    /// Waits until `calls` more may be made at once. Cancel-safe: a caller dropped while
    /// waiting took nothing.
    pub async fn acquire_many(&self, calls: u32) {
        // The slot is counted from when the caller came, not from each wake-up.
        let arrived = Instant::now();
        loop {
            let go_at = {
                let mut free_at = self.free_at.lock().await;
                let now = Instant::now();
                let from = free_at.map_or(arrived, |at| at.max(arrived));
                let done = from + self.per_call * calls;
                let go_at = done.checked_sub(self.early).unwrap_or(now);
                if go_at <= now {
                    *free_at = Some(done);
                    return;
                }
                go_at
            };
            tokio::time::sleep_until(go_at).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn keeps_to_the_rate_after_the_burst() {
        let pacer = Pacer::new(10.0);
        let start = Instant::now();
        for _ in 0..30 {
            pacer.acquire().await;
        }
        // 10 from the burst, then 20 at 10 per second.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(1_950), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2_100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn strict_n_calls_take_at_least_n_over_rate_seconds() {
        let pacer = Pacer::strict(50.0);
        let start = Instant::now();
        for _ in 0..50 {
            pacer.acquire_many(10).await;
        }
        // 500 calls at 50 per second: the last ten go at 10 s, not before.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_secs(10), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(10_010), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn falling_behind_does_not_cause_a_burst() {
        let pacer = Pacer::strict(10.0);
        pacer.acquire_many(10).await; // 1 s
        tokio::time::sleep(Duration::from_secs(5)).await; // a slow call
        let before = Instant::now();
        pacer.acquire_many(10).await;
        assert!(before.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_dropped_takes_nothing() {
        let pacer = Pacer::strict(1.0);
        pacer.acquire().await; // 1 s
        let start = Instant::now();
        let dropped = tokio::time::timeout(Duration::from_millis(100), pacer.acquire()).await;
        assert!(dropped.is_err());
        pacer.acquire().await;
        // Its own second from when it came (0.1 s in), not a second slot after the dropped one.
        let elapsed = start.elapsed();
        assert!(elapsed <= Duration::from_millis(1_200), "{elapsed:?}");
    }
}
