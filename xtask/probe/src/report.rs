//! `probe report`: everything the process can see about its own container,
//! gathered into one JSON object. The parts with parsing of their own live
//! in their modules (mounts, cgroup, net, caps, ns, procs, fds, ipc); the
//! plain process facts (ids, environment, limits) are read here.

use crate::{caps, cgroup, fds, ipc, mounts, net, ns, out, procs, sys, terminal};
use serde_json::{Map, Value, json};

/// Prints the report and returns exit code 0.
pub fn run() -> u8 {
    out::line(&collect());
    0
}

/// Builds the report. Every key is present; what cannot be read is null.
fn collect() -> Value {
    let mut report = identity();
    let rest = json!({
        "uid_map": sys::read_text("/proc/self/uid_map"),
        "gid_map": sys::read_text("/proc/self/gid_map"),
        "setgroups": sys::read_text("/proc/self/setgroups"),
        "namespaces": ns::namespaces(),
        "cwd": cwd(),
        "argv": argv(),
        "env": env(),
        "mounts": mounts::mounts(),
        "cgroup": cgroup::cgroup(),
        "fds": fds::open_fds(),
        "sysv_shm": ipc::shm_segments(),
        "interfaces": net::interfaces(),
        "routes": net::routes(),
        "capabilities": caps::capabilities(),
        "no_new_privs": caps::no_new_privs(),
        "seccomp": caps::seccomp(),
        "signals": caps::signal_masks(),
        "rlimits": rlimits(),
        "processes": procs::pids(),
        // SAFETY: isatty only looks at the file descriptor.
        "tty": unsafe { libc::isatty(0) } == 1,
        "terminal": terminal::terminal(),
    });
    if let (Value::Object(fields), Value::Object(more)) = (&mut report, rest) {
        fields.extend(more);
    }
    report
}

/// Who the process is: pids, host name, user and group ids.
fn identity() -> Value {
    // SAFETY: these calls only return numbers and cannot fail.
    let (pid, ppid, uid, gid, euid, egid) = unsafe {
        (
            libc::getpid(),
            libc::getppid(),
            libc::getuid(),
            libc::getgid(),
            libc::geteuid(),
            libc::getegid(),
        )
    };
    json!({
        "pid": pid, "ppid": ppid, "hostname": sys::hostname(),
        "uid": uid, "gid": gid, "euid": euid, "egid": egid, "groups": groups(),
    })
}

/// The supplementary group ids, or `None`.
fn groups() -> Option<Vec<libc::gid_t>> {
    // SAFETY: with a size of 0, getgroups only counts the groups.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let mut gids = vec![0; usize::try_from(count).ok()?];
    // SAFETY: the buffer holds `count` gids.
    let count = unsafe { libc::getgroups(count, gids.as_mut_ptr()) };
    gids.truncate(usize::try_from(count).ok()?);
    Some(gids)
}

fn cwd() -> Option<String> {
    let dir = std::env::current_dir().ok()?;
    Some(dir.to_string_lossy().into_owned())
}

fn argv() -> Vec<String> {
    std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

fn env() -> Map<String, Value> {
    std::env::vars_os()
        .map(|(name, value)| {
            let name = name.to_string_lossy().into_owned();
            (name, json!(value.to_string_lossy()))
        })
        .collect()
}

/// Resource limits as `[soft, hard]`, each a number or "unlimited".
fn rlimits() -> Map<String, Value> {
    let resources = [
        ("nofile", libc::RLIMIT_NOFILE),
        ("nproc", libc::RLIMIT_NPROC),
        ("core", libc::RLIMIT_CORE),
        ("stack", libc::RLIMIT_STACK),
        ("as", libc::RLIMIT_AS),
        ("memlock", libc::RLIMIT_MEMLOCK),
        ("fsize", libc::RLIMIT_FSIZE),
    ];
    let mut limits = Map::new();
    for (name, resource) in resources {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        let value = if unsafe { libc::getrlimit(resource, &mut limit) } == 0 {
            json!([rlimit_value(limit.rlim_cur), rlimit_value(limit.rlim_max)])
        } else {
            Value::Null
        };
        limits.insert(name.to_owned(), value);
    }
    limits
}

fn rlimit_value(value: libc::rlim_t) -> Value {
    if value == libc::RLIM_INFINITY {
        json!("unlimited")
    } else {
        json!(value)
    }
}
