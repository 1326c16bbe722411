//! A program whose output a check reads while it runs.
//!
//! Some checks must act in the middle of a run: wait until the probe says
//! `{"ready":true}`, then send a signal. `Running` reads stdout line by line
//! on a thread, so every read can have a deadline. Like [`crate::run()`], the
//! program runs in a process group of its own, and whatever way the check
//! ends (a deadline, a failed assertion), the group and everything below
//! the program are killed and reaped.

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::run::{GENERIC_HINT, Output, Since, command_line, status_text, stop, wait_until};

/// How long the rest of stdout may take to arrive once the program ended
/// (a grandchild may hold the pipe open).
const DRAIN: Duration = Duration::from_secs(1);

/// A started program; killed (with everything it started) and reaped when
/// dropped.
pub struct Running {
    child: Child,
    what: String,
    lines: Receiver<String>,
    seen: Vec<String>,
    status: Option<ExitStatus>,
    since: Since,
}

impl Running {
    /// Start `cmd` with stdout piped (stderr is inherited, so it shows in
    /// the check's output) in a process group of its own.
    #[track_caller]
    pub fn start(cmd: &mut Command) -> Running {
        let what = command_line(cmd);
        let since = Since::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        crate::procs::started(child.id() as i32);
        let Some(stdout) = child.stdout.take() else {
            unreachable!("stdout was piped above")
        };
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
            what,
            lines,
            seen: Vec::new(),
            status: None,
            since,
        }
    }

    /// The process id of the program (also its process group id).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Wait for the next JSON line on stdout, with a generic message on
    /// failure. Prefer [`Running::next_json_or`] with a hint.
    #[track_caller]
    pub fn next_json(&mut self, limit: Duration) -> Value {
        self.next_json_or(limit, "")
    }

    /// Wait for the next JSON line on stdout (other lines are kept for
    /// messages). If none comes within `limit`, or stdout ends first, fail
    /// the check with `hint` (what did not happen, what to look at) and
    /// what the program printed and how it ended.
    #[track_caller]
    pub fn next_json_or(&mut self, limit: Duration, hint: &str) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let value = serde_json::from_str(&line).ok();
                    self.seen.push(line);
                    if let Some(value) = value {
                        return value;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.status = self.since.stop_all(&mut self.child);
                    panic!(
                        "`{}` printed no JSON line within {limit:?}{}\n\
                         (the kit killed it and everything it had started)\n{}",
                        self.what,
                        with_hint(hint),
                        self.so_far()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Stdout ends when the program exits: give it a moment
                    // so that the message can say how.
                    let status = wait_until(&mut self.child, Instant::now() + DRAIN);
                    self.status = status;
                    let ended = match status {
                        Some(s) => status_text(s.code(), s.signal()),
                        None => "it closed its stdout but is still running".to_owned(),
                    };
                    panic!(
                        "`{}` ended before printing the JSON line the check waits for: {ended}{}\n{}",
                        self.what,
                        with_hint(hint),
                        self.so_far()
                    )
                }
            }
        }
    }

    /// Wait for the program to end, with a generic message on expiry.
    /// Prefer [`Running::finish_or`] with a hint.
    #[track_caller]
    pub fn finish(self, limit: Duration) -> Output {
        self.finish_or(limit, GENERIC_HINT)
    }

    /// Wait for the program to end; the rest of stdout is in the result
    /// (`stderr` is empty: it was not captured). If it has not ended after
    /// `limit`, kill it and everything it started and fail the check:
    /// "`dockyard-01 run …` did not exit within 10s: {hint}", then stdout
    /// so far.
    #[track_caller]
    pub fn finish_or(mut self, limit: Duration, hint: &str) -> Output {
        let status = match self.status {
            Some(status) => status,
            None => match wait_until(&mut self.child, Instant::now() + limit) {
                Some(status) => status,
                None => {
                    self.status = self.since.stop_all(&mut self.child);
                    self.drain();
                    panic!(
                        "`{}` did not exit within {limit:?}: {hint}\n\
                         (the kit killed it and everything it had started)\n{}",
                        self.what,
                        self.so_far()
                    );
                }
            },
        };
        self.status = Some(status);
        self.drain();
        Output {
            code: status.code(),
            signal: status.signal(),
            stdout: self.seen.join("\n"),
            stderr: String::new(),
        }
    }

    /// Collect the lines still to come, for at most [`DRAIN`].
    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => break,
            }
        }
    }

    fn so_far(&self) -> String {
        if self.seen.is_empty() {
            "(stdout so far: nothing)".to_owned()
        } else {
            format!("--- stdout so far ---\n{}", self.seen.join("\n"))
        }
    }
}

fn with_hint(hint: &str) -> String {
    if hint.is_empty() {
        String::new()
    } else {
        format!(": {hint}")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only a child not reaped yet: a reaped pid may belong to another
        // process by now.
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            // End the whole tree (a container's processes outlive a killed
            // dockyard otherwise) and reap.
            stop(&mut self.child);
        }
        crate::procs::ended(self.pid());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn reads_json_lines_then_the_end() {
        let _alone = crate::check::alone();
        let mut run = Running::start(&mut sh(
            "echo hello; echo '{\"ready\":true}'; read x; exit 4",
        ));
        assert_eq!(run.next_json(Duration::from_secs(5))["ready"], true);
        let out = run.finish(Duration::from_secs(5));
        assert_eq!(out.code, Some(4));
        assert_eq!(out.stdout, "hello\n{\"ready\":true}");
    }

    #[test]
    fn an_early_end_is_explained() {
        let _alone = crate::check::alone();
        let mut run = Running::start(&mut sh("echo '{\"ready\":true}'; exit 101"));
        run.next_json(Duration::from_secs(5));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run.next_json_or(Duration::from_secs(5), "the signal was not forwarded")
        }));
        let message = caught.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.starts_with(
                "`sh -c echo '{\"ready\":true}'; exit 101` ended before printing the JSON line \
                 the check waits for: it exited with code 101: the signal was not forwarded\n"
            ),
            "{message}"
        );
        assert!(message.ends_with("{\"ready\":true}"), "{message}");
    }

    /// Dropping a `Running` whose program left a process in another
    /// session behind ends that one too.
    #[test]
    fn drop_kills_the_whole_tree() {
        let _alone = crate::check::alone();
        crate::procs::become_subreaper();
        let mut run = Running::start(&mut sh("setsid sleep 30 & echo '{}'; sleep 30"));
        run.next_json(Duration::from_secs(5));
        assert!(!crate::procs::below(&crate::procs::table(), run.pid()).is_empty());
        drop(run);
        let left = crate::procs::below(&crate::procs::table(), crate::procs::own_pid());
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn finish_or_kills_on_expiry_with_the_hint() {
        let _alone = crate::check::alone();
        let start = Instant::now();
        let run = Running::start(&mut sh("echo '{}'; exec sleep 30"));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run.finish_or(Duration::from_millis(200), "it never saw SIGCHLD")
        }));
        let message = caught.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message
                .lines()
                .next()
                .is_some_and(|l| l.ends_with("did not exit within 200ms: it never saw SIGCHLD")),
            "{message}"
        );
        assert!(start.elapsed() < Duration::from_secs(4));
    }
}
