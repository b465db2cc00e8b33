//! Outcome counters. In Lambda they are printed as CloudWatch embedded-metric-format lines
//! (CloudWatch turns them into metrics without an API call); the polling worker logs them.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{AddAssign, Index};

use crate::deliver::Outcome;

/// What a job came to, as counted: one metric each. The names are the EMF metric names the
/// alarms in `infra/template.yaml` read, and the keys of the worker's logged totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Sent,
    Retried,
    Failed,
    Dropped,
    Skipped,
    Poisoned,
    Systemic,
    Interrupted,
}

impl Metric {
    /// Every metric, in the order the EMF line declares them: each is emitted (as 0) even when
    /// nothing happened, since alarms on a metric with no data points behave differently from
    /// alarms on zeros.
    pub const ALL: [Metric; 8] = [
        Metric::Sent,
        Metric::Retried,
        Metric::Failed,
        Metric::Dropped,
        Metric::Skipped,
        Metric::Poisoned,
        Metric::Systemic,
        Metric::Interrupted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Sent => "sent",
            Metric::Retried => "retried",
            Metric::Failed => "failed",
            Metric::Dropped => "dropped",
            Metric::Skipped => "skipped",
            Metric::Poisoned => "poisoned",
            Metric::Systemic => "systemic",
            Metric::Interrupted => "interrupted",
        }
    }
}

impl From<&Outcome> for Metric {
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Sent => Metric::Sent,
            Outcome::Skipped(_) => Metric::Skipped,
            Outcome::Dropped => Metric::Dropped,
            Outcome::Failed { .. } => Metric::Failed,
            Outcome::Retry { .. } => Metric::Retried,
            Outcome::Systemic { .. } => Metric::Systemic,
            Outcome::Poison { .. } => Metric::Poisoned,
            Outcome::Interrupted => Metric::Interrupted,
        }
    }
}

/// A count per [`Metric`]; `counts[Metric::Sent]` reads one.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([u64; Metric::ALL.len()]);

impl Counts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one job that came to `outcome`.
    pub fn record(&mut self, outcome: &Outcome) {
        self.0[Metric::from(outcome) as usize] += 1;
    }

    /// Counts built from `(metric, n)` pairs (tests and fixtures).
    pub fn of(pairs: impl IntoIterator<Item = (Metric, u64)>) -> Self {
        let mut counts = Self::new();
        for (metric, n) in pairs {
            counts.0[metric as usize] += n;
        }
        counts
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&n| n == 0)
    }

    /// Whether any job came to `metric`.
    pub fn any(&self, metric: Metric) -> bool {
        self[metric] > 0
    }
}

impl<'a> FromIterator<&'a Outcome> for Counts {
    fn from_iter<I: IntoIterator<Item = &'a Outcome>>(outcomes: I) -> Self {
        let mut counts = Self::new();
        for outcome in outcomes {
            counts.record(outcome);
        }
        counts
    }
}

impl Index<Metric> for Counts {
    type Output = u64;

    fn index(&self, metric: Metric) -> &u64 {
        &self.0[metric as usize]
    }
}

impl AddAssign<&Counts> for Counts {
    fn add_assign(&mut self, other: &Counts) {
        for (total, n) in self.0.iter_mut().zip(other.0) {
            *total += n;
        }
    }
}

/// The non-zero counts by name, `{"sent": 3, "systemic": 1}`: what the worker has always
/// logged as its totals.
impl fmt::Debug for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named: BTreeMap<&str, u64> = Metric::ALL
            .into_iter()
            .filter(|&m| self.any(m))
            .map(|m| (m.name(), self[m]))
            .collect();
        named.fmt(f)
    }
}

/// One EMF log line for `counts`, in `namespace`, with a `Service` dimension.
pub fn emf_line(namespace: &str, counts: &Counts, timestamp_ms: i64) -> String {
    let metrics: Vec<serde_json::Value> = Metric::ALL
        .iter()
        .map(|metric| serde_json::json!({ "Name": metric.name(), "Unit": "Count" }))
        .collect();
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Service"]],
                "Metrics": metrics,
            }],
        },
        "Service": "otp-relay-worker",
    });
    for metric in Metric::ALL {
        line[metric.name()] = counts[metric].into();
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_declare_every_metric_and_carry_its_value() {
        let counts = Counts::of([(Metric::Sent, 3), (Metric::Systemic, 1)]);
        let line: serde_json::Value =
            serde_json::from_str(&emf_line("OtpRelay", &counts, 1_000)).unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "OtpRelay");
        assert_eq!(
            declared["Metrics"].as_array().unwrap().len(),
            Metric::ALL.len()
        );
        assert_eq!(line["sent"], 3);
        assert_eq!(line["systemic"], 1);
        assert_eq!(line["failed"], 0);
        assert_eq!(line["_aws"]["Timestamp"], 1_000);
    }

    #[test]
    fn outcomes_are_counted_under_their_metric_and_totals_log_by_name() {
        let mut counts = Counts::new();
        counts.record(&Outcome::Sent);
        counts.record(&Outcome::Retry {
            reason: "throttled".into(),
            expires_at: None,
        });
        counts.record(&Outcome::Sent);
        let mut totals = Counts::of([(Metric::Systemic, 1)]);
        totals += &counts;
        assert_eq!(totals[Metric::Sent], 2);
        assert_eq!(totals[Metric::Retried], 1);
        assert!(!totals.any(Metric::Failed));
        assert_eq!(
            format!("{totals:?}"),
            r#"{"retried": 1, "sent": 2, "systemic": 1}"#
        );
    }
}
