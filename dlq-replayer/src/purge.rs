//! `purge`: remove expired jobs (`--expired-only`: judged by the job's own `expires_at`, no
//! table read needed) or every message (`--all`, after an `export`). Messages one at a time
//! through a sweep rather than SQS's `PurgeQueue`, so the count is exact and a purge of expired
//! jobs never touches a live one.

use crate::classify;
use crate::context::Context;
use crate::error::Error;
use crate::queues::BATCH;
use crate::sweep::Sweep;
use crate::{DRY_RUN, Done, queue_name};
use serde::Serialize;
use std::time::Duration;

pub async fn run(
    ctx: &Context,
    expired_only: bool,
    execute: bool,
    hold: Duration,
) -> Result<Done, Error> {
    let dlq = ctx.dlq().await?;
    let stats = ctx.queues.stats(&dlq).await?;
    let mut sweep = Sweep::new(ctx, &dlq, hold, "purge", Some(stats.visible));
    let dlq_url = dlq.url.to_string();
    let mut s = Summary {
        execute,
        dlq_url,
        expired_only,
        ..Summary::default()
    };
    let swept = async {
        while let Some(batch) = sweep.next(BATCH).await? {
            let now = ctx.clock.now();
            let mut doomed = Vec::new();
            for message in &batch {
                s.examined += 1;
                match classify::parse(&message.body) {
                    Ok(job) if expired_only && now < job.expires_at => s.kept.live += 1,
                    Err(_) if expired_only => s.kept.malformed += 1,
                    _ => doomed.push(message.id.as_str()),
                }
            }
            if !execute {
                s.removed += doomed.len() as u64;
            } else {
                for result in sweep.delete(&doomed).await? {
                    match result {
                        Ok(()) => s.removed += 1,
                        Err(e) => {
                            s.kept.failed += 1;
                            s.errors.push(e);
                        }
                    }
                }
            }
            let verb = if execute { "removed" } else { "would remove" };
            sweep.progress(s.examined, &format!("{verb} {}", s.removed));
        }
        Ok(())
    }
    .await;
    let error = sweep
        .end(swept, s.examined, &stats, "purge")
        .await
        .or_else(|| {
            (s.kept.failed > 0).then(|| {
                let detail = s.errors.first().cloned().unwrap_or_default();
                Error::incomplete(s.kept.failed, s.removed + s.kept.failed, "removed", detail)
            })
        });
    Ok(Done::of(&s, error))
}

/// What a purge removed (or would remove) and kept.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub execute: bool,
    pub dlq_url: String,
    pub expired_only: bool,
    pub examined: u64,
    /// Removed (in a dry run: would be).
    pub removed: u64,
    pub kept: Kept,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Kept {
    pub live: u64,
    pub malformed: u64,
    pub failed: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, t: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.expired_only {
            "expired jobs"
        } else {
            "messages"
        };
        let done = if self.execute {
            "removed".to_owned()
        } else {
            format!("{DRY_RUN}: would remove")
        };
        let (removed, examined, dlq) = (self.removed, self.examined, queue_name(&self.dlq_url));
        writeln!(
            t,
            "{done} {removed} {what} of {examined} examined from {dlq}"
        )?;
        let Kept {
            live, malformed, ..
        } = self.kept;
        if self.expired_only && live + malformed > 0 {
            writeln!(t, "kept: {live} not expired, {malformed} not jobs")?;
        }
        if !self.expired_only && !self.execute {
            writeln!(t, "keep a copy first: dlq-replayer export --out dlq.jsonl")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Fixture;
    use common::domain::Channel;

    #[tokio::test]
    async fn expired_only_removes_only_expired_jobs() {
        let f = Fixture::new();
        let live = f.live(Channel::Email).await;
        f.expired().await;
        f.expired().await;
        let malformed = f.malformed("nope");
        let dry = run(&f.ctx, true, false, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(dry.json["removed"], 2);
        assert_eq!(
            f.queues.bodies(&f.dlq).len(),
            4,
            "a dry run removes nothing"
        );
        let done = run(&f.ctx, true, true, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(done.error.is_none());
        assert_eq!(done.json["removed"], 2);
        assert_eq!(f.queues.bodies(&f.dlq), [live, malformed]);
        assert_eq!(f.queues.hidden(&f.dlq), 0);
    }

    #[tokio::test]
    async fn all_removes_everything() {
        let f = Fixture::new();
        f.live(Channel::Sms).await;
        f.malformed("nope");
        let done = run(&f.ctx, false, true, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(done.json["removed"], 2);
        assert!(f.queues.bodies(&f.dlq).is_empty());
    }
}
