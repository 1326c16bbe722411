//! `clone3(2)` with `CLONE_INTO_CGROUP`: a child born in its cgroup.
//!
//! Lab 04 puts a child in its cgroup by writing its pid to `cgroup.procs`
//! while it waits: a *migration*. The kernel serializes migrations against
//! fork, exit and exec with one global lock, `cgroup_threadgroup_rwsem`, a
//! per-CPU rw-semaphore: cheap to take for reading (every fork does), slow
//! to take for writing — the writer waits for an RCU grace period, several
//! milliseconds, unless the hierarchy is mounted with `favordynmods`. That
//! one write is most of the time a runtime takes to start a container.
//!
//! Since Linux 5.7, `clone3` takes the fd of a cgroup v2 directory and
//! creates the child *in* it: nothing migrates, only the read side of the
//! lock is taken. Lab 05's runtime asks for it through
//! [`Config::clone_into_cgroup`](crate::Config::clone_into_cgroup); no lab
//! before needs it, and a `spawn` that ignores it is still correct (lab 05
//! checks where the child was born and moves it if it must).
//!
//! `clone3` is used here like `fork`: no `CLONE_VM`, no stack of our own;
//! the child returns from the system call on a copy of our memory, runs the
//! callback and exits without returning.

use std::os::fd::RawFd;

use nix::sched::{CloneCb, CloneFlags, clone};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// From `<linux/sched.h>` (libc's constant is a 32-bit int, too narrow).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of `<linux/sched.h>`, up to `cgroup`
/// (`CLONE_ARGS_SIZE_VER2`, Linux 5.7).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Run `callback` in a child created in `flags`' new namespaces and in the
/// cgroup v2 directory open as `cgroup`.
///
/// Where `clone3` fails — no `clone3` (before 5.3, or a seccomp filter
/// that answers ENOSYS, as Docker's default profile does), no
/// `CLONE_INTO_CGROUP` (5.3–5.6: E2BIG for the larger struct), a cgroup we
/// may not write to — this falls back to `clone` on `stack`: the child is
/// then born in our cgroup, and the caller must move it.
pub fn clone_into_cgroup(
    mut callback: CloneCb<'_>,
    stack: &mut [u8],
    flags: CloneFlags,
    cgroup: RawFd,
) -> nix::Result<Pid> {
    let args = CloneArgs {
        flags: u64::from(flags.bits() as u32) | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup as u64,
        ..CloneArgs::default()
    };
    // SAFETY: without CLONE_VM this is fork: the child has a copy of our
    // memory and returns here with 0; it only runs `callback`, which makes
    // async-signal-safe calls only (as with `clone`), and exits.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match ret {
        0 => {
            let code = callback();
            // SAFETY: the child ends here, without unwinding into our frames.
            unsafe { libc::_exit(code as i32) }
        }
        pid if pid > 0 => Ok(Pid::from_raw(pid as i32)),
        // Whatever the reason, `clone` again: if it was the namespaces,
        // `clone` fails the same way; if it was the cgroup (no clone3, a
        // cgroup we may not write to, one with controllers enabled below
        // it…), the caller's plain write says what is wrong, precisely.
        _ => {
            // SAFETY: as in `spawn`: the child runs only the callback.
            unsafe { clone(callback, stack, flags, Some(Signal::SIGCHLD as i32)) }
        }
    }
}
