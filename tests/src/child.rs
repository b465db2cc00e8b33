//! A service binary run as a child process by the benchmarks and the soak: its environment is
//! exactly what the caller gives, its output goes to a log file, and its memory is read from
//! `/proc`.

use std::path::Path;
use std::process::{Child, Command, Stdio};

#[derive(Debug)]
pub struct Service {
    child: Child,
}

impl Service {
    pub fn start(bin_dir: &Path, name: &str, env: &[(String, String)], log: &Path) -> Self {
        let file = std::fs::File::create(log).expect("log file");
        let child = Command::new(bin_dir.join(name))
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} from {}: {e}", bin_dir.display()));
        Self { child }
    }

    /// Resident memory now, KiB (0 once the process is gone).
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The most resident memory the process has had so far, KiB: the kernel's high-water mark,
    /// so a spike between two samples still counts.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM, as a container stop, a deploy or Lambda's shutdown does, then wait.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
