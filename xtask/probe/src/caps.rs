//! Privileges: the capability sets, the no_new_privs flag and the seccomp
//! mode. A container runtime drops capabilities and may filter system
//! calls; this is where a check sees whether it did. The sets come from the
//! Cap* lines of /proc/self/status as 16 hex digits, one bit per capability
//! (see capabilities(7)).

use crate::sys;
use serde_json::{Value, json};

/// Capability names by bit number, as in <linux/capability.h>, lowercase.
const NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

/// The five capability sets as hex strings, and the names of the
/// effective ones.
pub fn capabilities() -> Value {
    let status = sys::read_text("/proc/self/status").unwrap_or_default();
    let field = |key| status_field(&status, key);
    let effective = field("CapEff");
    json!({
        "inheritable": field("CapInh"),
        "permitted": field("CapPrm"),
        "effective": effective,
        "bounding": field("CapBnd"),
        "ambient": field("CapAmb"),
        "effective_names": effective.and_then(names),
    })
}

/// The seccomp mode (0 off, 1 strict, 2 filter), or null.
pub fn seccomp() -> Value {
    let status = sys::read_text("/proc/self/status").unwrap_or_default();
    json!(status_field(&status, "Seccomp").and_then(|mode| mode.parse::<u32>().ok()))
}

/// The signals blocked and ignored, as the hex masks of /proc/self/status
/// (bit N-1 is signal N). A container should start with neither: both
/// survive `execve`.
pub fn signal_masks() -> Value {
    let status = sys::read_text("/proc/self/status").unwrap_or_default();
    json!({ "blocked": status_field(&status, "SigBlk"), "ignored": status_field(&status, "SigIgn") })
}

/// Whether no_new_privs is set, or null if prctl fails.
pub fn no_new_privs() -> Value {
    // SAFETY: PR_GET_NO_NEW_PRIVS only returns a value.
    let flag = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    if flag < 0 {
        Value::Null
    } else {
        json!(flag == 1)
    }
}

/// The value of a `Key:\tvalue` line of /proc/self/status.
pub fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

/// The names of the capabilities set in a hex capability mask.
pub fn names(hex: &str) -> Option<Vec<String>> {
    let bits = u64::from_str_radix(hex, 16).ok()?;
    Some(
        (0..64)
            .filter(|bit| bits >> bit & 1 == 1)
            .map(name)
            .collect(),
    )
}

/// A capability's name; a bit this table does not know is `cap_<n>`.
pub fn name(bit: u32) -> String {
    match NAMES.get(bit as usize) {
        Some(name) => (*name).to_owned(),
        None => format!("cap_{bit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{name, names, status_field};

    #[test]
    fn names_known_and_unknown_bits() {
        assert_eq!(name(0), "cap_chown");
        assert_eq!(name(21), "cap_sys_admin");
        assert_eq!(name(40), "cap_checkpoint_restore");
        assert_eq!(name(41), "cap_41");
    }

    #[test]
    fn lists_the_set_bits() {
        assert_eq!(names("0000000000000000"), Some(vec![]));
        assert_eq!(
            names("0000000000200401").unwrap(),
            ["cap_chown", "cap_net_bind_service", "cap_sys_admin"]
        );
        assert_eq!(names("000001ffffffffff").unwrap().len(), 41);
        assert_eq!(names("0000020000000000").unwrap(), ["cap_41"]);
        assert_eq!(names("not hex"), None);
    }

    #[test]
    fn reads_status_fields() {
        let status =
            "Name:\tprobe\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\nSeccomp:\t2\n";
        assert_eq!(status_field(status, "CapEff"), Some("000001ffffffffff"));
        assert_eq!(status_field(status, "Seccomp"), Some("2"));
        assert_eq!(status_field(status, "CapAmb"), None);
    }
}
