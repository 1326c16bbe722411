//! One check's surroundings: a private temp dir, a leak guard, and a
//! deadline for code that runs in the test process.
//!
//! Checks in one test binary run on several threads, but each check that
//! holds a `Check` runs alone: the leak guard compares the whole host's
//! mounts, cgroups, interfaces and firewall before and after, which only
//! means something if nothing else is changing them at the same time. So a
//! `Check` holds an in-process mutex (the other threads of this binary)
//! and a host-wide lock (other test binaries, other terminals: see
//! [`crate::hostlock`]).
//!
//! The guard sees every process below the test process. The programs the
//! kit starts ([`crate::run()`], [`crate::Running`]) for a test that holds
//! no `Check` are left out of it; a process a test starts any other way
//! (`std::process::Command`, the lab's API) must be started under a
//! `Check`, or a check running meanwhile takes it for its own leak.

use std::any::Any;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use crate::hostlock::{self, HostLock};
use crate::leaks::Snapshot;
use crate::procs;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The in-process lock of the checks, for the kit's own tests that look at
/// the whole host without a `Check`.
#[cfg(test)]
pub(crate) fn alone() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A check in progress. Dropping it asserts that nothing leaked.
pub struct Check {
    before: Snapshot,
    dir: tempfile::TempDir,
    // Fields drop in this order: the host lock before the mutex, so the
    // next check of this binary never finds the host lock still taken.
    _host: Option<HostLock>,
    _alone: MutexGuard<'static, ()>,
}

impl Check {
    /// Start a check: wait for the other checks to finish (in this test
    /// binary and on the host), make the test process the reaper of the
    /// orphans it will make, take a snapshot of the host, and make a temp
    /// dir.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Check {
        // A check that failed poisons the lock; the next one may still run.
        let alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let path = hostlock::path();
        let host = match HostLock::acquire(&path, || {
            eprintln!(
                "waiting for a check of another test binary to finish (lock: {})",
                path.display()
            )
        }) {
            Ok(lock) => Some(lock),
            // Not worth failing a check for: say so, and go on unlocked.
            Err(err) => {
                eprintln!(
                    "cannot take {}: {err}; checks of other test binaries may overlap this one",
                    path.display()
                );
                None
            }
        };
        procs::become_subreaper();
        procs::in_check(true);
        let dir = tempfile::Builder::new()
            .prefix("dockyard-check-")
            .tempdir()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot make the check's temp dir in {}: {err}",
                    std::env::temp_dir().display()
                )
            });
        Check {
            before: Snapshot::take(),
            dir,
            _host: host,
            _alone: alone,
        }
    }

    /// This check's private directory, removed at the end.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Run `f` (a call into the lab's code that may block: `child.wait()`,
    /// a read from a pipe) with a deadline.
    ///
    /// `f` runs on a thread of its own. If it has not returned after
    /// `limit`, every process started since the check began is killed —
    /// which ends a wait for a child and a read from a pipe whose writer was
    /// a child — and `f` gets two more seconds to return; then the check
    /// fails with `hint`, which should say what did not happen and what to
    /// look at ("the child never exited: does `wait` reap the pid it was
    /// given?"). A panic in `f` fails the check as if `f` had run here.
    ///
    /// If `f` is still blocked even then (a deadlock inside the test
    /// process), no unwinding can end it: the message is written to stderr
    /// and the test binary aborts, rather than hanging until its own,
    /// much longer, deadline.
    #[track_caller]
    pub fn within<T: Send>(&self, limit: Duration, hint: &str, f: impl FnOnce() -> T + Send) -> T {
        let caller = std::panic::Location::caller();
        let name = thread::current().name().map(str::to_owned);
        thread::scope(|scope| {
            let (done, finished) = mpsc::channel::<()>();
            let mut builder = thread::Builder::new();
            if let Some(name) = name {
                // Its panics then read like the check's own.
                builder = builder.name(name);
            }
            let handle = builder
                .spawn_scoped(scope, move || {
                    // What this thread starts belongs to the check.
                    procs::in_check(true);
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                    let _ = done.send(());
                    result
                })
                .unwrap_or_else(|err| panic!("cannot start a thread for the check: {err}"));
            if finished.recv_timeout(limit).is_ok() {
                return join(handle);
            }
            let killed = self.before.new_processes();
            procs::kill_all(&killed);
            let message = format!(
                "{hint}\n(the call at {caller} did not return within {limit:?}; the kit \
                 killed the {} process(es) the check had started)",
                killed.len()
            );
            if finished.recv_timeout(Duration::from_secs(2)).is_ok() {
                // Whatever it returned after the kill is beside the point.
                let _ = handle.join();
                panic!("{message}");
            }
            // No Drop runs after an abort: leave the host as it was first
            // (the check's processes, mounts, cgroups, and its temp dir).
            self.before.clean_up(self.dir.path());
            let _ = std::fs::remove_dir_all(self.dir.path());
            abort_with(&format!(
                "{message}\nIt is still blocked after that, inside the test process: \
                 the test binary stops here.\n"
            ))
        })
    }
}

