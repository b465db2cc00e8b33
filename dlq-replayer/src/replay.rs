//! `replay`: live jobs back onto the job queue, the pointless ones reported (and removed).
//!
//! Per batch of up to ten DLQ messages: parse each, read the records that matter, decide;
//! then, with `--execute`, for each send (at most `--rate` jobs, at most ten): wait for the
//! pacer, `SendMessageBatch` to the job queue, and `DeleteMessageBatch` from the DLQ of
//! exactly the entries whose send succeeded. So a job is never deleted before its copy is
//! on the job queue; a crash between the two leaves at most that one send's jobs in both
//! queues (the worker delivers each code once anyway: the record remembers the delivered send).

use crate::classify::SkipReason;
use crate::context::{Context, Pair};
use crate::error::Error;
use crate::inspect::inspect;
use crate::queues::{BATCH, Message, send_chunks};
use crate::rate::Rate;
use crate::sweep::Sweep;
use crate::{DRY_RUN, Done, queue_name};
use common::lifecycle::{replay_precheck, replay_skip};
use common::pacer::Pacer;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A replay as asked on the command line.
pub type Plan = crate::cli::ReplayArgs;

/// What one message turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Replay,
    Skip(SkipReason),
    Malformed,
    NotSelected,
}

pub async fn run(ctx: &Context, plan: &Plan) -> Result<Done, Error> {
    plan.selection
        .check()
        .map_err(|problem| Error::Usage { problem })?;
    let pair = ctx.pair().await?;
    let started = std::time::Instant::now();
    // A batch's messages stay held while it waits for the pacer: the hold must outlast that.
    let wait = 2 * Rate::longest_wait(plan.rate) + Duration::from_secs(30);
    let hold = plan.hold.duration().max(wait);
    let mut run = Run {
        ctx,
        pair: &pair,
        plan,
        pacer: plan.rate.map(Rate::pacer),
        sweep: Sweep::new(ctx, &pair.dlq, hold, "replay", Some(pair.dlq_stats.visible)),
        s: Summary {
            execute: plan.execute,
            keep_skipped: plan.keep_skipped,
            dlq_url: pair.dlq.url.to_string(),
            queue_url: pair.job_queue.url.to_string(),
            notes: pair.notes.clone(),
            ..Summary::default()
        },
    };
    let outcome = run.all().await;
    let stopped = run
        .sweep
        .end(outcome, run.s.examined, &pair.dlq_stats, "replay")
        .await;
    let mut s = run.s;
    s.skipped_total = s.skipped.values().sum();
    if plan.execute {
        s.kept_in_dlq.skipped = s.skipped_total - s.removed_from_dlq;
    }
    s.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    let first_error = s.errors.first().cloned().unwrap_or_default();
    let error = stopped.or_else(|| match (s.kept_in_dlq.failed, s.not_removed) {
        (0, 0) => None,
        (0, not_removed) => Some(Error::incomplete(
            not_removed,
            s.replayed,
            "removed from the DLQ after being put back",
            format!(
                "{first_error}; they are now in both queues, and the worker delivers each code once"
            ),
        )),
        (failed, _) => Some(Error::incomplete(
            failed,
            s.replayed + failed,
            "put back",
            format!("SQS refused them ({first_error})"),
        )),
    });
    Ok(Done::of(&s, error))
}

/// What a replay did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub execute: bool,
    #[serde(skip)]
    pub keep_skipped: bool,
    pub dlq_url: String,
    pub queue_url: String,
    /// DLQ messages looked at.
    pub examined: u64,
    /// Put back on the job queue (in a dry run: would be).
    pub replayed: u64,
    /// Not worth replaying, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    pub skipped_total: u64,
    /// Skipped jobs deleted from the DLQ.
    pub removed_from_dlq: u64,
    pub kept_in_dlq: Kept,
    /// Put back, but the DLQ would not delete them: now in both queues.
    pub not_removed: u64,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    pub seconds: f64,
}

/// Why jobs are still in the DLQ.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Kept {
    /// Bodies that are not jobs: always left in the DLQ.
    pub malformed: u64,
    /// Jobs outside `--channel` / `--older-than` / `--newer-than`.
    pub not_selected: u64,
    /// Live jobs left because `--limit` was reached.
    pub beyond_limit: u64,
    /// Live jobs SQS would not take.
    pub failed: u64,
    /// Live jobs left because a signal stopped the run before their send.
    pub interrupted: u64,
    /// Skipped and left (`--keep-skipped`, or SQS would not delete them).
    pub skipped: u64,
}

