//! Running a program under a deadline and capturing what it printed.
//!
//! A learner's half-written code may hang (a pipe never closed, a child
//! never reaped, a signal never delivered). A check must then fail within
//! seconds, saying what did not happen and what it saw so far — not hang
//! the whole run in silence. So:
//!
//! - every program gets a deadline, and a hint for the message on expiry:
//!   [`run_or`] (`run` has a generic one);
//! - it runs in a process group of its own, and on expiry the kit kills the
//!   group and every process below the program, also those that left the
//!   group ([`crate::procs::kill_tree`]), and in a check every process
//!   that appeared below the test process since the program started (an
//!   orphan re-parented to the subreaper is no longer below the program);
//! - stdout and stderr are read on threads that are given one second after
//!   the kill: a process the kill missed that still holds the pipe open
//!   must not turn a 10 s deadline into the test binary's 300 s one.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::procs;

/// What `run` says on expiry when the check gives no hint.
pub const GENERIC_HINT: &str = "it may be waiting for something that never happens \
    (a child never reaped, a pipe never closed, a signal never delivered)";

/// How long the readers of a killed program's pipes get to finish.
const DRAIN: Duration = Duration::from_secs(1);

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
                "expected a JSON line (the probe's) on stdout, and there is none\n{}",
                self.describe()
            ),
        }
    }

    /// A readable account for assertion messages: how it ended ("it was
    /// killed by signal 6 (SIGABRT: …)"), then stdout and stderr.
    pub fn describe(&self) -> String {
        let stream = |text: &str| {
            if text.trim().is_empty() {
                "(nothing)".to_owned()
            } else {
                text.trim_end().to_owned()
            }
        };
        format!(
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            status_text(self.code, self.signal),
            stream(&self.stdout),
            stream(&self.stderr)
        )
    }
}

/// "it exited with code 1", "it was killed by signal 9 (SIGKILL)".
pub fn status_text(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("it exited with code {code}"),
        (None, Some(signal)) => format!("it was killed by signal {signal}{}", signal_name(signal)),
        (None, None) => "it is still running".to_owned(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGABRT => " (SIGABRT: a panic that could not unwind, or abort())",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGSEGV => " (SIGSEGV: a bad memory access)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGPIPE => " (SIGPIPE: it wrote to a closed pipe)",
        _ => "",
    }
}

/// A command as a person would type it: the program's file name and the
/// arguments, cut to a readable length. For the first line of messages.
pub fn command_line(cmd: &Command) -> String {
    let program = std::path::Path::new(cmd.get_program());
    let name = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy();
    let mut line = name.into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    procs::shorten(&line, 120)
}

/// Run `cmd` to completion, killing it (and failing the check) after
/// `limit`, with a generic message. Prefer [`run_or`] with a hint.
#[track_caller]
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    run_or(cmd, limit, GENERIC_HINT)
}

/// Run `cmd` to completion in a process group of its own; after `limit`,
/// kill it and everything it started, and fail the check with a first line
/// such as "`dockyard-02 run …` did not exit within 10s: {hint}", then what
/// it printed so far. `hint` says what did not happen and what to look at:
/// "dockyard never exited: does init ever see SIGCHLD?".
#[track_caller]
pub fn run_or(cmd: &mut Command, limit: Duration, hint: &str) -> Output {
    let (child, what) = spawn(cmd);
    wait_or(child, &what, limit, hint)
}

/// Start `cmd` as [`run_or`] does — no stdin, stdout and stderr piped, a
/// process group of its own — for a check that looks at it while it runs
/// and then [`wait_or`]s; with its command line, for messages.
#[track_caller]
pub fn spawn(cmd: &mut Command) -> (Child, String) {
    let what = command_line(cmd);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    (child, what)
}

/// Wait for a started `child` (with piped stdout and stderr, or not),
/// killing it and failing the check after `limit`. `what` names it in
/// messages. The child need not lead a process group of its own; if it
/// does, the group is killed too.
#[track_caller]
pub fn wait(child: Child, what: &str, limit: Duration) -> Output {
    wait_or(child, what, limit, GENERIC_HINT)
}

