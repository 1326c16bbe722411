//! System V IPC: the shared memory segments the process can see. They
//! belong to an IPC namespace: a segment the host made is invisible in a
//! container with its own, which is how a check proves the namespace is
//! new by its effect rather than by an inode number.

use crate::sys;
use serde_json::{Value, json};

/// `[{"key": K, "shmid": N}, …]` from /proc/sysvipc/shm (which shows the
/// reader's IPC namespace), or null when it cannot be read.
pub fn shm_segments() -> Value {
    match sys::read_text("/proc/sysvipc/shm") {
        Some(text) => parse(&text)
            .into_iter()
            .map(|(key, shmid)| json!({ "key": key, "shmid": shmid }))
            .collect(),
        None => Value::Null,
    }
}

/// The (key, shmid) of each line after the header
/// (`key shmid perms size cpid …`). Keys are signed: IPC_PRIVATE is 0 and
/// ftok keys may be negative.
fn parse(text: &str) -> Vec<(i64, i64)> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let key = fields.next()?.parse().ok()?;
            let shmid = fields.next()?.parse().ok()?;
            Some((key, shmid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{parse, shm_segments};

    /// A segment made here is listed, with its key and id.
    #[test]
    fn sees_a_segment_of_its_namespace() {
        let key = 0x6479_0000 | (std::process::id() as i32 & 0xffff);
        // SAFETY: plain System V calls; the segment is removed below.
        let id = unsafe { libc::shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600) };
        assert!(id >= 0, "shmget: {}", std::io::Error::last_os_error());
        let seen = shm_segments();
        // SAFETY: `id` is the segment made above.
        unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
        let listed = seen.as_array().expect("a list");
        assert!(
            listed.iter().any(|s| s["key"] == key && s["shmid"] == id),
            "{seen}"
        );
    }

    #[test]
    fn skips_the_header() {
        let text = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                    1234567      3     600                  4096   100     0      0     0     0     0     0          0          0 1700000000                     0                     0\n\
                    -5  7  600 4096 1 0 0 0 0 0 0 0 0 0 0 0\n";
        assert_eq!(parse(text), [(1234567, 3), (-5, 7)]);
        assert_eq!(parse("       key      shmid perms\n"), []);
    }
}
