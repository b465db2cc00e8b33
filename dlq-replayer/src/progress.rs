//! Progress on stderr: one line redrawn in place on a terminal, plain lines (at most one every
//! two seconds) when stderr is a file or a pipe, so logs stay readable. A run over before the
//! first interval shows none: its summary says it all.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    total: Option<u64>,
    terminal: bool,
    last: Instant,
    drawn: bool,
}

impl Progress {
    /// `total`: how many items are expected (the queue's approximate depth), if known.
    pub fn new(label: &'static str, total: Option<u64>) -> Self {
        Self {
            label,
            total,
            terminal: std::io::stderr().is_terminal(),
            last: Instant::now(),
            drawn: false,
        }
    }

    /// Reports `done` items and a short status; drawn only if enough time has passed (never
    /// in unit tests, whose output it would only clutter).
    pub fn update(&mut self, done: u64, status: &str) {
        let every = Duration::from_millis(if self.terminal { 100 } else { 2_000 });
        if cfg!(test) || self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let line = line(self.label, done, self.total, status);
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            self.drawn = true;
            write!(err, "\r\x1b[2K{line}")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }

    /// Clears the line on a terminal (the summary follows on stdout).
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// `replay: 340 of ~1000; put back 300, skipped 40`
pub fn line(label: &str, done: u64, total: Option<u64>, status: &str) -> String {
    match total.filter(|&t| t > 0) {
        Some(total) => format!("{label}: {done} of ~{total}; {status}"),
        None => format!("{label}: {done}; {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_the_total_is_approximate() {
        assert_eq!(
            line("purge", 20, Some(100), "removed 20"),
            "purge: 20 of ~100; removed 20"
        );
        assert_eq!(line("purge", 20, Some(0), "x"), "purge: 20; x");
    }
}