/// [`wait`] with a hint for the message on expiry (see [`run_or`]).
#[track_caller]
pub fn wait_or(mut child: Child, what: &str, limit: Duration, hint: &str) -> Output {
    procs::started(child.id() as i32);
    let since = Since::after(child.id() as i32);
    let out = Reader::start(child.stdout.take());
    let err = Reader::start(child.stderr.take());
    let status = wait_until(&mut child, Instant::now() + limit);
    if status.is_none() {
        since.stop_all(&mut child);
    }
    procs::ended(child.id() as i32);
    // After a normal exit a grandchild may still hold the pipes: the
    // readers get the same bounded time as after a kill.
    let output = Output {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        stdout: out.finish(DRAIN),
        stderr: err.finish(DRAIN),
    };
    if status.is_none() {
        panic!(
            "`{what}` did not exit within {limit:?}: {hint}\n\
             (the kit killed it and everything it had started)\n{}",
            output.describe()
        );
    }
    output
}

/// Poll `child` until it exits or `deadline` passes.
pub(crate) fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            // ECHILD: someone else reaped it. Nothing more to learn.
            Err(err) => panic!("cannot wait for pid {}: {err}", child.id()),
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Kill `child` (not yet reaped: its pid cannot have been reused), its
/// group and everything below it; reap the child and the processes
/// re-parented to this one. Returns the child's status.
pub(crate) fn stop(child: &mut Child) -> Option<ExitStatus> {
    let root = child.id() as i32;
    let killed = procs::kill_tree(root);
    let _ = child.kill();
    let status = child.wait().ok();
    procs::reap(&killed, Some(root), Duration::from_secs(1));
    status
}

/// The processes below the test process when a program started: on its
/// deadline, those that appeared since and are no longer below it (an
/// orphan that left its process group, re-parented to the subreaper) are
/// killed too.
pub(crate) struct Since(BTreeSet<(i32, u64)>);

impl Since {
    pub(crate) fn now() -> Since {
        Since(procs::descendants().iter().map(procs::Proc::key).collect())
    }

    /// [`Since::now`], taken after `child` started: what it (or what it
    /// started, perhaps already orphaned) made is new all the same. A
    /// double fork can be done before this look; what is below `child` is
    /// left out, and so is any process that started no earlier than it.
    pub(crate) fn after(child: i32) -> Since {
        let table = procs::table();
        let born = table.iter().find(|p| p.pid == child).map(|p| p.start);
        let below: BTreeSet<i32> = procs::below(&table, child).iter().map(|p| p.pid).collect();
        Since(
            procs::descendants()
                .iter()
                .filter(|p| p.pid != child && !below.contains(&p.pid))
                .filter(|p| born.is_none_or(|born| p.start < born))
                .map(procs::Proc::key)
                .collect(),
        )
    }

    /// [`stop`] the child, then, if this thread holds a check (otherwise a
    /// new process may be a running check's), kill and reap every process
    /// below the test process that is new since `self`.
    pub(crate) fn stop_all(&self, child: &mut Child) -> Option<ExitStatus> {
        let status = stop(child);
        if procs::holds_check() {
            // An orphan reaches this process only when its parent is
            // gone, which the kill above may have caused a moment ago:
            // look a few times.
            for _ in 0..4 {
                let new: Vec<procs::Proc> = procs::descendants()
                    .into_iter()
                    .filter(|p| !self.0.contains(&p.key()))
                    .collect();
                if new.is_empty() {
                    thread::sleep(Duration::from_millis(20));
                    continue;
                }
                procs::kill_all(&new);
                procs::reap(&new, None, Duration::from_secs(1));
            }
        }
        status
    }
}

/// A thread that reads a pipe to its end, keeping what it read where the
/// caller can take it even if the end never comes.
pub(crate) struct Reader {
    bytes: Arc<Mutex<Vec<u8>>>,
    done: Option<thread::JoinHandle<()>>,
}

