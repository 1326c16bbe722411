//! `probe handle PATH`: open PATH by its file handle (`name_to_handle_at`,
//! then `open_by_handle_at` relative to `/`), the way the 2014 "shocker"
//! exploit read the host's files from a container: a handle names an
//! inode on a filesystem, with no path to resolve — so no mount namespace
//! or `pivot_root` stands in the way. It needs `CAP_DAC_READ_SEARCH`, and
//! Docker's seccomp profile refuses it without that capability.

use serde_json::json;
use std::ffi::CString;
use std::io;

use crate::out;

/// `struct file_handle` with room for the largest handle (MAX_HANDLE_SZ).
#[repr(C)]
struct FileHandle {
    handle_bytes: u32,
    handle_type: i32,
    f_handle: [u8; 128],
}

pub fn run(path: &str) -> u8 {
    let Ok(c_path) = CString::new(path) else {
        return out::fail(
            &io::Error::from_raw_os_error(libc::EINVAL),
            json!({ "step": "path" }),
        );
    };
    let mut handle = FileHandle {
        handle_bytes: 128,
        handle_type: 0,
        f_handle: [0; 128],
    };
    let mut mount_id: libc::c_int = 0;
    // SAFETY: the kernel writes at most handle_bytes bytes into f_handle.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            &mut handle as *mut FileHandle,
            &mut mount_id as *mut libc::c_int,
            0,
        )
    };
    if rc != 0 {
        return out::fail(
            &io::Error::last_os_error(),
            json!({ "step": "name_to_handle_at" }),
        );
    }
    // SAFETY: a plain open of "/".
    let root = unsafe {
        libc::open(
            c"/".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if root < 0 {
        return out::fail(&io::Error::last_os_error(), json!({ "step": "open /" }));
    }
    // SAFETY: the handle the kernel filled in above.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            root,
            &mut handle as *mut FileHandle,
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    let err = io::Error::last_os_error();
    // SAFETY: closing fds this function opened.
    unsafe { libc::close(root) };
    if fd < 0 {
        return out::fail(&err, json!({ "step": "open_by_handle_at" }));
    }
    unsafe { libc::close(fd as libc::c_int) };
    out::finish(json!({ "ok": true, "path": path }))
}
