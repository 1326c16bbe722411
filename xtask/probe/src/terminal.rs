//! The process's terminal: whether its stdin and stdout are one, whether it
//! is its controlling terminal (`TIOCGSID`) and the process leads its
//! session. An OCI runtime with `process.terminal` makes a pty's slave all
//! three; without it, stdio are pipes or files and there is no terminal.

use serde_json::{Value, json};

/// `{"stdin": bool, "stdout": bool, "controlling": bool, "session_leader": bool}`.
pub fn terminal() -> Value {
    // SAFETY: isatty, getsid and getpid only look at the process's own state.
    let (stdin, stdout, sid, pid) = unsafe {
        (
            libc::isatty(0) == 1,
            libc::isatty(1) == 1,
            libc::getsid(0),
            libc::getpid(),
        )
    };
    // TIOCGSID on fd 0 answers only if it is the caller's controlling
    // terminal (ENOTTY otherwise); it needs neither /dev/tty nor /proc.
    let mut tty_sid: libc::pid_t = 0;
    // SAFETY: TIOCGSID writes one pid_t.
    let controlling =
        unsafe { libc::ioctl(0, libc::TIOCGSID, &mut tty_sid) } == 0 && tty_sid == sid;
    json!({
        "stdin": stdin,
        "stdout": stdout,
        "controlling": controlling,
        "session_leader": sid == pid,
    })
}
