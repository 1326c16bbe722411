//! The mount table of a process, from `/proc/<pid>/mountinfo`.
//!
//! `/proc/mounts` cannot tell a bind mount of a subdirectory from a mount of
//! the whole filesystem, nor show propagation; mountinfo can. A line looks
//! like this (see proc_pid_mountinfo(5)):
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! id parent maj:min root mount-point options optional… - type source super-options
//! ```
//!
//! The number of optional fields varies (none on a private mount), so the
//! lone `-` is what ends them. The kernel writes a space, tab, newline or
//! backslash in a path as an octal escape (`\040` is a space): a mount point
//! with a space would otherwise split into two fields.

use std::io;
use std::path::Path;

/// One mount, one line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount's id (reused after it is unmounted).
    pub id: u32,
    /// The id of the mount it sits on (itself for the root of the namespace).
    pub parent: u32,
    /// The device of the filesystem (`st_dev`): major number.
    pub major: u32,
    /// The device of the filesystem (`st_dev`): minor number.
    pub minor: u32,
    /// Which directory of the filesystem is mounted (`/` unless a bind
    /// mount of a subdirectory), unescaped.
    pub root: String,
    /// Where it is mounted, relative to the process's root, unescaped.
    pub mount_point: String,
    /// Per-mount options: `rw,nosuid,nodev,relatime`.
    pub options: String,
    /// Propagation and more: `shared:7`, `master:1`, `propagate_from:2`,
    /// `unbindable`. None: a private mount.
    pub optional: Vec<String>,
    /// `ext4`, `tmpfs`, `cgroup2`, …, unescaped.
    pub fs_type: String,
    /// What was mounted (`/dev/sda2`, `tmpfs`, `none`), unescaped.
    pub source: String,
    /// Per-filesystem options: `rw,mode=755`; for cgroup v1 the controllers.
    pub super_options: String,
}

impl Mount {
    /// `"98:0"`, as the kernel writes it.
    pub fn major_minor(&self) -> String {
        format!("{}:{}", self.major, self.minor)
    }

    /// Whether mounts under it propagate to a peer group (`shared:N`).
    pub fn is_shared(&self) -> bool {
        self.optional
            .iter()
            .any(|field| field.starts_with("shared:"))
    }

    /// Whether a per-mount option is set (`ro`, `nosuid`, …).
    pub fn has_option(&self, option: &str) -> bool {
        self.options.split(',').any(|o| o == option)
    }

    /// Whether a per-filesystem option is set (`ro`, `memory`, …).
    pub fn has_super_option(&self, option: &str) -> bool {
        self.super_options.split(',').any(|o| o == option)
    }

    /// Whether the mount point is `path` or lies below it (component-wise:
    /// `/ab` is not below `/a`).
    pub fn is_under(&self, path: impl AsRef<Path>) -> bool {
        Path::new(&self.mount_point).starts_with(path)
    }
}

/// Reads and parses `/proc/self/mountinfo`.
pub fn read_self() -> io::Result<Vec<Mount>> {
    read("/proc/self/mountinfo")
}

/// Reads and parses a mountinfo file (`/proc/<pid>/mountinfo`).
pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<Mount>> {
    Ok(parse(&std::fs::read_to_string(path)?))
}

/// Parses mountinfo text, skipping malformed lines.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

/// One mountinfo line, or `None` if it is malformed.
pub fn parse_line(line: &str) -> Option<Mount> {
    // Split on single spaces: an empty field (a source of "") must stay a
    // field. The kernel never writes two spaces in a row otherwise.
    let mut fields = line.split(' ');
    let id = fields.next()?.parse().ok()?;
    let parent = fields.next()?.parse().ok()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let (major, minor) = (major.parse().ok()?, minor.parse().ok()?);
    let root = unescape(fields.next()?);
    let mount_point = unescape(fields.next()?);
    let options = fields.next()?.to_owned();
    let mut optional = Vec::new();
    loop {
        match fields.next()? {
            "-" => break,
            field => optional.push(field.to_owned()),
        }
    }
    let fs_type = unescape(fields.next()?);
    let source = unescape(fields.next()?);
    // Old kernels may end the line after the source.
    let super_options = fields.next().unwrap_or("").to_owned();
    Some(Mount {
        id,
        parent,
        major,
        minor,
        root,
        mount_point,
        options,
        optional,
        fs_type,
        source,
        super_options,
    })
}

/// Decodes the kernel's `\ooo` octal escapes (`\040` is a space). Any other
/// backslash is kept as it is.
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
    use super::*;

    #[test]
    fn parses_a_line_with_optional_fields() {
        let line = "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue";
        let mount = parse_line(line).expect("a valid line");
        assert_eq!(
            mount,
            Mount {
                id: 36,
                parent: 35,
                major: 98,
                minor: 0,
                root: "/mnt1".into(),
                mount_point: "/mnt2".into(),
                options: "rw,noatime".into(),
                optional: vec!["master:1".into(), "shared:7".into()],
                fs_type: "ext3".into(),
                source: "/dev/root".into(),
                super_options: "rw,errors=continue".into(),
            }
        );
        assert_eq!(mount.major_minor(), "98:0");
        assert!(mount.is_shared());
        assert!(mount.has_option("noatime") && !mount.has_option("ro"));
        assert!(mount.has_super_option("errors=continue"));
    }

    #[test]
    fn parses_a_line_without_optional_fields() {
        let mount = parse_line("25 1 0:22 / /proc rw,nosuid - proc proc rw").expect("valid");
        assert!(mount.optional.is_empty());
        assert!(!mount.is_shared());
        assert_eq!(mount.fs_type, "proc");
        assert_eq!(mount.super_options, "rw");
    }

    #[test]
    fn an_empty_source_is_a_field() {
        let mount = parse_line("40 25 0:50 / /x rw - tmpfs  rw").expect("valid");
        assert_eq!(mount.source, "");
        assert_eq!(mount.super_options, "rw");
    }

    #[test]
    fn decodes_octal_escapes_in_paths() {
        let line = r"40 25 0:50 /a\040b /mnt/my\040dir\011x rw - tmpfs my\134src rw";
        let mount = parse_line(line).expect("a valid line");
        assert_eq!(mount.root, "/a b");
        assert_eq!(mount.mount_point, "/mnt/my dir\tx");
        assert_eq!(mount.source, r"my\src");
        assert!(mount.is_under("/mnt"));
        assert!(!mount.is_under("/mn"));
    }

    #[test]
    fn leaves_other_backslashes_alone() {
        assert_eq!(unescape(r"a\b"), r"a\b");
        assert_eq!(unescape(r"a\09"), r"a\09");
        assert_eq!(unescape(r"end\04"), r"end\04");
        assert_eq!(unescape(r"\012"), "\n");
        // \777 is no byte: kept as text.
        assert_eq!(unescape(r"\777"), r"\777");
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse_line("36 35 98:0 / /mnt rw master:1").is_none());
        assert!(parse_line("x 35 98:0 / /mnt rw - ext3 /dev/root rw").is_none());
        assert!(parse_line("36 35 98 / /mnt rw - ext3 /dev/root rw").is_none());
        assert_eq!(parse("garbage\n1 2 3\n"), []);
    }

    #[test]
    fn reads_this_process_table() {
        let mounts = read_self().expect("/proc/self/mountinfo");
        assert!(mounts.iter().any(|m| m.mount_point == "/"));
        assert!(mounts.iter().any(|m| m.fs_type == "proc"));
    }
}
