//! A panic in the child, reported without allocating.
//!
//! The child of `fork` or `clone` is a copy of *one* thread of a possibly
//! multi-threaded parent. If another thread held the allocator's lock at
//! that moment, the lock stays held forever in the child, and the first
//! `malloc` there hangs. glibc's `fork()` re-initialises malloc's locks in
//! the child; a raw `clone(2)` — which lab 02 uses — does not.
//!
//! A Rust panic allocates when it *unwinds* (the exception object is boxed)
//! and when a formatted message is turned into a `String`. A `todo!("…")`
//! with a literal message needs no formatting. So the child never unwinds:
//! a panic hook, installed once by the parent, sees that it runs in a child
//! (a static holds the report pipe's fd there, and only there), writes the
//! message into the report pipe from a stack buffer, and `_exit`s. In the
//! parent the hook passes the panic on to the hook that was there before.

use std::fmt::Write as _;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::exec_report::{MAX_MESSAGE, ReportWriter};

/// Where a panic goes: the report pipe's fd in a child; [`TO_STDERR`] in a
/// child that has no report pipe any more (lab 02's init); [`UNARMED`] in
/// the parent. After `fork` the child has its own copy of this memory, so
/// setting it there changes nothing in the parent.
static CHILD_REPORT_FD: AtomicI32 = AtomicI32::new(UNARMED);
const UNARMED: i32 = -1;
const TO_STDERR: i32 = -2;

/// The child's exit code after a panic (as for a failed setup step).
pub const EXIT_PANICKED: i32 = 125;

/// In the parent, before the first fork: chain our hook in front of the
/// current one. Idempotent.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            match CHILD_REPORT_FD.load(Ordering::Relaxed) {
                UNARMED => previous(info),
                fd => report_and_exit(fd, info),
            }
        }));
    });
}

/// In the child: from now on a panic goes to `report`, then `_exit`.
pub fn arm(report: &ReportWriter) {
    CHILD_REPORT_FD.store(report.as_fd().as_raw_fd(), Ordering::Relaxed);
}

/// In a child without a report pipe (an init, once the app runs; a check's
/// forked child): a panic prints one line on stderr, then `_exit`. Call
/// [`install`] in the parent first.
pub fn arm_stderr() {
    CHILD_REPORT_FD.store(TO_STDERR, Ordering::Relaxed);
}

/// A fixed buffer that `write!` fills without allocating; what does not
/// fit is cut.
struct StackText {
    bytes: [u8; MAX_MESSAGE],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.bytes.len() - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn report_and_exit(fd: i32, info: &std::panic::PanicHookInfo<'_>) -> ! {
    let mut text = StackText {
        bytes: [0; MAX_MESSAGE],
        len: 0,
    };
    // A literal message (`todo!("…")`) comes as a &str; a formatted one
    // was already turned into a String before the hook ran.
    let message = info.payload_as_str().unwrap_or("a panic");
    if fd == TO_STDERR {
        let _ = write!(text, "dockyard: panicked in the container before exec: ");
    }
    let _ = match info.location() {
        Some(at) => write!(text, "{message} (at {}:{})", at.file(), at.line()),
        None => write!(text, "{message}"),
    };
    if fd == TO_STDERR {
        let _ = text.write_str("\n");
        // SAFETY: a plain write(2) of our own buffer to fd 2.
        unsafe { libc::write(2, text.bytes.as_ptr().cast(), text.len) };
    } else {
        // SAFETY: `fd` is the report pipe's write end in this child (set by
        // `arm`); ManuallyDrop keeps this second owner from closing it.
        let report = std::mem::ManuallyDrop::new(unsafe { ReportWriter::from_raw(fd) });
        let message = std::str::from_utf8(&text.bytes[..text.len]).unwrap_or("a panic");
        report.send_panic(message);
    }
    // SAFETY: _exit is async-signal-safe and ends only this process.
    unsafe { libc::_exit(EXIT_PANICKED) }
}
