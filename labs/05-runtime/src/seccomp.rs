//! `linux.seccomp`: a filter on system calls, compiled from config.json
//! into BPF by the `seccompiler` crate, loaded in the child.
//!
//! Capabilities decide what a system call may *do*; seccomp decides which
//! system calls the kernel will even run. It is the defence against the
//! kernel's own bugs: a call the filter refuses never reaches the code
//! that has the bug. Docker sends a profile with every container: an
//! allowlist of about 300 calls, everything else `EPERM`.
//!
//! seccompiler's filter has one action for "a rule matched" and one for
//! "nothing matched", while a profile may give each syscall its own
//! action (Docker's: allow most, `ENOSYS` for `clone3`, `EPERM` for the
//! rest). The kernel runs *every* loaded filter and keeps the strictest
//! answer (kill > trap > errno > trace > log > allow; between two errnos,
//! the filter loaded last). So the profile becomes:
//!
//! 1. a base filter: every syscall the profile names → allow, anything
//!    else → the default action;
//! 2. one filter per other action: its syscalls → that action, anything
//!    else → allow — loaded after the base, so its errno wins.
//!
//! The BPF programs are built in the parent; the child only loads them
//! (`prctl(PR_SET_SECCOMP)`), which allocates nothing.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};
use seccompiler::{BpfProgram, TargetArch};
use serde_json::{Value, json};

use crate::error::Error;

/// The compiled filters, in the order to load them.
#[derive(Debug, Clone, Default)]
pub struct Filters(pub Vec<BpfProgram>);

fn unsupported(why: String) -> Error {
    Error::Unsupported {
        field: "linux.seccomp",
        why,
    }
}

/// seccompiler's JSON form of an action; `errno` for those without their own.
fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<Value, Error> {
    let errno = errno.unwrap_or(libc::EPERM as u32);
    Ok(match action {
        LinuxSeccompAction::ScmpActAllow => json!("allow"),
        LinuxSeccompAction::ScmpActErrno => json!({ "errno": errno }),
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            json!("kill_thread")
        }
        LinuxSeccompAction::ScmpActKillProcess => json!("kill_process"),
        LinuxSeccompAction::ScmpActTrap => json!("trap"),
        LinuxSeccompAction::ScmpActLog => json!("log"),
        LinuxSeccompAction::ScmpActTrace => json!({ "trace": errno }),
        other => return Err(unsupported(format!("the action {other:?}"))),
    })
}

fn operator(op: LinuxSeccompOperator, value: u64, two: Option<u64>) -> (Value, u64) {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => (json!("ne"), value),
        LinuxSeccompOperator::ScmpCmpLt => (json!("lt"), value),
        LinuxSeccompOperator::ScmpCmpLe => (json!("le"), value),
        LinuxSeccompOperator::ScmpCmpEq => (json!("eq"), value),
        LinuxSeccompOperator::ScmpCmpGe => (json!("ge"), value),
        LinuxSeccompOperator::ScmpCmpGt => (json!("gt"), value),
        // (arg & value) == valueTwo
        LinuxSeccompOperator::ScmpCmpMaskedEq => (json!({ "masked_eq": value }), two.unwrap_or(0)),
    }
}

/// One filter through seccompiler's JSON front end.
fn compile_one(mismatch: Value, matched: Value, rules: Vec<Value>) -> Result<BpfProgram, String> {
    let text =
        json!({ "f": { "mismatch_action": mismatch, "match_action": matched, "filter": rules } });
    let mut map = seccompiler::compile_from_json(text.to_string().as_bytes(), TargetArch::x86_64)
        .map_err(|e| e.to_string())?;
    Ok(map.remove("f").unwrap_or_default())
}

/// Whether seccompiler's table knows `name` on x86_64 (a profile lists the
/// names of every architecture, as libseccomp skips unknown ones).
fn known(name: &str) -> bool {
    // (Two different actions: seccompiler refuses a filter whose actions are equal.)
    let rule = vec![json!({ "syscall": name })];
    compile_one(json!({ "errno": 1 }), json!("allow"), rule).is_ok()
}

/// Compile config.json's profile.
pub fn compile(profile: &LinuxSeccomp) -> Result<Filters, Error> {
    // TASK 05.4: group the rules by action; a base filter, then one per other action
    todo!("05.4: group the rules by action; a base filter, then one per other action")
    // END TASK 05.4
}

/// In the child: load the filters, base first, with `seccomp(2)` itself —
/// not seccompiler's `apply_filter`, which also sets `no_new_privs`, a
/// choice that belongs to config.json.
pub fn load(filters: &Filters) -> Result<(), nix::errno::Errno> {
    for filter in &filters.0 {
        let program = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: the kernel copies the program; it outlives the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &program as *const libc::sock_fprog,
            )
        };
        if rc != 0 {
            return Err(nix::errno::Errno::last());
        }
    }
    Ok(())
}
