//! `export` and `import`: a copy of the DLQ in a file, and back.
//!
//! The file is JSON Lines, one message per line: its id, its body as a JSON string (so every
//! byte of it comes back exactly), its system attributes (for the record: `SentTimestamp`,
//! `ApproximateReceiveCount`, ...) and its message attributes (binary values in base64).
//! `export` writes `FILE.partial` and renames it when complete, so a file under the asked name
//! is always a whole copy. `import` sends bodies and message attributes back to the DLQ; SQS
//! gives them new ids and timestamps.

use crate::context::Context;
use crate::error::Error;
use crate::progress::Progress;
use crate::queues::{BATCH, Message, Outgoing, send_chunks};
use crate::sweep::Sweep;
use crate::{DRY_RUN, Done, queue_name};
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One line of an export file: a message as [`Message`] serializes it.
pub type Line = Message;

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

pub async fn export(ctx: &Context, out: &Path, force: bool, hold: Duration) -> Result<Done, Error> {
    if out.exists() && !force {
        return Err(Error::OutputExists {
            path: out.to_owned(),
        });
    }
    let dlq = ctx.dlq().await?;
    let stats = ctx.queues.stats(&dlq).await?;
    let partial = partial_path(out);
    let file = std::fs::File::create(&partial).map_err(|e| Error::file(&partial, e))?;
    let mut writer = std::io::BufWriter::new(file);
    let mut sweep = Sweep::new(ctx, &dlq, hold, "export", Some(stats.visible));
    let (mut count, mut bytes) = (0u64, 0u64);
    let written = async {
        let failed = |e| Error::file(&partial, e);
        while let Some(batch) = sweep.next(BATCH).await? {
            for message in &batch {
                let line = serde_json::to_vec(message);
                let mut line = line.map_err(|e| failed(std::io::Error::other(e)))?;
                line.push(b'\n');
                writer.write_all(&line).map_err(failed)?;
                (count, bytes) = (count + 1, bytes + line.len() as u64);
            }
            sweep.progress(count, &format!("written {count}"));
        }
        writer.flush().map_err(failed)?;
        writer.get_ref().sync_all().map_err(failed)
    }
    .await;
    // The DLQ is left as it was, whatever happened to the file.
    let stopped = sweep.end(written, count, &stats, "export").await;
    let finished = stopped.map_or_else(
        || std::fs::rename(&partial, out).map_err(|e| Error::file(out, e)),
        Err,
    );
    if let Err(err) = finished {
        let _ = std::fs::remove_file(&partial);
        return Err(err);
    }
    let (dlq_url, file) = (dlq.url.to_string(), out.display().to_string());
    Ok(Done::of(
        &Exported {
            dlq_url,
            file,
            exported: count,
            bytes,
        },
        None,
    ))
}

/// What `export` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub dlq_url: String,
    pub file: String,
    pub exported: u64,
    pub bytes: u64,
}

impl std::fmt::Display for Exported {
    fn fmt(&self, t: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, dlq, file, bytes) = (
            self.exported,
            queue_name(&self.dlq_url),
            &self.file,
            self.bytes,
        );
        writeln!(
            t,
            "exported {n} messages from {dlq} to {file} ({bytes} bytes); the DLQ is unchanged"
        )
    }
}

/// What `import` put back (or, in a dry run, found in the file).
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub execute: bool,
    pub dlq_url: String,
    pub file: String,
    pub messages: u64,
    pub imported: u64,
    /// 1-based; only with `--execute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_imported_lines: Option<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

impl std::fmt::Display for Imported {
    fn fmt(&self, t: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (file, dlq, n) = (&self.file, queue_name(&self.dlq_url), self.messages);
        if !self.execute {
            return writeln!(t, "{DRY_RUN}: {n} messages in {file} would go into {dlq}");
        }
        writeln!(
            t,
            "imported {} of {n} messages from {file} into {dlq}",
            self.imported
        )?;
        match self.not_imported_lines.as_deref() {
            Some(lines) if !lines.is_empty() => writeln!(
                t,
                "not imported: lines {}; importing the whole file again would duplicate the others",
                ranges(lines)
            ),
            _ => Ok(()),
        }
    }
}

/// Every line of an export file, checked before anything is sent.
pub fn read(path: &Path) -> Result<Vec<Line>, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::file(path, e))?;
    let bad = |line, problem| Error::BadExportLine {
        path: path.to_owned(),
        line,
        problem,
    };
    let mut lines = Vec::new();
    for (n, text) in std::io::BufReader::new(file).lines().enumerate() {
        let text = text.map_err(|e| Error::file(path, e))?;
        if !text.trim().is_empty() {
            let line = serde_json::from_str(&text);
            lines.push(
                line.map_err(|e| bad(n + 1, format!("not an exported message ({})", problem(&e))))?,
            );
        }
    }
    if lines.is_empty() {
        return Err(bad(0, "the file holds no messages".to_owned()));
    }
    Ok(lines)
}

