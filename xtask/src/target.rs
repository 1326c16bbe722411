//! The target dir: where it is, and the lock that keeps two runs apart.
//!
//! Where: `.cargo/config.toml` puts it at `target/` in the repository root
//! for both workspaces, but `CARGO_TARGET_DIR` (or `CARGO_BUILD_TARGET_DIR`)
//! overrides that for every cargo we start, so xtask must look where cargo
//! builds — never at a hard-coded `target/`.
//!
//! The lock: `check`, `verify`, `grade` and the others build lab binaries
//! into one shared place (`debug/dockyard-NN` is whichever workspace built
//! it last, see ARCHITECTURE.md) and assemble workspaces under it. Two runs
//! at once would run each other's binaries. So those commands hold an
//! exclusive `flock(2)` on `dockyard/xtask.lock` in the target dir; a second
//! run says who holds it and waits. The kernel drops the lock when the
//! process ends, however it ends, so a killed run never leaves it stale.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The target dir cargo uses for this checkout.
pub fn dir(root: &Path) -> PathBuf {
    let from_env = ["CARGO_TARGET_DIR", "CARGO_BUILD_TARGET_DIR"]
        .iter()
        .find_map(|var| std::env::var_os(var).filter(|v| !v.is_empty()));
    match from_env {
        // Cargo reads a relative one against its working directory, which
        // is ours when we were started by `cargo xtask`.
        Some(dir) => std::env::current_dir()
            .map(|cwd| cwd.join(&dir))
            .unwrap_or_else(|_| PathBuf::from(dir)),
        None => root.join("target"),
    }
}

/// Make a relative `CARGO_TARGET_DIR` absolute in our environment: the
/// cargo we start in `solutions/` or in an assembled workspace would read
/// it against its own working directory, and build somewhere else.
pub fn pin_env() {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| Path::new(d).is_relative())
        && let Ok(cwd) = std::env::current_dir()
    {
        // SAFETY: called first thing in `main`, before any thread exists.
        unsafe { std::env::set_var("CARGO_TARGET_DIR", cwd.join(dir)) };
    }
}

/// An exclusive lock on the target dir, held until dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Take the lock on the target dir of `root`, waiting (with a message)
/// while another run holds it.
pub fn lock(root: &Path) -> Result<Lock> {
    lock_at(&dir(root).join("dockyard/xtask.lock"))
}

fn lock_at(path: &Path) -> Result<Lock> {
    fs::create_dir_all(path.parent().expect("has a parent"))
        .with_context(|| format!("creating {}", path.parent().unwrap_or(path).display()))?;
    // Read-only is enough for flock(2): a lock file left by a `sudo cargo
    // xtask …` is root's, and must not lock the owner of the checkout out.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .or_else(|_| File::open(path))
        .with_context(|| format!("opening {}", path.display()))?;
    if !flock(&file, libc::LOCK_EX | libc::LOCK_NB)? {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        // The pid the last holder wrote; shown only if that process lives.
        let holder = holder.trim();
        let who = if !holder.is_empty() && Path::new("/proc").join(holder).exists() {
            format!(" (pid {holder})")
        } else {
            String::new()
        };
        eprintln!(
            "another cargo xtask is running in this checkout{who}; waiting… ({} is locked)",
            path.display()
        );
        flock(&file, libc::LOCK_EX)?;
    }
    // Say who holds it, for the next one to wait. A read-only file cannot
    // say; the lock holds all the same.
    if file.set_len(0).is_ok() && file.rewind().is_ok() {
        let _ = writeln!(file, "{}", std::process::id());
    }
    Ok(Lock { _file: file })
}

/// `flock(2)`, retried on EINTR; `Ok(false)` when a non-blocking attempt
/// finds the lock taken.
fn flock(file: &File, op: libc::c_int) -> Result<bool> {
    loop {
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let err = std::io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) if op & libc::LOCK_NB != 0 => return Ok(false),
            _ => return Err(err).context("locking the target dir"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_for_the_first() {
        // Not in the real target dir: `verify` runs this test holding it.
        let tmp = std::env::temp_dir().join(format!("xtask-lock-test-{}", std::process::id()));
        let path = tmp.join("dockyard/xtask.lock");
        let first = lock_at(&path).unwrap();
        let file = File::open(&path).unwrap();
        assert!(!flock(&file, libc::LOCK_EX | libc::LOCK_NB).unwrap());
        drop(first);
        assert!(flock(&file, libc::LOCK_EX | libc::LOCK_NB).unwrap());
        let _ = fs::remove_dir_all(&tmp);
    }
}
