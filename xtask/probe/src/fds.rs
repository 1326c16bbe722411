//! Open file descriptors: what the process inherited from whoever started
//! it. A container must hold only 0, 1 and 2: an inherited descriptor of a
//! host directory is a way out of the root filesystem (`openat(fd, "..")`,
//! or a path through `/proc/self/fd/N/`), the class of runc's
//! CVE-2024-21626. A check reads this list to prove none came through.

use serde_json::{Value, json};
use std::ffi::CStr;
use std::fs;

/// `[{"fd": N, "target": "/dev/null"}, …]` sorted by fd, without the
/// descriptor used to list them; null when /proc/self/fd cannot be read.
pub fn open_fds() -> Value {
    match list() {
        Some(fds) => fds
            .into_iter()
            .map(|fd| json!({ "fd": fd, "target": target(fd) }))
            .collect(),
        None => Value::Null,
    }
}

/// The open descriptors, read through opendir so that the one the listing
/// itself uses is known and left out.
fn list() -> Option<Vec<i32>> {
    // SAFETY: a NUL-terminated path; opendir returns null on failure.
    let dir = unsafe { libc::opendir(c"/proc/self/fd".as_ptr()) };
    if dir.is_null() {
        return None;
    }
    // SAFETY: `dir` is an open directory stream.
    let own = unsafe { libc::dirfd(dir) };
    let mut fds = Vec::new();
    loop {
        // SAFETY: `dir` is open; readdir returns null at the end.
        let entry = unsafe { libc::readdir(dir) };
        if entry.is_null() {
            break;
        }
        // SAFETY: d_name is NUL-terminated by the kernel.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) };
        if let Some(fd) = name.to_str().ok().and_then(|n| n.parse::<i32>().ok())
            && fd != own
        {
            fds.push(fd);
        }
    }
    // SAFETY: `dir` is open and not used after this.
    unsafe { libc::closedir(dir) };
    fds.sort_unstable();
    Some(fds)
}

/// What the descriptor refers to: a path, or `pipe:[1234]`, `socket:[…]`.
fn target(fd: i32) -> Option<String> {
    let link = fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    Some(link.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::open_fds;
    use std::os::fd::AsRawFd;

    #[test]
    fn lists_an_open_directory_and_not_the_listing() {
        let dir = std::fs::File::open("/").unwrap();
        let fds = open_fds();
        let list = fds.as_array().expect("a list");
        let own = list
            .iter()
            .find(|e| e["fd"] == dir.as_raw_fd())
            .expect("the open directory is listed");
        assert_eq!(own["target"], "/");
        // (Other test threads open and close fds meanwhile: only the
        // listing's own descriptor is certain to be absent.)
        let listing = format!("/proc/{}/fd", std::process::id());
        assert!(
            !list.iter().any(|e| e["target"] == listing.as_str()),
            "the listing's own fd is left out: {fds}"
        );
    }
}
