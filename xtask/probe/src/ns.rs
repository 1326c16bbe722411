//! Namespaces: which ones the process is in. Each entry of /proc/self/ns is
//! a symbolic link whose text names the namespace, like `net:[4026531840]`;
//! the number is the namespace's inode. Two processes share a namespace
//! exactly when the numbers match, which is what the checks compare.

use serde_json::{Map, Value, json};
use std::fs;

/// The namespaces every current kernel shows. They are always reported,
/// null when missing, so the checks can rely on the keys.
const KNOWN: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// Namespace name → inode number (or null), for every entry seen.
pub fn namespaces() -> Value {
    let Ok(entries) = fs::read_dir("/proc/self/ns") else {
        return Value::Null;
    };
    let mut found: Map<String, Value> = KNOWN
        .iter()
        .map(|name| (name.to_string(), Value::Null))
        .collect();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let inode = fs::read_link(entry.path())
            .ok()
            .and_then(|target| parse_link(&target.to_string_lossy()));
        found.insert(name, json!(inode));
    }
    Value::Object(found)
}

/// The inode number in a link text such as `net:[4026531840]`.
pub fn parse_link(text: &str) -> Option<u64> {
    let (_, rest) = text.split_once(":[")?;
    rest.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_link;

    #[test]
    fn parses_the_inode() {
        assert_eq!(parse_link("net:[4026531840]"), Some(4026531840));
        assert_eq!(
            parse_link("pid_for_children:[4026532201]"),
            Some(4026532201)
        );
    }

    #[test]
    fn rejects_other_text() {
        assert_eq!(parse_link("net:4026531840"), None);
        assert_eq!(parse_link("net:[x]"), None);
        assert_eq!(parse_link(""), None);
    }
}
