//! Running a program under a deadline and capturing what it printed.
//!
//! A learner's half-written code may hang (a pipe never closed, a child
//! never reaped). A check must then fail with what it saw so far, not hang
//! the whole run, so every program a check starts gets a deadline.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// What a finished program did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code, when it exited normally.
    pub code: Option<i32>,
    /// The signal that killed it, when it was killed.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Every stdout line that is a JSON value (the probe prints one per line).
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The last JSON line of stdout; fails the check if there is none.
    #[track_caller]
    pub fn json(&self) -> Value {
        match self.json_lines().pop() {
            Some(v) => v,
            None => panic!(
                "expected the probe's JSON on stdout, got:\n{}",
                self.describe()
            ),
        }
    }

    /// A readable account for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "exit code: {:?}, signal: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.signal, self.stdout, self.stderr
        )
    }
}

/// Run `cmd` to completion, killing it (and failing the check) after `limit`.
#[track_caller]
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    wait(child, &format!("{cmd:?}"), limit)
}

/// Wait for a started `child` (with piped stdout and stderr, or not), killing
/// it and failing the check after `limit`. `what` names it in messages.
#[track_caller]
pub fn wait(mut child: Child, what: &str, limit: Duration) -> Output {
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitpid") {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let output = Output {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    if status.is_none() {
        panic!(
            "{what} did not finish within {limit:?}; it was killed.\n{}",
            output.describe()
        );
    }
    output
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