impl Kept {
    /// The live or malformed jobs left (the skipped ones are counted with the skipped), each
    /// with its name and why, for the text summary.
    fn reasons(&self) -> [(u64, &'static str, &'static str); 5] {
        [
            (
                self.malformed,
                "malformed",
                "not delivery jobs: left for you to inspect (peek, export)",
            ),
            (
                self.not_selected,
                "not selected",
                "outside --channel / --older-than / --newer-than",
            ),
            (
                self.beyond_limit,
                "beyond --limit",
                "live, left for a later run",
            ),
            (self.failed, "failed", "SQS did not take them"),
            (
                self.interrupted,
                "interrupted",
                "live, left when the run was stopped",
            ),
        ]
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, t: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (done, put, skip) = match self.execute {
            true => ("replayed".to_owned(), "put back", "skipped"),
            false => (format!("{DRY_RUN}:"), "would put back", "would skip"),
        };
        let (dlq, jobs) = (queue_name(&self.dlq_url), queue_name(&self.queue_url));
        let (examined, seconds) = (self.examined, self.seconds);
        writeln!(
            t,
            "{done} {dlq} → {jobs}: {examined} examined in {seconds:.1} s"
        )?;
        writeln!(t, "  {put:<22}{:>7}", self.replayed)?;
        let fate = match (self.execute, self.keep_skipped) {
            (_, true) => "left in the DLQ (--keep-skipped)",
            (true, false) => "removed from the DLQ",
            (false, false) => "--execute removes them from the DLQ",
        };
        if self.skipped_total > 0 {
            writeln!(t, "  {skip:<22}{:>7}  {fate}", self.skipped_total)?;
            for (reason, n) in &self.skipped {
                writeln!(t, "    {:<20}{n:>7}  {}", reason.name(), reason.describe())?;
            }
        }
        let kept = self.kept_in_dlq.reasons();
        let kept_total: u64 = kept.iter().map(|(n, _, _)| n).sum();
        if kept_total > 0 {
            writeln!(t, "  {:<22}{kept_total:>7}", "kept in the DLQ")?;
            for (n, name, why) in kept.iter().filter(|(n, _, _)| *n > 0) {
                writeln!(t, "    {name:<20}{n:>7}  {why}")?;
            }
        }
        if self.not_removed > 0 {
            let n = self.not_removed;
            writeln!(
                t,
                "  {:<22}{n:>7}  put back, but still in the DLQ too",
                "not removed"
            )?;
        }
        for note in &self.notes {
            writeln!(t, "note: {note}")?;
        }
        for error in self.errors.iter().take(10) {
            writeln!(t, "problem: {error}")?;
        }
        match self.errors.len() {
            n if n > 10 => writeln!(t, "problem: ... and {} more", n - 10),
            _ => Ok(()),
        }
    }
}

/// One replay under way.
#[derive(Debug)]
struct Run<'a> {
    ctx: &'a Context,
    pair: &'a Pair,
    plan: &'a Plan,
    pacer: Option<Pacer>,
    sweep: Sweep<'a>,
    s: Summary,
}

