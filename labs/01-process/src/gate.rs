//! The start gate: where a created container waits for `start`.
//!
//! An OCI runtime splits a run in two: `create` sets the container up and
//! leaves its process waiting *just before exec*; `start` — often another
//! process, run long after `create` exited — lets it go. A pipe cannot join
//! those two: its ends live only in the processes that hold them. A FIFO
//! (a named pipe, `mkfifo(3)`) can: any process that knows its path may
//! open it. runc calls it `exec.fifo`; this is the same trick.
//!
//! - The container opens the FIFO **for writing**. `open(2)` of a FIFO
//!   blocks until someone opens the other end: the container is now held.
//! - `start` opens it **for reading**. Both opens complete; the container
//!   writes one byte and goes on to exec; `start` reads the byte, which
//!   proves the container passed the gate (and was not, say, killed).
//!
//! Even `cat exec.fifo` from a shell starts such a container.
//!
//! After `pivot_root` (lab 03) the FIFO's path is no longer reachable from
//! inside, so the parent opens the FIFO's *directory* first (an `O_PATH`
//! fd) and the container opens the FIFO relative to it with `openat(2)`.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, open, openat};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Pid, Uid, chown, mkfifo, read, write};

use crate::signals::pidfd_open;

/// The FIFO's name in its directory.
pub const FIFO_NAME: &CStr = c"exec.fifo";

/// A start gate: a FIFO in a directory.
#[derive(Debug)]
pub struct Gate {
    dir: PathBuf,
    /// Made by [`Gate::temporary`]: the directory goes when the gate does.
    temporary: bool,
}

impl Gate {
    /// Make the FIFO in `dir` (which must exist), readable and writable by
    /// its owner only: whoever may open it may start the container.
    pub fn create(dir: &Path) -> Result<Gate, Errno> {
        mkfifo(&dir.join(fifo_name()), Mode::S_IRUSR | Mode::S_IWUSR)?;
        Ok(Gate {
            dir: dir.to_path_buf(),
            temporary: false,
        })
    }

    /// A gate in a new private directory under the temp dir, removed when
    /// dropped: for `dockyard run`, where nobody else needs to find it.
    pub fn temporary() -> Result<Gate, Errno> {
        let template = std::env::temp_dir().join("dockyard-gate-XXXXXX");
        let dir = nix::unistd::mkdtemp(&template)?;
        let mut gate = Gate::create(&dir).inspect_err(|_| {
            let _ = std::fs::remove_dir(&dir);
        })?;
        gate.temporary = true;
        Ok(gate)
    }

    /// A gate that already exists (made by another process).
    pub fn existing(dir: &Path) -> Gate {
        Gate {
            dir: dir.to_path_buf(),
            temporary: false,
        }
    }

    /// Hand the gate to the container's root user on the host (`uid`,
    /// `gid`): in a user namespace the container's root is another user
    /// than its creator, and must be able to open the FIFO (runc chowns its
    /// exec.fifo the same way). A temporary gate's directory goes along.
    pub fn give_to(&self, uid: u32, gid: u32) -> Result<(), Errno> {
        let (uid, gid) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
        if self.temporary {
            chown(&self.dir, uid, gid)?;
        }
        chown(&self.path(), uid, gid)
    }

    /// Keep a temporary gate after this value goes (its child was detached).
    pub fn keep(&mut self) {
        self.temporary = false;
    }

    /// The FIFO's path: what `start` opens.
    pub fn path(&self) -> PathBuf {
        self.dir.join(fifo_name())
    }

    /// The container's end: an `O_PATH` fd of the directory, opened now,
    /// while the path still means what it says.
    pub fn waiter(&self) -> Result<GateWait, Errno> {
        let fd = open(
            &self.dir,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(GateWait(fd))
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(self.path());
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

fn fifo_name() -> &'static Path {
    Path::new(std::ffi::OsStr::from_bytes(FIFO_NAME.to_bytes()))
}

/// The container's end of the gate.
#[derive(Debug)]
pub struct GateWait(OwnedFd);

impl GateWait {
    /// In the container: block until `start` opens the gate, then say so
    /// with one byte. No allocation: this runs between clone and exec.
    pub fn wait(&self) -> Result<(), Errno> {
        // TASK 01.3: open the FIFO for writing (blocks until start opens it), then write one byte
        todo!("01.3: open the FIFO for writing (blocks until start opens it), then write one byte")
        // END TASK 01.3
    }
}

impl AsFd for GateWait {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// `start`: open the gate at `fifo` and read the byte of the container
/// `pid`. Fails with `ESRCH` if the container ends before it passes the
/// gate, rather than waiting forever.
pub fn start(fifo: &Path, pid: Pid) -> Result<(), Errno> {
    // Non-blocking, or this open would wait for a writer that may be dead.
    let path = CString::new(fifo.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: a plain system call on a NUL-terminated path.
    let raw = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just gave us this fd, and nothing else owns it.
    let reader = unsafe { OwnedFd::from_raw_fd(raw) };
    let exited = pidfd_open(pid)?;
    loop {
        let mut fds = [
            PollFd::new(reader.as_fd(), PollFlags::POLLIN),
            PollFd::new(exited.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        }
        let mut byte = [0u8; 1];
        match read(&reader, &mut byte) {
            Ok(1) => return Ok(()),
            // Nothing yet (a spurious wake-up), or the writer closed without
            // writing: look at the pidfd before trying again.
            Ok(_) | Err(Errno::EAGAIN) => {}
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return Err(Errno::ESRCH);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