/// The kind of problem, without serde's message (which can quote the line's content).
fn problem(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io => "unreadable",
        Category::Syntax => "not JSON",
        Category::Data => "fields missing or of the wrong type",
        Category::Eof => "cut short",
    }
}

pub async fn import(ctx: &Context, input: &Path, execute: bool) -> Result<Done, Error> {
    let lines = read(input)?;
    let dlq = ctx.dlq().await?;
    let total = lines.len() as u64;
    let mut summary = Imported {
        execute,
        dlq_url: dlq.url.to_string(),
        file: input.display().to_string(),
        messages: total,
        imported: 0,
        not_imported_lines: None,
        errors: None,
    };
    if !execute {
        return Ok(Done::of(&summary, None));
    }
    let outgoing: Vec<Outgoing> = lines.iter().map(Message::outgoing).collect();
    let mut progress = Progress::new("import", Some(total));
    let (mut not_imported, mut errors, mut failure) = (Vec::new(), Vec::new(), None);
    for chunk in send_chunks(&outgoing, BATCH) {
        let sent = match ctx.stop.is_cancelled() {
            true => Err(Error::Interrupted),
            false => ctx.queues.send(&dlq, &outgoing[chunk.clone()]).await,
        };
        let results = match sent {
            Ok(results) => results,
            Err(err) => {
                not_imported.extend(chunk.start + 1..=outgoing.len());
                failure = Some(err);
                break;
            }
        };
        for (i, result) in chunk.zip(results) {
            if let Err(e) = result {
                not_imported.push(i + 1);
                errors.push(format!("line {}: {e}", i + 1));
            } else {
                summary.imported += 1;
            }
        }
        progress.update(summary.imported, &format!("imported {}", summary.imported));
    }
    progress.finish();
    let failure = failure.or_else(|| {
        (!not_imported.is_empty()).then(|| {
            let (failed, detail) = (not_imported.len() as u64, errors.first().cloned());
            Error::incomplete(failed, total, "imported", detail.unwrap_or_default())
        })
    });
    (summary.not_imported_lines, summary.errors) = (Some(not_imported), Some(errors));
    Ok(Done::of(&summary, failure))
}

/// `1-3, 7, 9-10`: line numbers, compactly.
fn ranges(lines: &[usize]) -> String {
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &n in lines {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    let run = |&(a, b): &(usize, usize)| {
        if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        }
    };
    runs.iter().map(run).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Fixture;
    use common::cli_output::CliError;
    use common::domain::Channel;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("dlq-replayer-{}-{name}", uuid_like()))
    }

    fn uuid_like() -> String {
        common::domain::OtpId::new_random().compact()
    }

    #[tokio::test]
    async fn export_then_import_round_trips_bodies_and_attributes() {
        let f = Fixture::new();
        let mut bodies = vec![
            f.live(Channel::Email).await,
            f.malformed("ünïcødé \u{1F600} \t tab and \"quotes\"\n"),
        ];
        let out = temp_path("export.jsonl");
        let done = export(&f.ctx, &out, false, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(done.json["exported"], 2);
        assert_eq!(
            f.queues.bodies(&f.dlq).len(),
            2,
            "export leaves the DLQ as it was"
        );
        assert_eq!(f.queues.hidden(&f.dlq), 0);
        assert!(!partial_path(&out).exists());

        // A second export refuses to overwrite the first.
        assert!(matches!(
            export(&f.ctx, &out, false, Duration::from_secs(60)).await,
            Err(Error::OutputExists { .. })
        ));

        let dry = import(&f.ctx, &out, false).await.unwrap();
        assert_eq!(dry.json["messages"], 2);
        assert_eq!(f.queues.bodies(&f.dlq).len(), 2, "a dry run sends nothing");

        let fresh = Fixture::new();
        let done = import(&fresh.ctx, &out, true).await.unwrap();
        assert!(done.error.is_none());
        let mut back = fresh.queues.bodies(&fresh.dlq);
        back.sort();
        bodies.sort();
        assert_eq!(back, bodies);
        let _ = std::fs::remove_file(&out);
    }

    #[tokio::test]
    async fn an_empty_dlq_leaves_no_file() {
        let f = Fixture::new();
        let out = temp_path("empty.jsonl");
        let err = export(&f.ctx, &out, false, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(!out.exists() && !partial_path(&out).exists());
    }

    #[tokio::test]
    async fn a_bad_file_is_refused_before_anything_is_sent() {
        let f = Fixture::new();
        let path = temp_path("bad.jsonl");
        std::fs::write(
            &path,
            "{\"message_id\":\"m1\",\"body\":\"ok\"}\n{\"secret 123456\n",
        )
        .unwrap();
        let err = import(&f.ctx, &path, true).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(!text.contains("123456"), "{text}");
        assert!(f.queues.bodies(&f.dlq).is_empty());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn line_numbers_are_shown_as_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), "1-3, 7, 9-10");
        assert_eq!(ranges(&[4]), "4");
    }
}
