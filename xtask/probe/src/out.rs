//! Printing results. Every result is one compact JSON object on its own line
//! of stdout, flushed at once so that a check reading the pipe sees it even
//! if the process is killed right after (an OOM kill, say).

use serde_json::{Value, json};
use std::ffi::CStr;
use std::io::{self, Write};

/// Prints one JSON value as one line and flushes. A closed stdout is not an
/// error worth dying for: the line is simply lost.
pub fn line(value: &Value) {
    let mut stdout = io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

/// The error form: `{"ok":false,"error":…,"errno":…}` plus the fields of
/// `context` (an object such as `{"path": …}`).
pub fn error(err: &io::Error, context: Value) -> Value {
    let errno = errno_of(err);
    let text = errno.map_or_else(|| err.to_string(), strerror);
    let mut result = json!({ "ok": false, "error": text, "errno": errno });
    if let (Value::Object(fields), Value::Object(extra)) = (&mut result, context) {
        fields.extend(extra);
    }
    result
}

/// The errno behind an error. Rust reports its own connect timeout
/// without one; that is ETIMEDOUT to the checks.
fn errno_of(err: &io::Error) -> Option<i32> {
    match (err.raw_os_error(), err.kind()) {
        (None, io::ErrorKind::TimedOut) => Some(libc::ETIMEDOUT),
        (errno, _) => errno,
    }
}

/// The C library's text for an errno, e.g. "No such file or directory".
pub fn strerror(errno: i32) -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: the buffer is writable and its length is passed along; the
    // XSI strerror_r always NUL-terminates what it writes.
    let rc = unsafe { libc::strerror_r(errno, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return format!("errno {errno}");
    }
    // SAFETY: strerror_r succeeded, so buf holds a NUL-terminated string.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Prints a success line; exit code 0.
pub fn finish(result: Value) -> u8 {
    line(&result);
    0
}

/// Prints the error form with its context; exit code 1.
pub fn fail(err: &io::Error, context: Value) -> u8 {
    line(&error(err, context));
    1
}

/// Prints a failure that has no errno behind it; exit code 1.
pub fn refuse(result: Value) -> u8 {
    line(&result);
    1
}
