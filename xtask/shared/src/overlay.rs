//! Whether this kernel's overlay takes `lowerdir+` (Linux 6.8+), the
//! option lab 06 uses past a page of mount data. `doctor` names the path a
//! host gets, and lab 06's checks assert that the engine took it.
//!
//! Asked of the kernel rather than read from its version (distributions
//! backport): a filesystem context (`fsopen`) of a read-only overlay of
//! two empty directories, given as `lowerdir+`, then `CMD_CREATE`. The
//! superblock made there is never mounted anywhere and goes away with the
//! fd. Kernels before 6.5 accept the `fsconfig` (their overlay still
//! parses its options as one string) and refuse at `CMD_CREATE`; 6.5–6.7
//! refuse the `fsconfig`; both say EINVAL.

use std::ffi::CString;
use std::path::Path;

const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;

/// `Ok(true)` when overlay takes `lowerdir+`, `Ok(false)` when the kernel
/// refuses it (EINVAL) or has no new mount API (ENOSYS); `Err(errno)`
/// otherwise — EPERM without `CAP_SYS_ADMIN`. `scratch` is a directory
/// where two empty directories may be made (and are removed).
pub fn takes_lowerdir_plus(scratch: &Path) -> Result<bool, i32> {
    let lowers = [
        scratch.join("lowerdir-plus-a"),
        scratch.join("lowerdir-plus-b"),
    ];
    for dir in &lowers {
        if let Err(e) = std::fs::create_dir_all(dir) {
            return Err(e.raw_os_error().unwrap_or(libc::EIO));
        }
    }
    let asked = ask(&lowers);
    for dir in &lowers {
        let _ = std::fs::remove_dir(dir);
    }
    asked
}

fn ask(lowers: &[std::path::PathBuf]) -> Result<bool, i32> {
    let errno = || {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    let name = CString::new("overlay").expect("no NUL");
    // SAFETY: a valid C string; the result is a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) };
    if fd < 0 {
        return match errno() {
            libc::ENOSYS => Ok(false),
            e => Err(e),
        };
    }
    let fd = fd as libc::c_int;
    let key = CString::new("lowerdir+").expect("no NUL");
    let mut result = Ok(true);
    for lower in lowers {
        let Ok(value) = CString::new(lower.as_os_str().as_encoded_bytes()) else {
            result = Err(libc::EINVAL);
            break;
        };
        // SAFETY: our fd, valid C strings.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fd,
                FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0,
            )
        };
        if rc < 0 {
            result = Err(errno());
            break;
        }
    }
    if result.is_ok() {
        // SAFETY: our fd; no key or value for CMD_CREATE.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fd,
                FSCONFIG_CMD_CREATE,
                std::ptr::null::<libc::c_char>(),
                std::ptr::null::<libc::c_char>(),
                0,
            )
        };
        if rc < 0 {
            result = Err(errno());
        }
    }
    // SAFETY: the fd is ours and closed once.
    unsafe { libc::close(fd) };
    match result {
        Err(libc::EINVAL) => Ok(false),
        other => other,
    }
}
