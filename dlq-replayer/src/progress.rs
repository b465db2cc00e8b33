//! Progress on stderr: a bar redrawn in place on a terminal, plain lines (at most one every
//! two seconds) when stderr is a file or a pipe, so logs stay readable. A run over before the
//! first interval shows none: its summary says it all.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    total: Option<u64>,
    bar: bool,
    /// Off in unit tests, whose output it would only clutter.
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

const BAR_EVERY: Duration = Duration::from_millis(100);
const LINE_EVERY: Duration = Duration::from_secs(2);
const WIDTH: usize = 30;

impl Progress {
    /// `total`: how many items are expected (the queue's approximate depth), if known.
    pub fn new(label: &'static str, total: Option<u64>) -> Self {
        Self {
            label,
            total,
            bar: std::io::stderr().is_terminal(),
            enabled: !cfg!(test),
            last: Some(Instant::now()),
            drawn: false,
        }
    }

    /// Reports `done` items and a short status; drawn only if enough time has passed.
    pub fn update(&mut self, done: u64, status: &str) {
        let every = if self.bar { BAR_EVERY } else { LINE_EVERY };
        if !self.enabled || self.last.is_some_and(|at| at.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        self.draw(done, status);
    }

    /// Clears the bar (the summary follows on stdout); plain mode writes nothing more.
    pub fn finish(&mut self) {
        if self.bar && self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }

    fn draw(&mut self, done: u64, status: &str) {
        let mut err = std::io::stderr().lock();
        if self.bar {
            let _ = write!(
                err,
                "\r\x1b[2K{}",
                bar_line(self.label, done, self.total, status)
            );
            let _ = err.flush();
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{}", plain_line(self.label, done, self.total, status));
        }
    }
}

/// `replay [##########--------------------] 340/1000 put back 300, skipped 40`
pub fn bar_line(label: &str, done: u64, total: Option<u64>, status: &str) -> String {
    match total.filter(|&t| t > 0) {
        Some(total) => {
            let filled = ((done.min(total) as f64 / total as f64) * WIDTH as f64).round() as usize;
            format!(
                "{label} [{}{}] {done}/{total} {status}",
                "#".repeat(filled),
                "-".repeat(WIDTH - filled)
            )
        }
        None => format!("{label} {done} {status}"),
    }
}

/// `replay: 340 of ~1000; put back 300, skipped 40`
pub fn plain_line(label: &str, done: u64, total: Option<u64>, status: &str) -> String {
    match total.filter(|&t| t > 0) {
        Some(total) => format!("{label}: {done} of ~{total}; {status}"),
        None => format!("{label}: {done}; {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_in_proportion_and_never_overflows() {
        let line = bar_line("replay", 15, Some(30), "put back 15");
        assert!(line.contains(&format!("[{}{}]", "#".repeat(15), "-".repeat(15))));
        assert!(line.ends_with("15/30 put back 15"));
        // The depth is approximate: more may turn up than expected.
        let over = bar_line("replay", 40, Some(30), "");
        assert!(over.contains(&"#".repeat(30)));
        assert_eq!(
            bar_line("export", 7, None, "written 7"),
            "export 7 written 7"
        );
    }

    #[test]
    fn plain_lines_say_the_total_is_approximate() {
        assert_eq!(
            plain_line("purge", 20, Some(100), "removed 20"),
            "purge: 20 of ~100; removed 20"
        );
        assert_eq!(plain_line("purge", 20, Some(0), "x"), "purge: 20; x");
    }
}
