//! Send rate limits as DynamoDB-friendly counters: a cooldown timestamp per destination, and
//! fixed hourly buckets per destination and per client IP, each a plain conditional increment so
//! they join the record's write in one transaction (no read first).
//!
//! Fixed buckets let a client spend one hour's allowance at the end of an hour and the next at
//! the start of the next: up to twice the hourly limit in a short burst. The cooldown bounds how
//! fast that burst can be, which is the trade for needing no read on the request path.

use serde::Serialize;

const HOUR: i64 = 3600;

/// The limits that apply to one send, resolved from the settings and the request.
#[derive(Debug, Clone)]
pub struct SendGuards {
    pub destination_key: String,
    pub ip_key: Option<String>,
    pub now: i64,
    pub cooldown_seconds: i64,
    pub max_per_destination_hour: u32,
    pub max_per_ip_hour: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    DestinationCooldown,
    DestinationHourly,
    IpHourly,
    OtpSends,
}

/// A refused send, and when waiting would help (`None`: it will not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub scope: LimitScope,
    pub retry_after: Option<i64>,
}

impl SendGuards {
    pub fn hour_bucket(&self) -> i64 {
        self.now.div_euclid(HOUR)
    }

    /// Seconds until the current hourly bucket closes.
    pub fn until_next_hour(&self) -> i64 {
        (self.hour_bucket() + 1) * HOUR - self.now
    }

    /// Seconds until a destination last sent to at `last` may be sent to again.
    pub fn cooldown_left(&self, last: i64) -> i64 {
        (last + self.cooldown_seconds - self.now).max(1)
    }

    /// The newest previous send that still allows sending now.
    pub fn cooldown_cutoff(&self) -> i64 {
        self.now - self.cooldown_seconds
    }

    /// When rate-limit items may be deleted by TTL: after they can no longer matter.
    pub fn counters_ttl(&self) -> i64 {
        (self.hour_bucket() + 2) * HOUR
    }

    pub fn cooldown_ttl(&self) -> i64 {
        self.now + self.cooldown_seconds + HOUR
    }

    pub fn hourly(&self, scope: LimitScope) -> RateLimited {
        RateLimited {
            scope,
            retry_after: Some(self.until_next_hour()),
        }
    }

    /// Of several limits hit at once, the one to report: the longest wait is the honest one.
    pub fn worst(limits: impl IntoIterator<Item = RateLimited>) -> Option<RateLimited> {
        limits
            .into_iter()
            .max_by_key(|l| l.retry_after.unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guards(now: i64) -> SendGuards {
        SendGuards {
            destination_key: "d".into(),
            ip_key: None,
            now,
            cooldown_seconds: 30,
            max_per_destination_hour: 5,
            max_per_ip_hour: 50,
        }
    }

    #[test]
    fn hourly_waits_end_at_the_bucket_boundary() {
        let g = guards(7200 + 100);
        assert_eq!(g.hour_bucket(), 2);
        assert_eq!(g.until_next_hour(), 3500);
        assert_eq!(g.cooldown_left(7200 + 90), 20);
    }

    #[test]
    fn the_longest_wait_is_reported_and_never_is_longest() {
        let a = RateLimited {
            scope: LimitScope::DestinationCooldown,
            retry_after: Some(20),
        };
        let b = RateLimited {
            scope: LimitScope::IpHourly,
            retry_after: Some(3000),
        };
        let c = RateLimited {
            scope: LimitScope::OtpSends,
            retry_after: None,
        };
        assert_eq!(SendGuards::worst([a, b]), Some(b));
        assert_eq!(SendGuards::worst([a, c, b]), Some(c));
    }
}
