//! The kernel: a Linux new enough for lab 01, and user namespaces for
//! rootless runs.

use super::needs::Needs;
use super::report::{Item, fix, install};
use super::sys::{major_minor, read_number, read_trimmed};

/// `pidfd_open(2)` arrived in Linux 5.3; lab 01 waits for its child with it.
pub const MIN_KERNEL: (u32, u32) = (5, 3);

pub fn kernel(needs: &Needs) -> Item {
    let Some(release) = read_trimmed("/proc/sys/kernel/osrelease") else {
        let hints = vec!["the labs need Linux: use a Linux VM, or WSL2 on Windows".to_owned()];
        return Item::missing(
            "kernel",
            needs.always(),
            "no /proc/sys/kernel/osrelease",
            hints,
        );
    };
    let wsl = wsl_version(&release);
    if wsl == Some(1) {
        let hints = vec!["in Windows: wsl --set-version <distro> 2".to_owned()];
        return Item::missing(
            "kernel",
            needs.always(),
            format!("{release}: WSL 1 has no Linux kernel"),
            hints,
        );
    }
    let on = if wsl == Some(2) { " (WSL2)" } else { "" };
    if major_minor(&release).is_some_and(|version| version >= MIN_KERNEL) {
        return Item::ok("kernel", format!("{release}{on}"));
    }
    let hints = if wsl.is_some() {
        vec!["in Windows: wsl --update".to_owned()]
    } else {
        let mut hints = install(
            "sudo apt-get update && sudo apt-get dist-upgrade",
            "sudo dnf upgrade --refresh",
        );
        hints.push("then reboot; Ubuntu 20.04+, Debian 11+ and Fedora all ship ≥ 5.4".to_owned());
        hints
    };
    Item::missing(
        "kernel",
        needs.always(),
        format!(
            "{release}{on}: older than {}.{}, no pidfd_open",
            MIN_KERNEL.0, MIN_KERNEL.1
        ),
        hints,
    )
}

/// WSL's kernels say "microsoft": `5.15.153.1-microsoft-standard-WSL2`
/// for WSL2, `4.4.0-19041-Microsoft` (capital M) for WSL 1, which is a
/// Windows layer and not a Linux kernel at all.
pub fn wsl_version(release: &str) -> Option<u8> {
    if release.contains("Microsoft") {
        Some(1)
    } else if release.contains("microsoft") {
        Some(2)
    } else {
        None
    }
}

/// Only rootless runs need user namespaces, so everything here is optional.
pub fn user_namespaces() -> Item {
    const NAME: &str = "user namespaces";
    let Some(max) = read_number("/proc/sys/user/max_user_namespaces") else {
        return Item::optional(NAME, "not in this kernel (no CONFIG_USER_NS)", Vec::new());
    };
    if max == 0 {
        let hints = vec![fix("sudo sysctl user.max_user_namespaces=15000")];
        return Item::optional(NAME, "disabled (user.max_user_namespaces = 0)", hints);
    }
    // Debian and Ubuntu's own switch for unprivileged user namespaces.
    if read_number("/proc/sys/kernel/unprivileged_userns_clone") == Some(0) {
        let hints = vec![
            fix("sudo sysctl kernel.unprivileged_userns_clone=1"),
            sysctl_note(),
        ];
        return Item::optional(
            NAME,
            "root only: rootless runs need them for everyone",
            hints,
        );
    }
    // Ubuntu 23.10+: AppArmor lets only profiled programs create them.
    if read_number("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        let hints = vec![
            fix("sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0"),
            sysctl_note(),
        ];
        return Item::optional(
            NAME,
            "AppArmor blocks them without root (rootless runs only)",
            hints,
        );
    }
    Item::ok(NAME, format!("available, also without root (up to {max})"))
}

fn sysctl_note() -> String {
    "(to keep it after a reboot, put the same key = value in /etc/sysctl.d/60-dockyard.conf)"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert!(major_minor("6.18.44-fc-v657").unwrap() >= MIN_KERNEL);
        assert!(major_minor("5.15.153.1-microsoft-standard-WSL2").unwrap() >= MIN_KERNEL);
        assert!(major_minor("4.19.0").unwrap() < MIN_KERNEL);
        // 5.10 is newer than 5.3: numbers, not strings.
        assert!(major_minor("5.10.0").unwrap() >= MIN_KERNEL);
    }

    #[test]
    fn wsl_detection() {
        assert_eq!(wsl_version("5.15.153.1-microsoft-standard-WSL2"), Some(2));
        assert_eq!(wsl_version("4.4.0-19041-Microsoft"), Some(1));
        assert_eq!(wsl_version("6.18.44-fc-v657"), None);
    }
}
