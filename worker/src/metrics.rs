//! Outcome counters. In Lambda they are printed as CloudWatch embedded-metric-format lines
//! (CloudWatch turns them into metrics without an API call); the polling worker logs them.

use std::collections::BTreeMap;

/// Outcome counts, by [`crate::deliver::Outcome::label`].
pub type Counts = BTreeMap<&'static str, u64>;

/// Every label, so each metric is emitted (as 0) even when nothing happened: alarms on a metric
/// with no data points behave differently from alarms on zeros.
pub const LABELS: [&str; 8] = [
    "sent",
    "retried",
    "failed",
    "dropped",
    "skipped",
    "poisoned",
    "systemic",
    "interrupted",
];

pub fn add(totals: &mut Counts, counts: &Counts) {
    for (label, n) in counts {
        *totals.entry(label).or_default() += n;
    }
}

/// One EMF log line for `counts`, in `namespace`, with a `Service` dimension.
pub fn emf_line(namespace: &str, counts: &Counts, timestamp_ms: i64) -> String {
    let metrics: Vec<serde_json::Value> = LABELS
        .iter()
        .map(|name| serde_json::json!({ "Name": name, "Unit": "Count" }))
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
    for name in LABELS {
        line[name] = counts.get(name).copied().unwrap_or(0).into();
    }
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_lines_declare_every_metric_and_carry_its_value() {
        let counts = Counts::from([("sent", 3), ("systemic", 1)]);
        let line: serde_json::Value =
            serde_json::from_str(&emf_line("OtpRelay", &counts, 1_000)).unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "OtpRelay");
        assert_eq!(declared["Metrics"].as_array().unwrap().len(), LABELS.len());
        assert_eq!(line["sent"], 3);
        assert_eq!(line["systemic"], 1);
        assert_eq!(line["failed"], 0);
        assert_eq!(line["_aws"]["Timestamp"], 1_000);
    }
}
