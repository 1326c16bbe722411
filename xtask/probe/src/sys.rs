//! Small readers shared by the other modules. Inside a container a file of
//! /proc or /sys may be missing or unreadable: every reader here returns
//! `None` then, and the report shows null.

use std::ffi::CStr;
use std::fs;
use std::path::Path;

/// The whole text of a file, or `None`.
pub fn read_text(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// The text of a file without surrounding white space, or `None`.
pub fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    read_text(path).map(|text| text.trim().to_owned())
}

/// The host name of the UTS namespace (uname's nodename).
pub fn hostname() -> Option<String> {
    // SAFETY: utsname is plain data, so all zeroes is a valid value.
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the struct we own.
    if unsafe { libc::uname(&mut names) } != 0 {
        return None;
    }
    // SAFETY: the kernel NUL-terminates nodename.
    let name = unsafe { CStr::from_ptr(names.nodename.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}