impl Run<'_> {
    /// Batch after batch, until the DLQ has nothing more, `--limit` is reached or a signal came.
    async fn all(&mut self) -> Result<(), Error> {
        loop {
            let room = self
                .plan
                .limit
                .map(|limit| limit.saturating_sub(self.s.replayed));
            if room == Some(0) {
                return Ok(());
            }
            let want = room.map_or(BATCH, |r| usize::try_from(r).unwrap_or(BATCH).min(BATCH));
            let Some(batch) = self.sweep.next(want).await? else {
                return Ok(());
            };
            self.batch(&batch).await?;
            let (s, k) = (&self.s, &self.s.kept_in_dlq);
            let verb = if s.execute {
                "put back"
            } else {
                "would put back"
            };
            let kept: u64 = k.reasons().iter().map(|(n, _, _)| n).sum();
            let skipped: u64 = s.skipped.values().sum();
            let status = format!("{verb} {}, skipped {skipped}, kept {kept}", s.replayed);
            self.sweep.progress(s.examined, &status);
        }
    }

    async fn batch(&mut self, batch: &[Message]) -> Result<(), Error> {
        self.s.examined += batch.len() as u64;
        let decisions = decide(self.ctx, self.plan, batch).await?;
        let (mut to_send, mut to_remove) = (Vec::new(), Vec::new());
        for (message, decision) in batch.iter().zip(decisions) {
            let s = &mut self.s;
            match decision {
                Decision::Malformed => s.kept_in_dlq.malformed += 1,
                Decision::NotSelected => s.kept_in_dlq.not_selected += 1,
                Decision::Skip(reason) => {
                    *s.skipped.entry(reason).or_default() += 1;
                    if self.plan.execute && !self.plan.keep_skipped {
                        to_remove.push(message.id.as_str());
                    }
                }
                Decision::Replay => {
                    let taken = s.replayed + to_send.len() as u64;
                    if self.plan.limit.is_some_and(|limit| taken >= limit) {
                        s.kept_in_dlq.beyond_limit += 1;
                    } else {
                        to_send.push(message);
                    }
                }
            }
        }
        if !self.plan.execute {
            self.s.replayed += to_send.len() as u64;
            return Ok(());
        }
        self.put_back(&to_send).await?;
        for result in self.sweep.delete(&to_remove).await? {
            match result {
                Ok(()) => self.s.removed_from_dlq += 1,
                Err(e) => self.s.errors.push(format!("removing a skipped job: {e}")),
            }
        }
        Ok(())
    }

    /// Sends, then deletes exactly what was sent, one send at a time.
    async fn put_back(&mut self, messages: &[&Message]) -> Result<(), Error> {
        let outgoing: Vec<_> = messages.iter().map(|m| m.outgoing()).collect();
        for chunk in send_chunks(&outgoing, Rate::burst(self.plan.rate)) {
            let pace = async {
                if let Some(pacer) = &self.pacer {
                    pacer
                        .acquire_many(u32::try_from(chunk.len()).unwrap_or(u32::MAX))
                        .await;
                }
            };
            tokio::select! {
                biased;
                () = self.ctx.stop.cancelled() => {
                    self.s.kept_in_dlq.interrupted += (outgoing.len() - chunk.start) as u64;
                    return Ok(());
                }
                () = pace => {}
            }
            let job_queue = &self.pair.job_queue;
            let results = self
                .ctx
                .queues
                .send(job_queue, &outgoing[chunk.clone()])
                .await?;
            let mut sent = Vec::new();
            for (message, result) in messages[chunk].iter().zip(results) {
                if let Err(e) = result {
                    self.s.kept_in_dlq.failed += 1;
                    (self.s.errors).push(format!("putting back message {}: {e}", message.id));
                } else {
                    sent.push(message.id.as_str());
                }
            }
            self.s.replayed += sent.len() as u64;
            let deleted = self.sweep.delete(&sent).await;
            let deleted = deleted.inspect_err(|_| self.s.not_removed += sent.len() as u64)?;
            for (id, result) in sent.iter().zip(deleted) {
                if let Err(e) = result {
                    self.s.not_removed += 1;
                    let problem = format!("removing put-back message {id} from the DLQ: {e}");
                    self.s.errors.push(problem);
                }
            }
        }
        Ok(())
    }
}

