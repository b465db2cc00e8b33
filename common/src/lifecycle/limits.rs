//! Send rate limits as DynamoDB-friendly counters: a cooldown timestamp per destination, and
//! fixed hourly buckets per destination, per end-user IP and per tenant, each a plain conditional increment so
//! they join the record's write in one transaction (no read first).
//!
//! Fixed buckets let a client spend one hour's allowance at the end of an hour and the next at
//! the start of the next: up to twice the hourly limit in a short burst. The cooldown bounds how
//! fast that burst can be, which is the trade for needing no read on the request path.
//!
//! [`SendGuards::violations`] is the rule; the in-memory store calls it, and the DynamoDB
//! adapter's `limit_items` expresses it as one condition per counter.

use super::status::OtpStatus;
use crate::record::OtpRecord;
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
    /// The tenant-wide hourly budget; `None` for sends that belong to no tenant (tests of the
    /// worker and replayer, which never go through the API).
    pub tenant: Option<TenantBudget>,
}

/// One tenant's sends per hour, all destinations and end users together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantBudget {
    pub tenant: String,
    pub max_per_hour: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    DestinationCooldown,
    DestinationHourly,
    IpHourly,
    /// The tenant's whole hourly budget is spent.
    TenantHourly,
    OtpSends,
    /// The destination's wrong guesses this hour spent its guess budget (see
    /// [`super::guesses`]): a new code could not be verified before the hour ends.
    DestinationGuesses,
}

/// What the counters of one send's destination and IP hold before the send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeenCounts {
    /// When the destination was last sent to (the cooldown item), if it was.
    pub last_send: Option<i64>,
    /// Sends to the destination in the current hour.
    pub destination_hour: u32,
    /// Sends from the client IP in the current hour (0 when the request has none).
    pub ip_hour: u32,
    /// Sends of the tenant in the current hour (0 when the send has no tenant).
    pub tenant_hour: u32,
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

    /// The limits one more send would exceed, given the counters as they are; empty when the
    /// send may go ahead. DynamoDB's conditions: `attribute_not_exists(#last) OR #last <=
    /// :cutoff` on the cooldown, `attribute_not_exists(#n) OR #n < :max` on each hourly counter.
    pub fn violations(&self, seen: SeenCounts) -> Vec<RateLimited> {
        let mut hit = Vec::new();
        if let Some(last) = seen.last_send
            && last > self.cooldown_cutoff()
        {
            hit.push(RateLimited {
                scope: LimitScope::DestinationCooldown,
                retry_after: Some(self.cooldown_left(last)),
            });
        }
        if seen.destination_hour >= self.max_per_destination_hour {
            hit.push(self.hourly(LimitScope::DestinationHourly));
        }
        if self.ip_key.is_some() && seen.ip_hour >= self.max_per_ip_hour {
            hit.push(self.hourly(LimitScope::IpHourly));
        }
        if let Some(budget) = &self.tenant
            && seen.tenant_hour >= budget.max_per_hour
        {
            hit.push(self.hourly(LimitScope::TenantHourly));
        }
        hit
    }

    /// Of several limits hit at once, the one to report: the longest wait is the honest one.
    pub fn worst(limits: impl IntoIterator<Item = RateLimited>) -> Option<RateLimited> {
        limits
            .into_iter()
            .max_by_key(|l| l.retry_after.unwrap_or(i64::MAX))
    }
}

/// Why a resend is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendRefusal {
    /// A limit says no (the per-OTP send cap, or a send rate limit).
    Limited(RateLimited),
    /// The record changed since it was read: verified, locked, expired, or another resend won.
    Changed,
}

/// The per-OTP send cap, step 1 of [`resend_refusal`].
pub fn sends_exhausted(read: &OtpRecord, max_sends: u32) -> Option<RateLimited> {
    (read.sends >= max_sends).then_some(RateLimited {
        scope: LimitScope::OtpSends,
        retry_after: None,
    })
}

