//! `peek`: the DLQ's jobs as an operator needs to see them, without consuming any. Messages
//! are hidden only while the listing is read, then made visible again at once, before the
//! records are even looked up. Nothing shown can be a code: a job holds none, a record's code
//! is sealed (and never opened here), and a body that is not a job is described, not quoted.

use crate::context::Context;
use crate::error::Error;
use crate::inspect::{Inspected, inspect};
use crate::queues::{BATCH, Message};
use crate::span::short;
use crate::sweep::Sweep;
use crate::{Done, queue_name};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    pub message_id: String,
    pub receive_count: u32,
    pub otp_id: Option<String>,
    pub channel: Option<&'static str>,
    /// The masked destination the job carries.
    pub to: Option<String>,
    pub send: Option<u32>,
    /// Since the API enqueued the job.
    pub age_seconds: Option<i64>,
    /// Negative once expired.
    pub expires_in_seconds: Option<i64>,
    /// The OTP's status (`pending`, `verified`, `locked`, `expired`), or `gone` (no record).
    pub status: Option<&'static str>,
    /// The record's delivery state (`queued`, `sending`, `sent`, `failed`, `dropped`).
    pub delivery: Option<&'static str>,
    /// The provider's error code, when the record has one (a permanent failure).
    pub last_error: Option<String>,
    /// `replay`, `skip` or `keep`: what `replay` would do with it.
    pub verdict: &'static str,
    pub reason: Option<String>,
}

pub fn row(message: &Message, item: &Inspected, now: i64) -> Row {
    let (message_id, receive_count) = (message.id.clone(), message.receive_count);
    let job = match &item.job {
        Ok(job) => job,
        Err(malformed) => {
            let reason = Some(malformed.describe());
            return Row {
                message_id,
                receive_count,
                verdict: "keep",
                reason,
                ..Row::default()
            };
        }
    };
    let record = item.record.clone().flatten();
    let skip = common::lifecycle::replay_skip(job, record.as_ref(), now, false);
    Row {
        message_id,
        receive_count,
        otp_id: Some(job.otp_id.to_string()),
        channel: Some(job.channel.as_str()),
        to: Some(job.to.clone()),
        send: Some(job.send),
        age_seconds: Some(now - job.enqueued_at),
        expires_in_seconds: Some(job.expires_at - now),
        status: Some(record.as_ref().map_or("gone", |r| r.status(now).as_str())),
        delivery: record.as_ref().map(|r| r.delivery.as_str()),
        last_error: record.as_ref().and_then(|r| r.failure_reason.clone()),
        verdict: if skip.is_some() { "skip" } else { "replay" },
        reason: skip.map(|reason| reason.name().to_owned()),
    }
}

pub async fn run(ctx: &Context, limit: u64, hold: Duration) -> Result<Done, Error> {
    let dlq = ctx.dlq().await?;
    let stats = ctx.queues.stats(&dlq).await?;
    let mut sweep = Sweep::new(ctx, &dlq, hold, "peek", None);
    let mut messages: Vec<Message> = Vec::new();
    let collected = async {
        while let Some(room) = limit.checked_sub(messages.len() as u64).filter(|&r| r > 0) {
            let want = usize::try_from(room).unwrap_or(BATCH).min(BATCH);
            match sweep.next(want).await? {
                Some(batch) => messages.extend(batch),
                None => break,
            }
        }
        Ok(())
    }
    .await;
    sweep.finish(collected).await?;
    if messages.is_empty() {
        return Err(Context::empty(&dlq, &stats, "peek at"));
    }
    let now = ctx.clock.now();
    let mut rows = Vec::with_capacity(messages.len());
    for chunk in messages.chunks(BATCH) {
        let inspected = inspect(ctx.store.as_ref(), &ctx.table, chunk, |_| true).await?;
        rows.extend(chunk.iter().zip(&inspected).map(|(m, i)| row(m, i, now)));
    }
    // Oldest first; bodies that are not jobs last.
    rows.sort_by_key(|r| (r.age_seconds.is_none(), std::cmp::Reverse(r.age_seconds)));
    let summary = Summary {
        dlq_url: dlq.url.to_string(),
        visible: stats.visible,
        in_flight: stats.in_flight,
        shown: rows.len(),
        jobs: rows,
    };
    let error = ctx.stop.is_cancelled().then_some(Error::Interrupted);
    Ok(Done::of(&summary, error))
}

