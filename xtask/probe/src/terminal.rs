//! The process's terminal: whether its stdin and stdout are one, whether it
//! has a controlling terminal (`/dev/tty` opens only then) and leads its
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
    // SAFETY: a NUL-terminated path; the fd, if any, is closed right away.
    let controlling = unsafe {
        let fd = libc::open(
            c"/dev/tty".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if fd >= 0 {
            libc::close(fd);
        }
        fd >= 0
    };
    json!({
        "stdin": stdin,
        "stdout": stdout,
        "controlling": controlling,
        "session_leader": sid == pid,
    })
}
