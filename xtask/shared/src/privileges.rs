//! Who we run as. The checks that create namespaces, mounts or cgroups need
//! root; `cargo xtask check` asks for sudo only to run them.

/// Whether the effective user is root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_root_agrees_with_proc() {
        // The fifth field of "Uid:" in /proc/self/status is the effective uid.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        let euid = line.split_whitespace().nth(2).unwrap();
        assert_eq!(super::is_root(), euid == "0");
    }
}
