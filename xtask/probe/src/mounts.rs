//! Mounts: the process's view of the mount table, from
//! /proc/self/mountinfo. After pivot_root or a new mount namespace this is
//! how a check sees what the container has mounted, where, and how.
//!
//! A line looks like this (see proc_pid_mountinfo(5)):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! id parent maj:min root mount-point options optional… - type source super-options
//! ```
//!
//! The kernel writes a space in a path as `\040` (octal), and also escapes
//! tab, newline and backslash that way.

use crate::sys;
use serde_json::{Value, json};

/// Every mount, or null when mountinfo cannot be read.
pub fn mounts() -> Value {
    match sys::read_text("/proc/self/mountinfo") {
        Some(text) => text.lines().filter_map(parse_line).collect(),
        None => Value::Null,
    }
}

/// One mountinfo line as a JSON object, or `None` if it is malformed.
pub fn parse_line(line: &str) -> Option<Value> {
    let mut fields = line.split(' ');
    let id: u64 = fields.next()?.parse().ok()?;
    let parent: u64 = fields.next()?.parse().ok()?;
    let major_minor = fields.next()?;
    let root = unescape(fields.next()?);
    let mount_point = unescape(fields.next()?);
    let options = fields.next()?;
    let mut optional = Vec::new();
    loop {
        match fields.next()? {
            "-" => break,
            field => optional.push(field),
        }
    }
    let fs_type = unescape(fields.next()?);
    let source = unescape(fields.next()?);
    let super_options = fields.next().unwrap_or("");
    Some(json!({
        "id": id, "parent": parent, "major_minor": major_minor,
        "root": root, "mount_point": mount_point, "options": options,
        "optional": optional.join(" "), "fs_type": fs_type,
        "source": source, "super_options": super_options,
    }))
}

/// Decodes the kernel's `\ooo` octal escapes (`\040` is a space).
pub fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match octal_escape(&bytes[i..]) {
            Some(byte) => {
                decoded.push(byte);
                i += 4;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The byte of a `\ooo` escape at the start of `bytes`, if there is one.
fn octal_escape(bytes: &[u8]) -> Option<u8> {
    let [b'\\', digits @ ..] = bytes.get(..4)? else {
        return None;
    };
    let mut value: u32 = 0;
    for &digit in digits {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        value = value * 8 + u32::from(digit - b'0');
    }
    u8::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::{parse_line, unescape};

    #[test]
    fn parses_a_line_with_optional_fields() {
        let line = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue";
        let mount = parse_line(line).expect("a valid line");
        assert_eq!(mount["id"], 36);
        assert_eq!(mount["parent"], 35);
        assert_eq!(mount["major_minor"], "98:0");
        assert_eq!(mount["root"], "/mnt1");
        assert_eq!(mount["mount_point"], "/mnt2");
        assert_eq!(mount["options"], "rw,noatime");
        assert_eq!(mount["optional"], "master:1 shared:7");
        assert_eq!(mount["fs_type"], "ext3");
        assert_eq!(mount["source"], "/dev/root");
        assert_eq!(mount["super_options"], "rw,errors=continue");
    }

    #[test]
    fn parses_a_line_without_optional_fields() {
        let line = "25 1 0:22 / /proc rw,nosuid - proc proc rw";
        let mount = parse_line(line).expect("a valid line");
        assert_eq!(mount["optional"], "");
        assert_eq!(mount["fs_type"], "proc");
        assert_eq!(mount["super_options"], "rw");
    }

    #[test]
    fn decodes_octal_escapes_in_paths() {
        let line = r"40 25 0:50 /a\040b /mnt/my\040dir\011x rw - tmpfs my\134src rw";
        let mount = parse_line(line).expect("a valid line");
        assert_eq!(mount["root"], "/a b");
        assert_eq!(mount["mount_point"], "/mnt/my dir\tx");
        assert_eq!(mount["source"], r"my\src");
    }

    #[test]
    fn leaves_other_backslashes_alone() {
        assert_eq!(unescape(r"a\b"), r"a\b");
        assert_eq!(unescape(r"a\09"), r"a\09");
        assert_eq!(unescape(r"end\04"), r"end\04");
        assert_eq!(unescape(r"\012"), "\n");
    }

    #[test]
    fn rejects_a_truncated_line() {
        assert!(parse_line("36 35 98:0 / /mnt rw master:1").is_none());
        assert!(parse_line("x 35 98:0 / /mnt rw - ext3 /dev/root rw").is_none());
    }
}
