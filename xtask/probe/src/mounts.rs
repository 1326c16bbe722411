//! Mounts: the process's view of the mount table, from
//! /proc/self/mountinfo. After pivot_root or a new mount namespace this is
//! how a check sees what the container has mounted, where, and how. The
//! parsing (optional fields, `\040` escapes) is `shared::mountinfo`'s.

use crate::sys;
use serde_json::{Value, json};
use shared::mountinfo::{self, Mount};

/// Every mount, or null when mountinfo cannot be read.
pub fn mounts() -> Value {
    match sys::read_text("/proc/self/mountinfo") {
        Some(text) => mountinfo::parse(&text).iter().map(to_json).collect(),
        None => Value::Null,
    }
}

/// One mount as the report shows it: the mountinfo fields by name, the
/// optional fields joined by spaces ("" for a private mount).
fn to_json(mount: &Mount) -> Value {
    json!({
        "id": mount.id, "parent": mount.parent, "major_minor": mount.major_minor(),
        "root": mount.root, "mount_point": mount.mount_point, "options": mount.options,
        "optional": mount.optional.join(" "), "fs_type": mount.fs_type,
        "source": mount.source, "super_options": mount.super_options,
    })
}

#[cfg(test)]
mod tests {
    use super::to_json;
    use shared::mountinfo::parse_line;

    #[test]
    fn a_mount_keeps_its_report_shape() {
        let line = r"36 35 98:0 /mnt1 /mnt\0402 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue";
        let mount = to_json(&parse_line(line).expect("a valid line"));
        assert_eq!(mount["id"], 36);
        assert_eq!(mount["parent"], 35);
        assert_eq!(mount["major_minor"], "98:0");
        assert_eq!(mount["root"], "/mnt1");
        assert_eq!(mount["mount_point"], "/mnt 2");
        assert_eq!(mount["options"], "rw,noatime");
        assert_eq!(mount["optional"], "master:1 shared:7");
        assert_eq!(mount["fs_type"], "ext3");
        assert_eq!(mount["source"], "/dev/root");
        assert_eq!(mount["super_options"], "rw,errors=continue");
    }

    #[test]
    fn a_private_mount_has_empty_optional_fields() {
        let mount = to_json(&parse_line("25 1 0:22 / /proc rw,nosuid - proc proc rw").unwrap());
        assert_eq!(mount["optional"], "");
    }
}
