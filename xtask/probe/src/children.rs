//! Child processes. `fork` makes children until it has N or fork fails, to
//! show a pids limit (pids.max) at work: fork then fails with EAGAIN.
//! `orphans` leaves zombies for PID 1 of the pid namespace to reap, to show
//! whether the container's init does its job.
//!
//! After fork, a child runs only plain system calls and leaves with _exit:
//! nothing of the Rust runtime (no printing, no allocation, no destructors).

use crate::out;
use serde_json::json;
use std::io;

/// `probe fork N`: forks N children that sleep, reports how many it got,
/// then kills and reaps them all. Exit code 0 if all N were forked.
pub fn fork(count: u32) -> u8 {
    // SAFETY: getpid cannot fail.
    let parent = unsafe { libc::getpid() };
    let mut children = Vec::new();
    let mut failure = None;
    for _ in 0..count {
        // SAFETY: the probe has one thread, and the child only sleeps.
        match unsafe { libc::fork() } {
            -1 => {
                failure = Some(io::Error::last_os_error());
                break;
            }
            0 => sleep_until_killed(parent),
            pid => children.push(pid),
        }
    }
    let summary = json!({ "requested": count, "forked": children.len() });
    let code = match &failure {
        Some(err) => out::fail(err, summary),
        None => out::finish(json!({
            "ok": true, "requested": count, "forked": children.len(), "errno": null, "error": null,
        })),
    };
    for &pid in &children {
        // SAFETY: `pid` is our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for &pid in &children {
        wait(pid);
    }
    code
}

/// A forked child's life: sleep until a signal kills it. The kernel also
/// kills it if the parent dies first, so none is left behind.
fn sleep_until_killed(parent: libc::pid_t) -> ! {
    // SAFETY: plain system calls, safe after fork.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        loop {
            libc::pause();
        }
    }
}

/// `probe orphans N`: forks N children; each forks a grandchild that exits
/// at once, and exits itself without waiting for it. The grandchildren are
/// then orphans: the kernel hands them to PID 1 of the pid namespace, and
/// they stay zombies until PID 1 reaps them.
pub fn orphans(count: u32) -> u8 {
    let mut children = Vec::new();
    let mut failure = None;
    for _ in 0..count {
        // SAFETY: the probe has one thread, and the child only forks and exits.
        match unsafe { libc::fork() } {
            -1 => {
                failure = Some(io::Error::last_os_error());
                break;
            }
            0 => leave_an_orphan(),
            pid => children.push(pid),
        }
    }
    // A child exits with 0, or with the errno of its failed fork.
    let statuses: Vec<i32> = children.iter().filter_map(|&pid| wait(pid)).collect();
    let orphaned = statuses.iter().filter(|&&status| status == 0).count();
    let failure = failure.or_else(|| {
        let errno = statuses.iter().copied().find(|&status| status != 0)?;
        Some(io::Error::from_raw_os_error(errno))
    });
    match failure {
        Some(err) => out::fail(&err, json!({ "orphaned": orphaned })),
        None if orphaned == children.len() => {
            out::finish(json!({ "ok": true, "orphaned": orphaned }))
        }
        None => {
            let text = "a child was killed before it could exit";
            out::refuse(json!({ "ok": false, "orphaned": orphaned, "errno": null, "error": text }))
        }
    }
}

/// A child of `orphans`: fork a grandchild that exits, and exit at once.
fn leave_an_orphan() -> ! {
    // SAFETY: plain system calls, safe after fork.
    unsafe {
        let status = match libc::fork() {
            -1 => io::Error::last_os_error().raw_os_error().unwrap_or(1),
            _ => 0,
        };
        libc::_exit(status)
    }
}

/// Reaps a child; its exit status, or `None` if it did not exit normally.
fn wait(pid: libc::pid_t) -> Option<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes the status into our variable.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        if rc == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return None;
        }
    }
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}
