//! Time as the rules see it: whole Unix seconds, the unit DynamoDB conditions compare.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> i64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }
}

/// The system clock shifted by an adjustable offset: lets a test move past an expiry without
/// sleeping, while the backend still sees real, advancing time.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset: AtomicI64,
}

impl ShiftedClock {
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> i64 {
        SystemClock.now() + self.offset.load(Ordering::SeqCst)
    }
}

/// RFC 3339 in UTC with second precision, e.g. `2026-11-21T10:00:00Z`. RFC 3339 has four-digit
/// years, so a timestamp outside years 0000 to 9999 (only a corrupt record could hold one) is
/// shown as the nearest end of that range rather than as an empty string.
pub fn rfc3339(unix_seconds: i64) -> String {
    /// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
    const RANGE: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;
    let clamped = unix_seconds.clamp(*RANGE.start(), *RANGE.end());
    #[allow(clippy::expect_used)] // Every second of years 0000 to 9999 formats.
    time::OffsetDateTime::from_unix_timestamp(clamped)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .expect("a timestamp in years 0000 to 9999 formats as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MIN), "0000-01-01T00:00:00Z");
        let clock = ShiftedClock::default();
        let before = clock.now();
        clock.advance(600);
        assert!(clock.now() >= before + 600);
    }
}
