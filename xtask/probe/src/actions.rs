//! The simple actions: succeed, sleep, write, read and list files, use
//! memory, use CPU. Each prints one JSON line and returns the exit code.
//! A check uses them to act inside the container and see the effect: a
//! write to a read-only mount fails with EROFS, an allocation past the
//! memory limit gets the process killed, a spin under a CPU quota gets less
//! CPU time than wall-clock time.

use crate::out;
use serde_json::{Value, json};
use std::fs::{self, FileType};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

/// `probe true`.
pub fn ok() -> u8 {
    out::line(&json!({ "ok": true }));
    0
}

/// `probe sleep SECS`.
pub fn sleep(duration: Duration) -> u8 {
    std::thread::sleep(duration);
    out::line(&json!({ "ok": true, "slept": duration.as_secs_f64() }));
    0
}

/// `probe write PATH TEXT`: creates or truncates PATH.
pub fn write(path: &str, text: &str) -> u8 {
    match fs::write(path, text) {
        Ok(()) => out::finish(json!({ "ok": true, "path": path, "bytes": text.len() })),
        Err(err) => out::fail(&err, json!({ "path": path })),
    }
}

/// `probe cat PATH`: the content, as UTF-8 (invalid bytes replaced).
pub fn cat(path: &str) -> u8 {
    match fs::read(path) {
        Ok(bytes) => {
            let content = String::from_utf8_lossy(&bytes);
            out::finish(json!({ "ok": true, "path": path, "content": content }))
        }
        Err(err) => out::fail(&err, json!({ "path": path })),
    }
}

/// `probe ls PATH`: the entries of a directory, sorted by name.
pub fn ls(path: &str) -> u8 {
    let entries = match fs::read_dir(path) {
        Ok(entries) => entries,
        Err(err) => return out::fail(&err, json!({ "path": path })),
    };
    let mut names: Vec<_> = entries.flatten().map(|entry| entry.file_name()).collect();
    names.sort();
    let listed: Vec<Value> = names
        .iter()
        .map(|name| describe(&Path::new(path).join(name), &name.to_string_lossy()))
        .collect();
    out::finish(json!({ "ok": true, "path": path, "entries": listed }))
}

/// One directory entry, from lstat (a symbolic link is not followed).
fn describe(path: &Path, name: &str) -> Value {
    let Ok(meta) = fs::symlink_metadata(path) else {
        // Gone between readdir and lstat: report the name only.
        return json!({
            "name": name, "type": null, "mode": null, "uid": null, "gid": null,
            "size": null, "major": null, "minor": null, "target": null,
        });
    };
    let kind = meta.file_type();
    let device = kind.is_char_device() || kind.is_block_device();
    let target = if kind.is_symlink() {
        fs::read_link(path)
            .ok()
            .map(|target| target.to_string_lossy().into_owned())
    } else {
        None
    };
    json!({
        "name": name,
        "type": type_name(&kind),
        "mode": meta.mode() & 0o7777,
        "uid": meta.uid(),
        "gid": meta.gid(),
        "size": meta.size(),
        "major": device.then(|| libc::major(meta.rdev())),
        "minor": device.then(|| libc::minor(meta.rdev())),
        "target": target,
    })
}

fn type_name(kind: &FileType) -> &'static str {
    if kind.is_symlink() {
        "symlink"
    } else if kind.is_dir() {
        "dir"
    } else if kind.is_char_device() {
        "char"
    } else if kind.is_block_device() {
        "block"
    } else if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else {
        "file"
    }
}

/// `probe alloc MIB`: allocates 1 MiB at a time and writes to every byte,
/// so that the kernel really gives it pages and charges them to the
/// cgroup. A progress line follows each MiB, so a check sees how far it
/// got before an OOM kill. The memory is kept until the process exits.
pub fn alloc(mib: usize) -> u8 {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    for done in 1..=mib {
        let mut chunk = Vec::new();
        if chunk.try_reserve_exact(MIB).is_err() {
            let err = std::io::Error::from_raw_os_error(libc::ENOMEM);
            return out::fail(&err, json!({ "allocated_mib": done - 1 }));
        }
        // Not zero: the compiler may turn a zero fill of fresh memory into
        // calloc, whose pages stay untouched.
        chunk.resize(MIB, 0xA5);
        chunks.push(std::hint::black_box(chunk));
        out::line(&json!({ "allocated_mib": done }));
    }
    out::line(&json!({ "ok": true, "allocated_mib": mib }));
    std::mem::forget(chunks);
    0
}

/// `probe spin SECS`: busy-loops for SECS of wall-clock time, then reports
/// how much CPU time that got.
pub fn spin(duration: Duration) -> u8 {
    let start = Instant::now();
    let mut counter: u64 = 0;
    while start.elapsed() < duration {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
    let wall = start.elapsed().as_secs_f64();
    out::line(&json!({ "ok": true, "wall_seconds": wall, "cpu_seconds": cpu_seconds() }));
    0
}

/// User plus system CPU time of this process, from getrusage.
fn cpu_seconds() -> Option<f64> {
    // SAFETY: rusage is plain data, so all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    /// A path through an open directory descriptor reaches the directory's
    /// files: what an inherited host fd gives a container (CVE-2024-21626).
    #[test]
    fn cat_reads_through_a_directory_descriptor() {
        let dir = std::env::temp_dir().join(format!("probe-cat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "s3cret").unwrap();
        let handle = std::fs::File::open(&dir).unwrap();
        let path = format!("/proc/self/fd/{}/secret", handle.as_raw_fd());
        let read = std::fs::read_to_string(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read.unwrap(), "s3cret");
    }
}
