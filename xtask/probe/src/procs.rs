//! Processes: which pids the process can see under /proc, and which of them
//! are zombies. In a new pid namespace (with its own /proc mounted) the
//! container should see only its own processes, starting at 1.

use crate::{out, sys};
use serde_json::{Value, json};
use std::fs;
use std::io;

/// The numeric entries of /proc, sorted, or null if /proc cannot be read.
pub fn pids() -> Value {
    list_pids().map_or(Value::Null, |pids| json!(pids))
}

fn list_pids() -> io::Result<Vec<u32>> {
    let entries = fs::read_dir("/proc")?;
    let mut pids: Vec<u32> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// `probe zombies`: prints the zombies (state 'Z') whose parent is this
/// process or its parent — the orphans that PID 1 of this container (the
/// probe itself, or an init above it) should have reaped. Zombies of other
/// families are left out: without a /proc of its own the container sees
/// the host's. Without a readable /proc that is an error, not an empty list.
pub fn zombies() -> u8 {
    let pids = match list_pids() {
        Ok(pids) => pids,
        Err(err) => return out::fail(&err, json!({ "path": "/proc" })),
    };
    // Our pid and our parent's as this /proc numbers them.
    let me: Option<u32> = fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse().ok());
    let parent =
        me.and_then(|pid| ppid(&sys::read_text(format!("/proc/{pid}/stat")).unwrap_or_default()));
    let family = [me, parent];
    let zombies: Vec<u32> = pids
        .into_iter()
        .filter(|pid| {
            let stat = sys::read_text(format!("/proc/{pid}/stat")).unwrap_or_default();
            state(&stat) == Some('Z') && family.contains(&ppid(&stat))
        })
        .collect();
    out::line(&json!({ "ok": true, "zombies": zombies }));
    0
}

/// The parent pid in a /proc/<pid>/stat line: the field after the state.
pub fn ppid(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The state letter in a /proc/<pid>/stat line: `pid (comm) S …`. The
/// command name may itself hold spaces and parentheses, so the state is the
/// first field after the *last* ')'.
pub fn state(stat: &str) -> Option<char> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.trim_start().chars().next()
}

#[cfg(test)]
mod tests {
    use super::state;

    #[test]
    fn reads_the_state_after_the_command_name() {
        assert_eq!(state("42 (sh) S 1 42 42 0"), Some('S'));
        assert_eq!(state("43 (a (weird) name) Z 1 43"), Some('Z'));
        assert_eq!(state(""), None);
        assert_eq!(super::ppid("43 (a (weird) name) Z 17 43"), Some(17));
    }
}
