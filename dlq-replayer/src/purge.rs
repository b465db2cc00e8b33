//! `purge`: remove expired jobs (`--expired-only`: judged by the job's own `expires_at`, no
//! table read needed) or every message (`--all`, after an `export`). Messages one at a time
//! through a sweep rather than SQS's `PurgeQueue`, so the count is exact and a purge of expired
//! jobs never touches a live one.

use crate::classify;
use crate::context::Context;
use crate::error::Error;
use crate::output::Done;
use crate::progress::Progress;
use crate::replay::WAIT_SECONDS;
use crate::sweep::Sweep;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub examined: u64,
    /// Removed (in a dry run: would be).
    pub removed: u64,
    pub kept_live: u64,
    pub kept_malformed: u64,
    pub failed: u64,
}

pub async fn run(
    ctx: &Context,
    expired_only: bool,
    execute: bool,
    hold_seconds: i32,
) -> Result<Done, Error> {
    let dlq = ctx.dlq().await?;
    let stats = ctx.queues.stats(&dlq).await?;
    let mut progress = Progress::new("purge", Some(stats.visible));
    let mut sweep = Sweep::new(&ctx.queues, &dlq, hold_seconds, WAIT_SECONDS);
    let mut counts = Counts::default();
    let mut errors: Vec<String> = Vec::new();
    let swept = async {
        while !ctx.stop.is_cancelled() {
            let Some(batch) = sweep.next(crate::queues::BATCH).await? else {
                break;
            };
            let now = ctx.clock.now();
            let mut doomed = Vec::new();
            for message in &batch {
                counts.examined += 1;
                let job = classify::parse(&message.body);
                let remove = match &job {
                    Ok(job) => !expired_only || now >= job.expires_at,
                    Err(_) => !expired_only,
                };
                match (remove, job.is_ok()) {
                    (true, _) => doomed.push(message.id.as_str()),
                    (false, true) => counts.kept_live += 1,
                    (false, false) => counts.kept_malformed += 1,
                }
            }
            if execute {
                for result in sweep.delete(&doomed).await? {
                    match result {
                        Ok(()) => counts.removed += 1,
                        Err(e) => {
                            counts.failed += 1;
                            errors.push(e);
                        }
                    }
                }
            } else {
                counts.removed += doomed.len() as u64;
            }
            let verb = if execute { "removed" } else { "would remove" };
            progress.update(counts.examined, &format!("{verb} {}", counts.removed));
        }
        Ok::<(), Error>(())
    }
    .await;
    progress.finish();
    let released = sweep.release().await;
    let error = match swept.and(released) {
        Err(err) => Some(err),
        Ok(()) if ctx.stop.is_cancelled() => Some(Error::Interrupted),
        Ok(()) if counts.examined == 0 => Some(Context::empty(&dlq, &stats, "purge")),
        Ok(()) if counts.failed > 0 => Some(Error::Incomplete {
            failed: counts.failed,
            asked: counts.removed + counts.failed,
            verb: "removed",
            detail: errors.first().cloned().unwrap_or_default(),
        }),
        Ok(()) => None,
    };
    let summary = Summary {
        execute,
        dlq_url: dlq.url.to_string(),
        expired_only,
        examined: counts.examined,
        removed: counts.removed,
        kept: Kept {
            live: counts.kept_live,
            malformed: counts.kept_malformed,
            failed: counts.failed,
        },
        errors,
    };
    Ok(Done::of(&summary, error))
}

/// What a purge removed (or would remove) and kept.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub execute: bool,
    pub dlq_url: String,
    pub expired_only: bool,
    pub examined: u64,
    pub removed: u64,
    pub kept: Kept,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
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
        let dlq = self.dlq_url.rsplit('/').next().unwrap_or_default();
        if !self.execute {
            write!(
                t,
                "dry run (nothing changed; add --execute to do it): would remove"
            )?;
        } else {
            write!(t, "removed")?;
        }
        writeln!(
            t,
            " {} {what} of {} examined from {dlq}",
            self.removed, self.examined
        )?;
        if self.expired_only && self.kept.live + self.kept.malformed > 0 {
            writeln!(
                t,
                "kept: {} not expired, {} not jobs",
                self.kept.live, self.kept.malformed
            )?;
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
        let dry = run(&f.ctx, true, false, 60).await.unwrap();
        assert_eq!(dry.json["removed"], 2);
        assert_eq!(
            f.queues.bodies(&f.dlq).len(),
            4,
            "a dry run removes nothing"
        );
        let done = run(&f.ctx, true, true, 60).await.unwrap();
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
        let done = run(&f.ctx, false, true, 60).await.unwrap();
        assert_eq!(done.json["removed"], 2);
        assert!(f.queues.bodies(&f.dlq).is_empty());
    }
}
