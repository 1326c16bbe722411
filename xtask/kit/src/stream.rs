//! A program whose output a check reads while it runs.
//!
//! Some checks must act in the middle of a run: wait until the probe says
//! `{"ready":true}`, then send a signal. `Running` reads stdout line by line
//! on a thread, so every read can have a deadline.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::run::Output;

/// A started program; killed and reaped when dropped.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Start `cmd` with stdout piped (stderr is inherited, so it shows in
    /// the check's output).
    #[track_caller]
    pub fn start(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The process id of the program.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Wait for the next JSON line on stdout.
    #[track_caller]
    pub fn next_json(&mut self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Ok(value) = serde_json::from_str(&line) {
                        return value;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no JSON line within {limit:?}; stdout so far:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "stdout closed before a JSON line; stdout so far:\n{}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    /// Wait for the program to end; the rest of stdout is in the result.
    #[track_caller]
    pub fn finish(mut self, limit: Duration) -> Output {
        use std::os::unix::process::ExitStatusExt;
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waitpid") {
                break status;
            }
            if Instant::now() > deadline {
                panic!(
                    "the program did not end within {limit:?}; stdout so far:\n{}",
                    self.seen.join("\n")
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        // The reader thread ends at end-of-file; collect what it still has.
        let rest: Vec<String> = self.lines.iter().collect();
        self.seen.extend(rest);
        Output {
            code: status.code(),
            signal: status.signal(),
            stdout: self.seen.join("\n"),
            stderr: String::new(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