async fn decide(ctx: &Context, plan: &Plan, batch: &[Message]) -> Result<Vec<Decision>, Error> {
    let now = ctx.clock.now();
    let selected = |job: &common::job::DeliveryJob| plan.selection.matches(job, now);
    let inspected = inspect(ctx.store.as_ref(), &ctx.table, batch, |job| {
        selected(job) && replay_precheck(job, now, plan.include_expired).is_none()
    })
    .await?;
    let decision = |item: crate::inspect::Inspected| match &item.job {
        Err(_) => Decision::Malformed,
        Ok(job) if !selected(job) => Decision::NotSelected,
        Ok(job) => match replay_skip(
            job,
            item.record.flatten().as_ref(),
            now,
            plan.include_expired,
        ) {
            Some(reason) => Decision::Skip(reason),
            None => Decision::Replay,
        },
    };
    Ok(inspected.into_iter().map(decision).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Selection;
    use crate::testkit::Fixture;
    use common::cli_output::CliError;
    use common::domain::Channel;

    fn plan(execute: bool) -> Plan {
        Plan {
            execute,
            hold: crate::cli::HoldArgs {
                visibility_timeout: 60,
            },
            ..Plan::default()
        }
    }

    async fn mixed(f: &Fixture) -> (Vec<String>, Vec<String>) {
        let mut live = Vec::new();
        for i in 0..12 {
            let channel = if i % 2 == 0 {
                Channel::Email
            } else {
                Channel::Sms
            };
            live.push(f.live(channel).await);
        }
        f.expired().await;
        f.expired().await;
        f.verified().await;
        f.gone();
        let malformed = vec![f.malformed("not json"), f.malformed(r#"{"v":2}"#)];
        (live, malformed)
    }

    #[tokio::test]
    async fn execute_puts_back_exactly_the_live_jobs_and_keeps_the_malformed() {
        let f = Fixture::new();
        let (live, malformed) = mixed(&f).await;
        let done = run(&f.ctx, &plan(true)).await.unwrap();
        assert!(done.error.is_none(), "{:?}", done.error);
        let mut put_back = f.queues.bodies(&f.job_queue);
        put_back.sort();
        let mut expected = live.clone();
        expected.sort();
        assert_eq!(put_back, expected);
        assert_eq!(f.queues.bodies(&f.dlq), malformed);
        assert_eq!(f.queues.hidden(&f.dlq), 0, "what is kept is visible again");
        assert_eq!(done.json["replayed"], 12);
        assert_eq!(done.json["skipped"]["expired"], 2);
        assert_eq!(done.json["skipped"]["verified"], 1);
        assert_eq!(done.json["skipped"]["gone"], 1);
        assert_eq!(done.json["removed_from_dlq"], 4);
        assert_eq!(done.json["kept_in_dlq"]["malformed"], 2);
        assert_eq!(done.json["examined"], 18);
    }

    #[tokio::test]
    async fn every_job_is_sent_before_it_is_deleted() {
        let f = Fixture::new();
        let (live, _) = mixed(&f).await;
        run(&f.ctx, &plan(true)).await.unwrap();
        let log = f.queues.log();
        for body in &live {
            let sent = log
                .iter()
                .position(|l| *l == format!("send {body}"))
                .unwrap();
            let deleted = log
                .iter()
                .position(|l| *l == format!("delete {body}"))
                .unwrap();
            assert!(sent < deleted, "{log:?}");
        }
    }

    #[tokio::test]
    async fn a_dry_run_changes_nothing_and_says_what_would_happen() {
        let f = Fixture::new();
        mixed(&f).await;
        let before = f.queues.bodies(&f.dlq);
        let done = run(&f.ctx, &plan(false)).await.unwrap();
        assert!(done.error.is_none());
        assert_eq!(f.queues.bodies(&f.dlq), before);
        assert_eq!(f.queues.hidden(&f.dlq), 0);
        assert!(f.queues.bodies(&f.job_queue).is_empty());
        assert_eq!(done.json["replayed"], 12);
        assert_eq!(done.json["removed_from_dlq"], 0);
        assert!(done.text.contains("dry run"), "{}", done.text);
        assert!(done.text.contains("would put back"), "{}", done.text);
    }

    #[tokio::test]
    async fn a_job_sqs_refuses_stays_in_the_dlq_and_the_run_is_incomplete() {
        let f = Fixture::new();
        let (live, _) = mixed(&f).await;
        f.queues.refuse_send_of(&live[3]);
        let done = run(&f.ctx, &plan(true)).await.unwrap();
        assert!(
            matches!(done.error, Some(Error::Incomplete { failed: 1, .. })),
            "{:?}",
            done.error
        );
        assert!(f.queues.bodies(&f.dlq).contains(&live[3]));
        assert!(!f.queues.bodies(&f.job_queue).contains(&live[3]));
        assert_eq!(done.json["replayed"], 11);
        assert_eq!(done.json["kept_in_dlq"]["failed"], 1);
    }

    #[tokio::test]
    async fn the_limit_is_exact() {
        let f = Fixture::new();
        for _ in 0..25 {
            f.live(Channel::Email).await;
        }
        f.expired().await;
        let done = run(
            &f.ctx,
            &Plan {
                limit: Some(7),
                ..plan(true)
            },
        )
        .await
        .unwrap();
        assert!(done.error.is_none());
        assert_eq!(f.queues.bodies(&f.job_queue).len(), 7);
        assert_eq!(
            f.queues.bodies(&f.dlq).len(),
            26 - 7 - usize::try_from(done.json["removed_from_dlq"].as_u64().unwrap()).unwrap()
        );
        assert_eq!(f.queues.hidden(&f.dlq), 0);
        // A dry run with a limit counts exactly as far too.
        let dry = run(
            &f.ctx,
            &Plan {
                limit: Some(11),
                ..plan(false)
            },
        )
        .await
        .unwrap();
        assert_eq!(dry.json["replayed"], 11);
    }

    #[tokio::test]
    async fn keep_skipped_leaves_the_skipped_jobs() {
        let f = Fixture::new();
        mixed(&f).await;
        let done = run(
            &f.ctx,
            &Plan {
                keep_skipped: true,
                ..plan(true)
            },
        )
        .await
        .unwrap();
        assert_eq!(done.json["removed_from_dlq"], 0);
        assert_eq!(f.queues.bodies(&f.dlq).len(), 4 + 2);
    }

    #[tokio::test]
    async fn filters_choose_by_channel_and_age() {
        let f = Fixture::new();
        let young_sms = f.live_aged(Channel::Sms, 60).await;
        let old_sms = f.live_aged(Channel::Sms, 3_000).await;
        f.live_aged(Channel::Email, 3_000).await;
        let sms = Selection {
            channel: Some(Channel::Sms),
            ..Selection::default()
        };
        let done = run(
            &f.ctx,
            &Plan {
                selection: Selection {
                    older_than: Some(1_800),
                    ..sms
                },
                ..plan(true)
            },
        )
        .await
        .unwrap();
        assert_eq!(f.queues.bodies(&f.job_queue), [old_sms]);
        assert_eq!(done.json["kept_in_dlq"]["not_selected"], 2);
        run(
            &f.ctx,
            &Plan {
                selection: Selection {
                    newer_than: Some(1_800),
                    ..sms
                },
                ..plan(true)
            },
        )
        .await
        .unwrap();
        assert!(f.queues.bodies(&f.job_queue).contains(&young_sms));
        assert_eq!(f.queues.bodies(&f.dlq).len(), 1, "the e-mail job is left");
    }

    #[tokio::test]
    async fn include_expired_puts_expired_jobs_back_too() {
        let f = Fixture::new();
        let expired = f.expired().await;
        let done = run(
            &f.ctx,
            &Plan {
                include_expired: true,
                ..plan(true)
            },
        )
        .await
        .unwrap();
        assert_eq!(f.queues.bodies(&f.job_queue), [expired]);
        assert_eq!(done.json["replayed"], 1);
    }

    #[tokio::test]
    async fn an_empty_dlq_is_its_own_answer() {
        let f = Fixture::new();
        let done = run(&f.ctx, &plan(true)).await.unwrap();
        let err = done.error.unwrap();
        assert_eq!(err.exit_code(), 3);
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_spaces_the_sends() {
        let f = Fixture::new();
        for _ in 0..25 {
            f.live(Channel::Email).await;
        }
        let started = tokio::time::Instant::now();
        let done = run(
            &f.ctx,
            &Plan {
                rate: Some("5".parse().unwrap()),
                ..plan(true)
            },
        )
        .await
        .unwrap();
        assert!(done.error.is_none());
        assert_eq!(done.json["replayed"], 25);
        assert!(started.elapsed() >= std::time::Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_stop_leaves_the_rest_in_the_dlq() {
        let f = Fixture::new();
        for _ in 0..5 {
            f.live(Channel::Email).await;
        }
        f.ctx.stop.cancel();
        let done = run(&f.ctx, &plan(true)).await.unwrap();
        assert!(
            matches!(done.error, Some(Error::Interrupted)),
            "{:?}",
            done.error
        );
        assert_eq!(f.queues.bodies(&f.dlq).len(), 5);
        assert_eq!(f.queues.hidden(&f.dlq), 0);
    }
}
