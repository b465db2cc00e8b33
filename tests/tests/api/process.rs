//! The service binaries as child processes, configured only through the environment.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub fn binary(name: &str) -> PathBuf {
    // The test binary lives in target/<profile>/deps; the service binaries one level up.
    let path = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (`cargo build --bins`; `make test` does)",
        path.display()
    );
    path
}

/// A Lambda bootstrap: the packaged one in `$OTP_TEST_LAMBDA_DIR/<name>/bootstrap` when that
/// is set (`make package-test`), else the debug binary.
pub fn lambda_binary(name: &str) -> PathBuf {
    match std::env::var_os("OTP_TEST_LAMBDA_DIR") {
        Some(dir) => {
            let path = PathBuf::from(dir).join(name).join("bootstrap");
            assert!(
                path.exists(),
                "{} is missing: run `make package` first",
                path.display()
            );
            path
        }
        None => binary(name),
    }
}

/// A running binary whose stdout and stderr are collected.
pub struct Process {
    child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Process {
    pub fn start(name: &str, env: &[(&str, String)]) -> Self {
        Self::start_at(binary(name), env)
    }

    pub fn start_at(path: PathBuf, env: &[(&str, String)]) -> Self {
        Self::start_with_args(path, &[], env)
    }

    pub fn start_with_args(path: PathBuf, args: &[&str], env: &[(&str, String)]) -> Self {
        let mut command = Command::new(path);
        command.args(args);
        command
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let mut readers = Vec::new();
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for mut stream in streams {
            let output = output.clone();
            readers.push(std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stream.read_to_string(&mut text);
                output.lock().unwrap().push_str(&text);
            }));
        }
        Self {
            child,
            output,
            readers,
        }
    }

    /// SIGTERM, then waits for a clean exit; returns everything the process printed.
    pub fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let output = self.output.lock().unwrap().clone();
        assert!(
            exit.success(),
            "did not stop cleanly on SIGTERM ({exit}):\n{output}"
        );
        output
    }

    /// Waits up to `limit` for the process to exit by itself; its exit status (`None` if it
    /// was still running and got killed) and everything it printed.
    pub fn wait_exit(
        mut self,
        limit: std::time::Duration,
    ) -> (Option<std::process::ExitStatus>, String) {
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > limit {
                self.child.kill().unwrap();
                self.child.wait().unwrap();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let output = self.output.lock().unwrap().clone();
        (status, output)
    }

    /// SIGKILL: no chance to clean up, as when a machine or container dies.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}
