//! Cgroup files: small text files the kernel makes, reads and checks.
//!
//! A cgroup's files are not ordinary files. Writing one is a request that
//! the kernel may refuse (`EINVAL` for a bad value, `EBUSY` for a limit
//! below what is in use), so every write is one `write(2)` of the whole
//! value, checked. They exist from the moment the directory does: nothing
//! is ever *created* in a cgroup (`O_CREAT` on a missing file says that the
//! controller is not there, which is worth an error, not a new file). And
//! a cgroup is removed with `rmdir(2)` on the directory alone: its files
//! go with it, and unlinking them one by one fails.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::CgroupError;

/// How long [`remove`] retries a cgroup that is still busy.
pub const REMOVE_PATIENCE: Duration = Duration::from_secs(1);

/// Write `value` to the cgroup file `dir/file`, which must exist.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    let fail = |source| CgroupError::new(format!("write {value:?} to"), &path, source);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .map_err(fail)?;
    f.write_all(value.as_bytes()).map_err(fail)
}

/// Whether the file `dir/file` exists (a controller's file, or a
/// feature's: `memory.swap.max` only with swap accounting).
pub fn has(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

/// The whole content of `dir/file`, trimmed.
pub fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    fs::read_to_string(&path)
        .map(|text| text.trim().to_owned())
        .map_err(|source| CgroupError::new("read", path, source))
}

/// A number file (`memory.current`, `pids.current`).
pub fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let text = read(dir, file)?;
    text.parse().map_err(|_| {
        let source = std::io::Error::new(ErrorKind::InvalidData, format!("not a number: {text:?}"));
        CgroupError::new("read", dir.join(file), source)
    })
}

/// The value of `key` in a flat-keyed file (`memory.events`, `cpu.stat`):
/// lines of "key value". `None` when the key is not there.
pub fn read_key(dir: &Path, file: &str, key: &str) -> Result<Option<u64>, CgroupError> {
    let text = read(dir, file)?;
    Ok(text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    }))
}

/// Make the cgroup directory `dir`. One that exists already is an error:
/// it is someone else's, or a leftover of ours, and its limits are not the
/// ones asked for.
pub fn create(dir: &Path) -> Result<(), CgroupError> {
    fs::create_dir(dir).map_err(|source| CgroupError::new("create the cgroup", dir, source))
}

// ANCHOR: remove
/// Remove the cgroup `dir`: `rmdir`, retried while it is busy (processes
/// still leaving it) for up to [`REMOVE_PATIENCE`]. A cgroup that is
/// already gone is fine.
pub fn remove(dir: &Path) -> Result<(), CgroupError> {
    // TASK 04.5: rmdir the directory alone; already gone is fine; retry EBUSY briefly
    let deadline = Instant::now() + REMOVE_PATIENCE;
    loop {
        match fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
            // The last process of the cgroup is exiting, or is a zombie not
            // yet reaped: it leaves in a moment.
            Err(err) if err.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                sleep(Duration::from_millis(10));
            }
            Err(source) => return Err(CgroupError::new("remove the cgroup", dir, source)),
        }
    }
    // END TASK 04.5
}
// ANCHOR_END: remove

/// Poll `done` every 10 ms until it is true or `limit` has passed; the last
/// answer.
pub fn wait_until(
    limit: Duration,
    mut done: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<bool, CgroupError> {
    let deadline = Instant::now() + limit;
    loop {
        if done()? {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        sleep(Duration::from_millis(10));
    }
}
