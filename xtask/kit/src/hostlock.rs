//! One check at a time on the whole host.
//!
//! The leak guard compares the host's mounts, cgroups, interfaces and
//! firewall before and after a check: a check of another test binary (the
//! next lab's, or a second terminal's) changing them at the same time would
//! look like a leak of this one. The in-process mutex of [`crate::Check`]
//! covers the threads of one test binary; this lock, an `flock` on a file
//! every test binary opens, covers the rest. The kernel releases it when
//! the holder dies, so a crashed check never blocks the next one.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The lock file: in `/run/lock` (root's and users' alike), or the temp
/// dir where there is none.
pub fn path() -> PathBuf {
    let dir = Path::new("/run/lock");
    let dir = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    dir.join("dockyard-checks.lock")
}

/// The host-wide lock, held until dropped.
#[derive(Debug)]
pub struct HostLock {
    file: File,
}

impl HostLock {
    /// Take the lock at `path`, waiting for another holder. `waiting` is
    /// called once if the lock is busy, before the wait.
    pub fn acquire(path: &Path, waiting: impl FnOnce()) -> io::Result<HostLock> {
        let file = open(path)?;
        if !flock(&file, libc::LOCK_EX | libc::LOCK_NB)? {
            waiting();
            flock(&file, libc::LOCK_EX)?;
        }
        Ok(HostLock { file })
    }
}

impl Drop for HostLock {
    fn drop(&mut self) {
        // Closing the file would release it too; say so explicitly.
        let _ = flock(&self.file, libc::LOCK_UN);
    }
}

/// Open the lock file, creating it readable by everyone: a root test
/// binary and a user's must lock the same file, and flock needs only a
/// read-only descriptor.
fn open(path: &Path) -> io::Result<File> {
    // Opening an existing file with O_CREAT in a sticky world-writable dir
    // (/tmp, /run/lock) fails for a file someone else owns when
    // fs.protected_regular is set: open it plainly first.
    match File::open(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(path)
    {
        Ok(file) => {
            // The umask may have taken bits away.
            let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
            Ok(file)
        }
        // Another process made it in between.
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => File::open(path),
        Err(err) => Err(err),
    }
}

/// `flock(2)`; `Ok(false)` when a non-blocking attempt finds it taken.
fn flock(file: &File, operation: i32) -> io::Result<bool> {
    loop {
        // SAFETY: a plain system call on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = HostLock::acquire(&path, || panic!("free at first")).unwrap();
        // Another open file description contends like another process.
        let file = open(&path).unwrap();
        assert!(!flock(&file, libc::LOCK_EX | libc::LOCK_NB).unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let mut told = false;
            let second = HostLock::acquire(&path, || told = true).unwrap();
            tx.send(told).unwrap();
            drop(second);
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(rx.try_recv().is_err(), "the second holder did not wait");
        drop(first);
        assert!(rx.recv().unwrap(), "the waiter was told it waits");
        waiter.join().unwrap();
        assert!(flock(&file, libc::LOCK_EX | libc::LOCK_NB).unwrap());
    }

    #[test]
    fn the_lock_file_is_in_run_lock_or_tmp() {
        let path = path();
        assert!(path.ends_with("dockyard-checks.lock"));
        assert!(path.starts_with("/run/lock") || path.starts_with(std::env::temp_dir()));
    }
}