impl Reader {
    pub(crate) fn start(pipe: Option<impl Read + Send + 'static>) -> Reader {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let done = pipe.map(|mut pipe| {
            let bytes = Arc::clone(&bytes);
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match pipe.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => bytes
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            })
        });
        Reader { bytes, done }
    }

    /// What was read, once the pipe ended or `grace` passed (a thread still
    /// blocked then is left to end with the pipe, or with the process).
    pub(crate) fn finish(mut self, grace: Duration) -> String {
        let deadline = Instant::now() + grace;
        if let Some(done) = self.done.take() {
            while !done.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            if done.is_finished() {
                let _ = done.join();
            }
        }
        let bytes = self.bytes.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
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
    fn a_command_line_is_short_and_readable() {
        let mut cmd = Command::new("/very/long/path/dockyard-02");
        cmd.args(["run", "--", "/probe", "true"]);
        assert_eq!(command_line(&cmd), "dockyard-02 run -- /probe true");
        cmd.arg("x".repeat(200));
        assert!(command_line(&cmd).chars().count() <= 120);
    }

    #[test]
    fn run_captures_both_streams_and_the_code() {
        let _alone = crate::check::alone();
        let out = run(
            &mut sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(5),
        );
        assert_eq!((out.code, out.signal), (Some(3), None));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    /// A grandchild in another session holds stdout open: the deadline
    /// still ends the run in about its own time, with the hint first, and
    /// leaves nothing behind.
    #[test]
    fn a_deadline_kills_what_holds_stdout_and_says_why() {
        let _alone = crate::check::alone();
        crate::procs::become_subreaper();
        let start = Instant::now();
        let caught = std::panic::catch_unwind(|| {
            run_or(
                &mut sh("echo started; setsid sleep 30 & sleep 30"),
                Duration::from_millis(300),
                "the sleeps never end",
            )
        });
        let message = caught
            .expect_err("the deadline fails the check")
            .downcast::<String>()
            .expect("a formatted message");
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
        let first = message.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("`sh -c echo started;")
                && first.ends_with("did not exit within 300ms: the sleeps never end"),
            "{message}"
        );
        assert!(message.contains("started"), "{message}");
        // Other tests of this binary run meanwhile; their programs stay in
        // the binary's process group. This run's went into groups of their
        // own (the kit's, and setsid's).
        // SAFETY: getpgrp only reads.
        let own_group = unsafe { libc::getpgrp() };
        let left: Vec<_> = crate::procs::below(&crate::procs::table(), crate::procs::own_pid())
            .into_iter()
            .filter(|p| p.pgid != own_group)
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    /// In a check, an orphan that left the group before the deadline (a
    /// daemon-style double fork) is killed with the rest: the check's
    /// guard then finds nothing.
    #[test]
    fn a_deadline_in_a_check_also_ends_orphans_that_left_the_group() {
        let check = crate::Check::new();
        let caught = std::panic::catch_unwind(|| {
            run_or(
                &mut sh("(setsid sleep 30 >/dev/null 2>&1 &); sleep 30"),
                Duration::from_millis(300),
                "hint",
            )
        });
        assert!(caught.is_err());
        let left = crate::procs::descendants();
        assert!(left.is_empty(), "left behind: {left:?}");
        drop(check);
    }

    #[test]
    fn after_an_exit_a_held_pipe_costs_at_most_the_drain_time() {
        let _alone = crate::check::alone();
        crate::procs::become_subreaper();
        let start = Instant::now();
        let out = run(&mut sh("sleep 3 & echo done"), Duration::from_secs(5));
        assert_eq!(out.code, Some(0));
        assert_eq!(out.stdout, "done\n");
        assert!(
            start.elapsed() < Duration::from_millis(2500),
            "{:?}",
            start.elapsed()
        );
        // The sleep is ours now (re-parented): end it.
        let left = crate::procs::below(&crate::procs::table(), crate::procs::own_pid());
        crate::procs::kill_all(&left);
        crate::procs::reap(&left, None, Duration::from_secs(2));
    }

    #[test]
    fn status_texts() {
        assert_eq!(status_text(Some(1), None), "it exited with code 1");
        assert_eq!(
            status_text(None, Some(6)),
            "it was killed by signal 6 (SIGABRT: a panic that could not unwind, or abort())"
        );
        assert_eq!(status_text(None, None), "it is still running");
    }

    #[test]
    fn describe_says_how_it_ended_first() {
        let out = Output {
            code: None,
            signal: Some(6),
            stdout: String::new(),
            stderr: "boom\n".into(),
        };
        assert_eq!(
            out.describe(),
            "it was killed by signal 6 (SIGABRT: a panic that could not unwind, or abort())\n\
             --- stdout ---\n(nothing)\n--- stderr ---\nboom"
        );
    }
}
