//! CVE-2019-5736: the runtime's own binary, reachable from the container.
//!
//! Between `clone` and `execve` the container's first process *is* the
//! runtime: `/proc/PID/exe` of it — and of `run`, which waits for it — is
//! a magic link to the host's `dockyard-runtime`, and it crosses every
//! root. In 2019 an image made runc exec `/proc/self/exe` (the host's runc)
//! with the image's shared libraries; that code kept an `O_PATH` fd of the
//! binary and, once runc had exited (a running executable cannot be
//! opened for writing: `ETXTBSY`), reopened it through `/proc/self/fd/N`
//! for writing and replaced the host's runc. The next `docker run` ran the
//! attacker's program as root, on the host.
//!
//! The fix is to never let a container-reachable process run the host's
//! inode. Before `create` or `run` does anything, the runtime re-executes
//! itself from a file that cannot be written:
//!
//! 1. **A read-only overlay** (runc ≥ 1.2's first choice): an overlayfs
//!    whose only layers are the binary's directory and an empty one (two
//!    lower layers and no upper: the kernel's "lower-only" mode, where
//!    every write fails with `EROFS`), created with the new mount API
//!    (`fsopen`/`fsconfig`/`fsmount`, Linux 5.2) as a *detached* mount
//!    that is attached nowhere and vanishes with the last fd. The binary
//!    is opened in it and exec'd with `execveat(fd, "", AT_EMPTY_PATH)`.
//!    No copy: it costs a few system calls. A read-only *bind* mount would
//!    not do — a bind can be remounted read-write by whoever holds it;
//!    an overlay's read-only layers cannot be "unwrapped".
//! 2. **A sealed memfd** (runc 1.1's way, the fallback where overlayfs or
//!    the new mount API is missing): copy the binary into
//!    `memfd_create(MFD_ALLOW_SEALING)`, seal it against writes, shrinking
//!    and growing, and exec that. Every run copies the binary (megabytes),
//!    which is why it comes second. A sealed memfd can still be *opened*
//!    for writing; each write fails with `EPERM`.
//!
//! After the re-exec, `/proc/self/exe` is the overlay's file or the memfd;
//! writes through it fail, and the host's binary is out of reach. The
//! re-executed process sees it is sealed (an overlay mounted read-only, or
//! the memfd's seals) and goes on.

use std::ffi::{CStr, CString, OsString};
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;

use crate::error::Error;

const OVERLAYFS_SUPER_MAGIC: libc::c_long = 0x794c_7630;
const FSOPEN_CLOEXEC: libc::c_uint = 1;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: libc::c_uint = 1;
const MOUNT_ATTR_NOSUID: libc::c_uint = 2;
const MOUNT_ATTR_NODEV: libc::c_uint = 4;
const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Set in the environment of the re-executed runtime.
const REEXECUTED: &str = "_DOCKYARD_SEALED_EXE";

/// How this process's binary is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// A file of a read-only overlay.
    Overlay,
    /// A memfd with write seals.
    Memfd,
    /// The file on disk: a container could reach it.
    No,
}

/// What `/proc/self/exe` is now.
pub fn sealed() -> Sealed {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return Sealed::No;
    };
    // SAFETY: fcntl on an fd we own.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & SEALS == SEALS {
        return Sealed::Memfd;
    }
    // SAFETY: statfs is plain data, filled by fstatfs.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: an fd we own, a writable struct.
    let rc = unsafe { libc::fstatfs(exe.as_raw_fd(), &mut fs) };
    if rc == 0 && fs.f_type == OVERLAYFS_SUPER_MAGIC {
        // SAFETY: as above, for the mount's flags.
        let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: an fd we own, a writable struct.
        let rc = unsafe { libc::fstatvfs(exe.as_raw_fd(), &mut vfs) };
        if rc == 0 && vfs.f_flag & libc::ST_RDONLY != 0 {
            return Sealed::Overlay;
        }
    }
    Sealed::No
}

fn syscall_fd(rc: libc::c_long) -> Result<OwnedFd, Errno> {
    if rc < 0 {
        Err(Errno::last())
    } else {
        // SAFETY: the kernel returned a new fd that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(rc as i32) })
    }
}

fn fsconfig_string(fs: &OwnedFd, key: &CStr, value: &CStr) -> Result<(), Errno> {
    // SAFETY: valid C strings; the kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    };
    Errno::result(rc).map(drop)
}

