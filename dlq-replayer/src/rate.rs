//! `--rate`: jobs put back per second, paced by the shared [`common::pacer::Pacer`] with no
//! burst, so N jobs take at least N / rate seconds and a replay that falls behind (slow calls)
//! does not catch up in a rush. Jobs go in sends of at most `rate` jobs (1 to 10), so no second
//! sees more than about `rate` of them.

use common::pacer::Pacer;
use common::queue::BATCH;
use std::str::FromStr;
use std::time::Duration;

/// Jobs per second, from 0.1 to 10,000.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate(f64);

impl Rate {
    /// How many jobs one send may carry.
    pub fn burst(rate: Option<Self>) -> usize {
        rate.map_or(BATCH, |r| {
            (1..=BATCH).rev().find(|&n| n as f64 <= r.0).unwrap_or(1)
        })
    }

    /// The longest wait for the pacer before a full send.
    pub fn longest_wait(rate: Option<Self>) -> Duration {
        rate.map_or(Duration::ZERO, |r| {
            Duration::from_secs_f64(Self::burst(rate) as f64 / r.0)
        })
    }

    pub fn pacer(self) -> Pacer {
        Pacer::strict(self.0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_outside_the_range_are_refused() {
        assert_eq!("50".parse::<Rate>().unwrap().0, 50.0);
        assert_eq!("0.5".parse::<Rate>().unwrap().0, 0.5);
        for bad in ["0", "-1", "abc", "", "20000", "NaN"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn sends_carry_at_most_a_seconds_worth() {
        assert_eq!(Rate::burst(None), 10);
        assert_eq!(Rate::burst(Some(Rate(50.0))), 10);
        assert_eq!(Rate::burst(Some(Rate(3.7))), 3);
        assert_eq!(Rate::burst(Some(Rate(0.2))), 1);
        assert_eq!(Rate::longest_wait(Some(Rate(0.2))), Duration::from_secs(5));
    }
}