/// The resend rule, in the order both stores decide it:
/// 1. the per-OTP send cap, on the record as the caller read it: it needs no write to check,
///    and never lifts by waiting, so it is the honest answer even if the record moved since;
/// 2. the record unchanged since that read (same send count, still pending): the DynamoDB
///    adapter's condition `attribute_exists(#slot) AND attempts < max_attempts AND expires_at >
///    :now AND sends = :seen` says the same;
/// 3. the send rate limits ([`SendGuards::violations`]), the longest wait reported.
///
/// `current` is the record as stored now (`None`: gone).
pub fn resend_refusal(
    read: &OtpRecord,
    current: Option<&OtpRecord>,
    max_sends: u32,
    guards: &SendGuards,
    limits: impl IntoIterator<Item = RateLimited>,
) -> Option<ResendRefusal> {
    if let Some(cap) = sends_exhausted(read, max_sends) {
        return Some(ResendRefusal::Limited(cap));
    }
    let unchanged = current.is_some_and(|current| {
        current.sends == read.sends && current.status(guards.now) == OtpStatus::Pending
    });
    if !unchanged {
        return Some(ResendRefusal::Changed);
    }
    SendGuards::worst(limits).map(ResendRefusal::Limited)
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
            tenant: None,
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

    #[test]
    fn a_send_is_refused_by_each_counter_at_its_limit_and_not_below() {
        let mut g = guards(7200 + 100);
        let seen = |last_send, destination_hour, ip_hour| SeenCounts {
            last_send,
            destination_hour,
            ip_hour,
            tenant_hour: 0,
        };
        assert!(g.violations(SeenCounts::default()).is_empty());
        assert!(g.violations(seen(Some(7200 + 70), 4, 0)).is_empty());
        let scopes = |hit: Vec<RateLimited>| hit.iter().map(|l| l.scope).collect::<Vec<_>>();
        assert_eq!(
            g.violations(seen(Some(7200 + 71), 0, 0)),
            [RateLimited {
                scope: LimitScope::DestinationCooldown,
                retry_after: Some(1)
            }]
        );
        assert_eq!(
            scopes(g.violations(seen(None, 5, 50))),
            [LimitScope::DestinationHourly],
            "no IP key: the IP counter does not apply"
        );
        g.ip_key = Some("ip".into());
        assert_eq!(scopes(g.violations(seen(None, 0, 49))), []);
        assert_eq!(
            scopes(g.violations(seen(Some(7200 + 90), 5, 50))),
            [
                LimitScope::DestinationCooldown,
                LimitScope::DestinationHourly,
                LimitScope::IpHourly
            ]
        );
    }

    fn record(now: i64) -> OtpRecord {
        use crate::domain::{Channel, OtpId};
        OtpRecord::issued(crate::record::Issue {
            id: OtpId::new_random(),
            channel: Channel::Email,
            masked_destination: "j***@example.com".into(),
            destination_key: "dk".into(),
            locale: "en".into(),
            code_slot: "live_right".into(),
            sealed: "sealed".into(),
            created_at: now,
            expires_at: now + 600,
            max_attempts: 5,
        })
    }

    #[test]
    fn a_resend_is_refused_by_the_cap_then_a_changed_record_then_the_longest_limit() {
        let now = 7200 + 100;
        let g = guards(now);
        let hourly = g.hourly(LimitScope::DestinationHourly);
        let mut read = record(now);
        read.sends = 3;
        let mut moved = read.clone();
        moved.sends = 4;

        // The cap holds even when the record moved since, and waiting never lifts it.
        let cap = resend_refusal(&read, Some(&moved), 3, &g, [hourly]);
        assert_eq!(
            cap,
            Some(ResendRefusal::Limited(RateLimited {
                scope: LimitScope::OtpSends,
                retry_after: None
            }))
        );
        // A changed or vanished record beats the counters: the client must re-read, not wait.
        assert_eq!(
            resend_refusal(&read, Some(&moved), 5, &g, [hourly]),
            Some(ResendRefusal::Changed)
        );
        assert_eq!(
            resend_refusal(&read, None, 5, &g, []),
            Some(ResendRefusal::Changed)
        );
        let mut verified = read.clone();
        verified.code_slot = None;
        assert_eq!(
            resend_refusal(&read, Some(&verified), 5, &g, []),
            Some(ResendRefusal::Changed)
        );
        assert_eq!(
            resend_refusal(&read, Some(&read), 5, &g, [hourly]),
            Some(ResendRefusal::Limited(hourly))
        );
        assert_eq!(resend_refusal(&read, Some(&read), 5, &g, []), None);
    }
}

#[cfg(test)]
mod tenant_budget_tests {
    use super::*;

    #[test]
    fn the_tenant_budget_refuses_at_its_limit_and_only_when_the_send_has_a_tenant() {
        let mut g = SendGuards {
            destination_key: "d".into(),
            ip_key: None,
            now: 100,
            cooldown_seconds: 30,
            max_per_destination_hour: 5,
            max_per_ip_hour: 50,
            tenant: None,
        };
        let seen = |tenant_hour| SeenCounts {
            tenant_hour,
            ..SeenCounts::default()
        };
        assert!(g.violations(seen(1_000)).is_empty(), "no tenant, no budget");
        g.tenant = Some(TenantBudget {
            tenant: "acme".into(),
            max_per_hour: 3,
        });
        assert!(g.violations(seen(2)).is_empty());
        assert_eq!(
            g.violations(seen(3)),
            [RateLimited {
                scope: LimitScope::TenantHourly,
                retry_after: Some(3500)
            }]
        );
    }
}
