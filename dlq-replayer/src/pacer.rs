//! `--rate`: jobs put back per second.
//!
//! The n-th job leaves no earlier than n / rate seconds after the first wait began, so N jobs
//! take at least N / rate seconds; a replay that falls behind (slow calls) does not catch up in
//! a burst. Jobs go in sends of at most `rate` jobs (1 to 10), so no second sees more than
//! about `rate` of them.

use std::str::FromStr;
use tokio::time::{Duration, Instant};

/// Jobs per second, from 0.1 to 10,000.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(f64);

impl Rate {
    pub fn per_second(self) -> f64 {
        self.0
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw.trim().parse::<f64>() {
            Ok(rate) if (0.1..=10_000.0).contains(&rate) => Ok(Self(rate)),
            _ => Err(format!(
                "{raw:?} is not a rate: give jobs per second, from 0.1 to 10000"
            )),
        }
    }
}

#[derive(Debug)]
pub struct Pacer {
    per_job: Option<Duration>,
    next: Option<Instant>,
    burst: usize,
}

impl Pacer {
    pub fn new(rate: Option<Rate>) -> Self {
        Self {
            per_job: rate.map(|r| Duration::from_secs_f64(1.0 / r.per_second())),
            next: None,
            burst: rate.map_or(crate::queues::BATCH, |r| {
                (r.per_second().floor() as usize).clamp(1, crate::queues::BATCH)
            }),
        }
    }

    /// How many jobs one send may carry.
    pub fn burst(&self) -> usize {
        self.burst
    }

    /// The longest one [`Pacer::wait_for`] of a full send can take.
    pub fn longest_wait(&self) -> Duration {
        self.per_job.unwrap_or_default() * self.burst as u32
    }

    /// Waits until `jobs` more may leave.
    pub async fn wait_for(&mut self, jobs: usize) {
        let Some(per_job) = self.per_job else {
            return;
        };
        let now = Instant::now();
        let from = self.next.map_or(now, |next| next.max(now));
        let due = from + per_job * jobs as u32;
        tokio::time::sleep_until(due).await;
        self.next = Some(due);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_outside_the_range_are_refused() {
        assert_eq!("50".parse::<Rate>().unwrap().per_second(), 50.0);
        assert_eq!("0.5".parse::<Rate>().unwrap().per_second(), 0.5);
        for bad in ["0", "-1", "abc", "", "20000", "NaN"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sends_carry_at_most_a_seconds_worth() {
        assert_eq!(Pacer::new(None).burst(), 10);
        assert_eq!(Pacer::new(Some(Rate(50.0))).burst(), 10);
        assert_eq!(Pacer::new(Some(Rate(3.7))).burst(), 3);
        assert_eq!(Pacer::new(Some(Rate(0.2))).burst(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn n_jobs_take_at_least_n_over_rate_seconds() {
        let mut pacer = Pacer::new(Some(Rate(50.0)));
        let start = Instant::now();
        for _ in 0..50 {
            pacer.wait_for(10).await;
        }
        // 500 jobs at 50 per second: the last send leaves at 10 s, not before.
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn falling_behind_does_not_cause_a_burst() {
        let mut pacer = Pacer::new(Some(Rate(10.0)));
        pacer.wait_for(10).await; // 1 s
        tokio::time::sleep(Duration::from_secs(5)).await; // a slow call
        let before = Instant::now();
        pacer.wait_for(10).await;
        assert_eq!(before.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn no_rate_means_no_wait() {
        let mut pacer = Pacer::new(None);
        let start = Instant::now();
        pacer.wait_for(1_000).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
