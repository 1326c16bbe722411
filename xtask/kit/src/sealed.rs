//! CVE-2019-5736, seen from the host: while a program that makes
//! containers has one running, its binary must be out of a write's reach.
//!
//! Between `clone` and `execve`, a container's first process *is* the
//! program that made it, and `/proc/PID/exe` of either is a magic link to
//! that program's binary which crosses every root. Lab 05's `exe.rs`
//! re-executes from a copy no write can reach; every engine that makes
//! containers in its own process (labs 05–09) must do the same. This looks
//! at the engine's `/proc/PID/exe` once it has a child, the way the 2019
//! exploit would: opening it for writing.

use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::run::{Output, spawn, wait_or};

/// What `/proc/PID/exe` of a running engine turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exe {
    /// Out of reach: how (a read-only mount, a sealed memfd).
    Sealed(String),
    /// Within reach: what opening it for writing did.
    Writable(String),
    /// The program never had a child: it made no container.
    NoChild,
}

/// What opening `/proc/PID/exe` for writing does. `ETXTBSY` is no seal:
/// it lasts only while the binary runs, and the 2019 exploit waited.
pub fn exe_of(pid: i32) -> Exe {
    let path = format!("/proc/{pid}/exe");
    if let Ok(file) = std::fs::File::open(&path) {
        // SAFETY: fcntl on an fd we own.
        let seals = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GET_SEALS) };
        if seals >= 0 && seals & libc::F_SEAL_WRITE != 0 {
            return Exe::Sealed("a memfd sealed against writes".into());
        }
    }
    match std::fs::OpenOptions::new().write(true).open(&path) {
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => {
            Exe::Sealed("a file of a read-only mount (EROFS)".into())
        }
        Err(e) => Exe::Writable(format!("opening {path} for writing: {e}")),
        Ok(_) => Exe::Writable(format!("{path} opened for writing")),
    }
}

/// Run `cmd` like [`crate::run::run_or`] and, once it has a child (its
/// container's first process, or a helper of its own), look at its
/// binary with [`exe_of`]. Returns what it printed and what was seen.
#[track_caller]
pub fn run_watching_exe(cmd: &mut Command, limit: Duration, hint: &str) -> (Output, Exe) {
    let (child, what) = spawn(cmd);
    let pid = child.id() as i32;
    let watcher = std::thread::spawn(move || {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            let table = crate::procs::table();
            if table.iter().any(|p| p.ppid == pid) {
                return exe_of(pid);
            }
            if !table.iter().any(|p| p.pid == pid) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Exe::NoChild
    });
    let output = wait_or(child, &what, limit, hint);
    let exe = watcher.join().unwrap_or(Exe::NoChild);
    (output, exe)
}

/// Fail the check unless `exe`, what [`run_watching_exe`] saw of
/// `engine` (`dockyard-06 run`), is [`Exe::Sealed`], saying what to do.
#[track_caller]
pub fn assert_sealed(exe: &Exe, engine: &str) {
    assert!(
        matches!(exe, Exe::Sealed(_)),
        "while its container ran, the binary of `{engine}` was {exe:?}: a process in \
         the container could replace it once it exits (CVE-2019-5736); main must \
         re-execute from a sealed copy (runtime::exe::reexec_sealed_or_exit) before \
         it makes the container"
    );
}
