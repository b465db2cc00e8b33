//! A token bucket: at most `rate` provider calls per second from this process, with a burst of
//! one second's worth. Waiting here is how the worker slows down before the provider throttles.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Pacer {
    pub fn new(rate: f64) -> Self {
        let burst = rate.max(1.0);
        Self {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until a call may be made. Cancel-safe: a caller dropped while waiting took nothing.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let (tokens, last) = &mut *state;
                let now = Instant::now();
                *tokens =
                    (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst);
                *last = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - *tokens) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn keeps_to_the_rate_after_the_burst() {
        let pacer = Pacer::new(10.0);
        let start = tokio::time::Instant::now();
        for _ in 0..30 {
            pacer.acquire().await;
        }
        // 10 from the burst, then 20 at 10 per second.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(1_950), "{elapsed:?}");
        assert!(elapsed <= Duration::from_millis(2_100), "{elapsed:?}");
    }
}