/// The value of a finished thread, or its panic resumed here.
fn join<T>(handle: thread::ScopedJoinHandle<'_, std::thread::Result<T>>) -> T {
    match handle.join() {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) | Err(panic) => resume(panic),
    }
}

fn resume(panic: Box<dyn Any + Send>) -> ! {
    // The panic hook already printed its message on the thread.
    std::panic::resume_unwind(panic)
}

/// Write `message` straight to the process's stderr (libtest captures what
/// `eprintln!` writes, and an aborting binary never shows it), then abort.
fn abort_with(message: &str) -> ! {
    let bytes = message.as_bytes();
    // SAFETY: writes our own buffer to fd 2; a short write only cuts it.
    unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
    std::process::abort()
}

impl Drop for Check {
    fn drop(&mut self) {
        procs::in_check(false);
        let leaks = self.before.settles();
        // Whatever happened, leave the host as it was before the check.
        if leaks.is_err() {
            self.before.clean_up(self.dir.path());
        }
        // A failing check already reports its own failure; a second panic
        // here would abort the test binary.
        if std::thread::panicking() {
            return;
        }
        if let Err(leaks) = leaks {
            panic!(
                "the check left things behind (the kit has cleaned up what it could):\n  - {}",
                leaks.join("\n  - ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    #[test]
    fn within_returns_what_the_call_returns() {
        let check = Check::new();
        let answer = check.within(Duration::from_secs(5), "unused", || 6 * 7);
        assert_eq!(answer, 42);
    }

    #[test]
    fn within_passes_a_panic_on() {
        let check = Check::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check.within(Duration::from_secs(5), "unused", || {
                panic!("the lab's own message")
            })
        }));
        let panic = caught.expect_err("the panic reaches the caller");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"the lab's own message"));
    }

    /// A wait that would block for 30 s ends when the kit kills the child,
    /// and the check fails with the hint.
    #[test]
    fn within_ends_a_blocked_wait_and_fails_with_the_hint() {
        let check = Check::new();
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let start = Instant::now();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check.within(Duration::from_millis(200), "the child never exited", || {
                child.wait()
            })
        }));
        let message = caught
            .expect_err("the deadline fails the check")
            .downcast::<String>()
            .expect("a formatted message");
        assert!(message.starts_with("the child never exited\n"), "{message}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        // The wait in the thread reaped it: nothing leaks.
        drop(check);
    }

    /// Run by `a_call_that_stays_blocked_aborts_and_leaves_nothing`, in a
    /// test process of its own: it aborts.
    #[test]
    #[ignore = "it aborts its test binary: run by the next test, in a process of its own"]
    fn blocked_for_ever() {
        let check = Check::new();
        println!("DIR {}", check.dir().display());
        check.within(Duration::from_millis(100), "blocked for ever", || {
            loop {
                std::thread::park();
            }
        });
    }

    /// When the call stays blocked even after the kill, the test binary
    /// aborts, and no `Drop` runs: the check's temp dir must go first.
    #[test]
    fn a_call_that_stays_blocked_aborts_and_leaves_nothing() {
        use std::os::unix::process::ExitStatusExt;
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "check::tests::blocked_for_ever"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGABRT),
            "the blocked check should abort its binary: {stdout}{stderr}"
        );
        assert!(stderr.contains("blocked for ever"), "{stderr}");
        let dir = stdout
            .lines()
            // libtest's "test … ... " may come first on the line.
            .find_map(|l| l.split("DIR ").nth(1))
            .unwrap_or_else(|| panic!("the check printed no temp dir: {stdout}"));
        assert!(
            !Path::new(dir).exists(),
            "the aborted check left its temp dir {dir}"
        );
    }
}