/// An overlay's `lowerdir` path: `:` separates layers, `\` escapes.
fn escape_lower(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in path.as_os_str().as_bytes() {
        if b == b':' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// An `O_PATH` fd of `binary` in a read-only, detached overlay of its
/// directory over `empty`.
fn overlay_copy(binary: &Path, empty: &Path) -> Result<OwnedFd, Errno> {
    let (Some(dir), Some(name)) = (binary.parent(), binary.file_name()) else {
        return Err(Errno::EINVAL);
    };
    // SAFETY: a valid C string.
    let fs = syscall_fd(unsafe {
        libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), FSOPEN_CLOEXEC)
    })?;
    // The binary's directory on top, so a file of the same name in the
    // empty layer could never hide it.
    let mut lower = escape_lower(dir);
    lower.push(b':');
    lower.extend(escape_lower(empty));
    let lower = CString::new(lower).map_err(|_| Errno::EINVAL)?;
    fsconfig_string(&fs, c"lowerdir", &lower)?;
    // Not needed, and it logs to dmesg when the layers are on different filesystems.
    let _ = fsconfig_string(&fs, c"xino", c"off");
    // SAFETY: an fd we own; no strings.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            0usize,
            0usize,
            0,
        )
    };
    Errno::result(rc)?;
    let attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    // SAFETY: an fd we own.
    let mnt = syscall_fd(unsafe {
        libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs)
    })?;
    let flags =
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC;
    nix::fcntl::openat(mnt.as_fd(), name, flags, nix::sys::stat::Mode::empty())
}

/// A sealed memfd holding a copy of `/proc/self/exe`.
fn memfd_copy() -> Result<OwnedFd, Errno> {
    let io = |e: std::io::Error| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: a valid C string.
    let memfd =
        syscall_fd(unsafe { libc::memfd_create(c"dockyard-runtime".as_ptr(), flags) }.into())?;
    let mut from = File::open("/proc/self/exe").map_err(io)?;
    let mut to = File::from(memfd);
    std::io::copy(&mut from, &mut to).map_err(io)?;
    // SAFETY: fcntl on an fd we own.
    let rc = unsafe { libc::fcntl(to.as_raw_fd(), libc::F_ADD_SEALS, SEALS) };
    Errno::result(rc)?;
    Ok(OwnedFd::from(to))
}

/// The overlay's empty layer, in the runtime's root.
pub const EXE_LAYER: &str = ".exe-layer";

/// [`reexec_sealed`] for a runtime whose state lives in `root` (made if
/// missing), with the overlay's empty layer in it. Every program that
/// makes containers with this crate calls it before it does anything
/// else: `dockyard-runtime`'s `create`, `run` and `exec`, and the engines
/// of labs 06–09 (`run`, `build`), which call `container::create` in
/// their own process — between `clone` and `execve` the container's first
/// process is *their* binary.
pub fn reexec_sealed_in(root: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(Error::io("create the runtime's root", root))?;
    reexec_sealed(&root.join(EXE_LAYER))
}

/// For the `main` of an engine of labs 06–09: [`reexec_sealed_in`] when
/// its command makes containers (`root` is `Some`: the runtime root its
/// `cli::sealed_root` gives). On failure it prints the error as `program`
/// and exits with the engine's code, 125. Called in `main`, not in
/// `cli::main`, which the checks call in their own process: a re-execution
/// there would re-execute the test binary.
pub fn reexec_sealed_or_exit(program: &str, root: Option<std::path::PathBuf>) {
    if let Some(root) = root
        && let Err(err) = reexec_sealed_in(&root)
    {
        eprintln!("{program}: {err}");
        std::process::exit(process::cli::EXIT_ENGINE);
    }
}

/// Unless `/proc/self/exe` is sealed already, re-execute this program,
/// with the same arguments and environment, from a read-only overlay of
/// its binary (or a sealed memfd copy). `empty` is an empty directory of
/// the runtime's, the overlay's second layer. Returns only on failure, or
/// when there is nothing to do.
pub fn reexec_sealed(empty: &Path) -> Result<(), Error> {
    // Once only: were the check above ever wrong about a sealed copy, a
    // second re-exec would loop for ever. (The container's environment
    // is config.json's alone: this variable never reaches it.)
    if sealed() != Sealed::No || std::env::var_os(REEXECUTED).is_some() {
        return Ok(());
    }
    let binary = std::fs::read_link("/proc/self/exe")
        .map_err(Error::io("read the link", "/proc/self/exe"))?;
    let _ = std::fs::create_dir(empty);
    let fd = match overlay_copy(&binary, empty) {
        Ok(fd) => fd,
        Err(_) => memfd_copy().map_err(Error::sys("copy the runtime into a sealed memfd"))?,
    };
    let c = |s: OsString| CString::new(s.as_bytes()).expect("arguments hold no NUL");
    let args: Vec<CString> = std::env::args_os().map(c).collect();
    let mut env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            c(kv)
        })
        .collect();
    env.push(CString::new(format!("{REEXECUTED}=1")).expect("no NUL"));
    let errno = nix::unistd::execveat(
        fd.as_fd(),
        c"",
        &args,
        &env,
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    )
    .unwrap_err();
    Err(Error::sys("re-execute the runtime from its sealed copy")(
        errno,
    ))
}
