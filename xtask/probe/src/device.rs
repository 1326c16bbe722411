//! Device nodes and executables, as an attacker inside a container tries
//! them: `mknod` a node for a (type, major, minor) and `open` it (the
//! device cgroup judges both), and reach a runtime's binary through
//! `/proc/PID/exe` to write it (CVE-2019-5736).

use crate::out;
use serde_json::json;
use std::ffi::CString;
use std::io;

/// `probe mknod PATH c|b|p MAJOR MINOR`: make the node (mode 0600).
pub fn mknod(path: &str, kind: &str, major: u32, minor: u32) -> Result<u8, String> {
    let kind_bits = match kind {
        "c" => libc::S_IFCHR,
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        other => return Err(format!("mknod: type '{other}': c, b or p")),
    };
    let c_path = CString::new(path).map_err(|_| "mknod: a NUL in the path".to_string())?;
    // SAFETY: a valid C string; mknod only reads it.
    let rc = unsafe {
        libc::mknod(
            c_path.as_ptr(),
            kind_bits | 0o600,
            libc::makedev(major, minor),
        )
    };
    let context = json!({ "path": path, "type": kind, "major": major, "minor": minor });
    Ok(if rc == 0 {
        out::finish(json!({ "ok": true, "path": path }))
    } else {
        out::fail(&io::Error::last_os_error(), context)
    })
}

/// `probe open PATH r|w`: open without blocking and close at once; the
/// errno says who refused (EPERM: the device cgroup; ETXTBSY: a running
/// executable; EROFS: a read-only mount).
pub fn open(path: &str, mode: &str) -> Result<u8, String> {
    let access = match mode {
        "r" => libc::O_RDONLY,
        "w" => libc::O_WRONLY,
        other => return Err(format!("open: mode '{other}': r or w")),
    };
    let c_path = CString::new(path).map_err(|_| "open: a NUL in the path".to_string())?;
    // SAFETY: a valid C string; the fd is closed below.
    let fd = unsafe { libc::open(c_path.as_ptr(), access | libc::O_NONBLOCK | libc::O_CLOEXEC) };
    if fd < 0 {
        return Ok(out::fail(
            &io::Error::last_os_error(),
            json!({ "path": path, "mode": mode }),
        ));
    }
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    Ok(out::finish(
        json!({ "ok": true, "path": path, "mode": mode }),
    ))
}

/// `probe exe PID|parent`: the CVE-2019-5736 path. Take an `O_PATH` fd of
/// `/proc/PID/exe` (the binary that process runs, reached across any
/// root), report its device and inode, then open it for writing through
/// `/proc/self/fd/N`, as the exploit does once the runtime has exited.
/// The write open is closed at once: nothing is written.
pub fn exe(which: &str) -> Result<u8, String> {
    let pid = match which {
        // SAFETY: getppid cannot fail.
        "parent" => unsafe { libc::getppid() },
        n => n
            .parse()
            .map_err(|_| format!("exe: '{n}': a pid or 'parent'"))?,
    };
    let link = CString::new(format!("/proc/{pid}/exe")).expect("no NUL");
    // SAFETY: a valid C string.
    let fd = unsafe { libc::open(link.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Ok(out::fail(
            &io::Error::last_os_error(),
            json!({ "pid": pid }),
        ));
    }
    // SAFETY: stat is plain data, filled by fstat on our fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is ours, st is writable.
    unsafe { libc::fstat(fd, &mut st) };
    let target = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let again = CString::new(format!("/proc/self/fd/{fd}")).expect("no NUL");
    // SAFETY: a valid C string; the fd is closed below.
    let w = unsafe { libc::open(again.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    let write = if w < 0 {
        let err = io::Error::last_os_error();
        out::error(&err, json!({}))
    } else {
        // SAFETY: w is ours.
        unsafe { libc::close(w) };
        json!({ "ok": true })
    };
    // A memfd's seals (-1: not a memfd), read through a read-only open.
    // SAFETY: a valid C string; the fd is closed below.
    let r = unsafe { libc::open(again.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    let seals = if r < 0 {
        -1
    } else {
        // SAFETY: r is ours.
        let seals = unsafe { libc::fcntl(r, libc::F_GET_SEALS) };
        // SAFETY: r is ours.
        unsafe { libc::close(r) };
        seals
    };
    // SAFETY: fd is ours.
    unsafe { libc::close(fd) };
    Ok(out::finish(json!({
        "ok": true, "pid": pid, "target": target, "dev": st.st_dev, "ino": st.st_ino,
        "open_write": write, "seals": seals,
    })))
}