/// The jobs shown, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub dlq_url: String,
    pub visible: u64,
    pub in_flight: u64,
    pub shown: usize,
    pub jobs: Vec<Row>,
}

const HEADER: [&str; 10] = [
    "OTP ID",
    "CHANNEL",
    "TO",
    "RECV",
    "AGE",
    "EXPIRES",
    "STATUS",
    "DELIVERY",
    "LAST ERROR",
    "REPLAY",
];

impl std::fmt::Display for Summary {
    fn fmt(&self, t: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (dlq, visible, in_flight) = (queue_name(&self.dlq_url), self.visible, self.in_flight);
        let shown = self.shown;
        writeln!(
            t,
            "{dlq}: {visible} jobs visible, {in_flight} in flight; showing {shown} (all visible again)"
        )?;
        let mut lines = vec![HEADER.map(str::to_owned)];
        lines.extend(self.jobs.iter().map(cells));
        let mut widths = [0; 10];
        for cells in &lines {
            for (w, cell) in widths.iter_mut().zip(cells) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for cells in &lines {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            writeln!(t, "{}", padded.join("  ").trim_end())?;
        }
        Ok(())
    }
}

fn cells(r: &Row) -> [String; 10] {
    let dash = || "-".to_owned();
    let expires = r.expires_in_seconds.map_or_else(dash, |s| match s > 0 {
        true => format!("in {}", short(s.unsigned_abs())),
        false => format!("{} ago", short(s.unsigned_abs())),
    });
    let verdict = match &r.reason {
        Some(reason) => format!("{}: {reason}", r.verdict),
        None => r.verdict.to_owned(),
    };
    [
        r.otp_id
            .clone()
            .unwrap_or_else(|| format!("message {}", r.message_id)),
        r.channel.map_or_else(dash, str::to_owned),
        r.to.clone().unwrap_or_else(dash),
        r.receive_count.to_string(),
        r.age_seconds.map_or_else(dash, |a| short(a.unsigned_abs())),
        expires,
        r.status.map_or_else(dash, str::to_owned),
        r.delivery.map_or_else(dash, str::to_owned),
        r.last_error.clone().unwrap_or_else(dash),
        verdict,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Fixture;
    use common::domain::Channel;

    #[tokio::test]
    async fn peek_lists_without_consuming_and_says_what_replay_would_do() {
        let f = Fixture::new();
        f.live(Channel::Email).await;
        f.expired().await;
        f.verified().await;
        f.malformed("code 123456 for jane@example.com");
        let done = run(&f.ctx, 10, Duration::from_secs(60)).await.unwrap();
        assert!(done.error.is_none());
        assert_eq!(f.queues.bodies(&f.dlq).len(), 4);
        assert_eq!(f.queues.hidden(&f.dlq), 0, "visibility restored");
        let jobs = done.json["jobs"].as_array().unwrap();
        assert_eq!(jobs.len(), 4);
        let verdicts: Vec<(&str, Option<&str>)> = jobs
            .iter()
            .map(|j| (j["verdict"].as_str().unwrap(), j["reason"].as_str()))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("skip", Some("expired")),
                ("replay", None),
                ("skip", Some("verified")),
                ("keep", Some("not JSON")),
            ],
            "oldest first, malformed last"
        );
        assert_eq!(jobs[1]["status"], "pending");
        assert_eq!(jobs[1]["to"], "j***@example.com");
        // A body that is not a job is described, never quoted.
        assert!(!done.text.contains("123456") && !done.text.contains("jane@"));
        assert!(!done.json.to_string().contains("123456"));
        assert!(done.text.contains("OTP ID"), "{}", done.text);
    }

    #[tokio::test]
    async fn peek_shows_at_most_the_limit() {
        let f = Fixture::new();
        for _ in 0..15 {
            f.live(Channel::Sms).await;
        }
        let done = run(&f.ctx, 12, Duration::from_secs(60)).await.unwrap();
        assert_eq!(done.json["shown"], 12);
        assert_eq!(f.queues.hidden(&f.dlq), 0);
    }
}
