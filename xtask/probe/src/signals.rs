//! `probe signals`: reports each signal it receives, to show how a signal
//! sent to the container (or typed at its terminal) reaches the process.
//!
//! The signals are blocked and then taken one by one with sigwaitinfo,
//! which also tells who sent each one. Blocking matters for PID 1 of a pid
//! namespace too: the kernel drops signals that PID 1 has left at their
//! default action, but a blocked signal is always queued.

use crate::out;
use serde_json::json;
use std::io;

/// The signals reported, with their names.
const SIGNALS: [(libc::c_int, &str); 8] = [
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGINT, "SIGINT"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGWINCH, "SIGWINCH"),
    (libc::SIGCONT, "SIGCONT"),
];

/// Prints `{"ready":true}`, then one line per signal; returns after
/// SIGTERM.
pub fn run() -> u8 {
    let set = signal_set();
    // SAFETY: the probe has one thread; the set is initialised.
    if unsafe { libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) } != 0 {
        return out::fail(&io::Error::last_os_error(), json!({}));
    }
    out::line(&json!({ "ready": true }));
    loop {
        // SAFETY: siginfo_t is plain data, so all zeroes is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigwaitinfo writes into the struct we own.
        let number = unsafe { libc::sigwaitinfo(&set, &mut info) };
        if number == -1 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return out::fail(&err, json!({}));
        }
        // SAFETY: si_pid is valid for signals sent by kill and by the
        // terminal (it is 0 when the kernel or another namespace sent it).
        let from_pid = unsafe { info.si_pid() };
        out::line(&json!({ "signal": name(number), "number": number, "from_pid": from_pid }));
        if number == libc::SIGTERM {
            return 0;
        }
    }
}

/// The set of the signals in `SIGNALS`.
fn signal_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset then initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: the set is ours and the signal numbers are valid.
    unsafe {
        libc::sigemptyset(&mut set);
        for (number, _) in SIGNALS {
            libc::sigaddset(&mut set, number);
        }
    }
    set
}

fn name(number: libc::c_int) -> String {
    match SIGNALS.iter().find(|(known, _)| *known == number) {
        Some((_, name)) => (*name).to_owned(),
        None => format!("SIG{number}"),
    }
}
