//! Cgroups: the controllers the limits lab sets (memory, pids, cpu), on
//! whichever layout the host has (v2, v1 or hybrid; see `detect`).

use std::collections::BTreeSet;

use super::detect::{CgroupLayout, cgroup_layout, controller_name};
use super::kernel::wsl_version;
use super::needs::Needs;
use super::report::{Item, fix, install};
use super::sys::read;

/// The controllers the limits lab sets.
const NEEDED_CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];

pub fn cgroups(needs: &Needs) -> Item {
    let (layout, controllers) = cgroup_layout();
    let have: BTreeSet<&str> = controllers
        .iter()
        .map(|entry| controller_name(entry))
        .collect();
    let lacking: Vec<&str> = NEEDED_CONTROLLERS
        .into_iter()
        .filter(|name| !have.contains(name))
        .collect();
    let needed = needs.first("cgroups", "resource limits");
    if layout == CgroupLayout::None {
        let hints = vec![fix("sudo mount -t cgroup2 none /sys/fs/cgroup")];
        return Item::missing("cgroups", needed, layout.to_string(), hints);
    }
    if lacking.is_empty() {
        let needed: Vec<&str> = NEEDED_CONTROLLERS
            .iter()
            .filter_map(|name| {
                controllers
                    .iter()
                    .find(|entry| controller_name(entry) == *name)
            })
            .map(String::as_str)
            .collect();
        let more = controllers.len() - needed.len();
        let found = format!("{layout}: {}, +{more} more", needed.join(", "));
        // Root needs nothing more; without root, only a delegated subtree.
        let hints = if layout == CgroupLayout::V2 && !shared::privileges::is_root() {
            delegation_hints()
        } else {
            Vec::new()
        };
        return Item::new("cgroups", super::report::Status::Ok, found, hints);
    }
    let found = format!("{layout}: no {}", lacking.join(", "));
    Item::missing("cgroups", needed, found, cgroup_hints(layout, &lacking))
}

/// How to get the missing controllers, depending on why they are missing.
fn cgroup_hints(layout: CgroupLayout, lacking: &[&str]) -> Vec<String> {
    let cmdline = read("/proc/cmdline").unwrap_or_default();
    let disabled: Vec<&str> = disabled_controllers(&cmdline)
        .into_iter()
        .filter(|name| lacking.contains(name))
        .collect();
    let mut hints = Vec::new();
    if !disabled.is_empty() {
        // Raspberry Pi images, for one, boot with cgroup_disable=memory.
        let arg = format!("cgroup_disable={}", disabled.join(","));
        hints.push(format!(
            "the kernel was booted with {arg}; remove it and reboot:"
        ));
        hints.extend(install(
            "edit GRUB_CMDLINE_LINUX in /etc/default/grub, then sudo update-grub",
            &format!("sudo grubby --update-kernel=ALL --remove-args={arg}"),
        ));
    } else if layout == CgroupLayout::V2 {
        // A v2 group offers its children only what its parent enabled.
        let plus: Vec<String> = lacking.iter().map(|name| format!("+{name}")).collect();
        hints.push("the parent group must delegate them, on the host as root:".to_owned());
        hints.push(format!(
            "echo '{}' > <parent>/cgroup.subtree_control",
            plus.join(" ")
        ));
        hints.extend(delegation_hints());
    } else {
        for name in lacking {
            let dir = format!("/sys/fs/cgroup/{name}");
            let command =
                format!("sudo mkdir -p {dir} && sudo mount -t cgroup -o {name} cgroup {dir}");
            hints.push(fix(&command));
        }
    }
    if read("/proc/sys/kernel/osrelease").is_some_and(|release| wsl_version(&release).is_some()) {
        hints
            .push("WSL2: for plain cgroup v2, put kernelCommandLine = cgroup_no_v1=all".to_owned());
        hints.push("under [wsl2] in %UserProfile%\\.wslconfig, then run wsl --shutdown".to_owned());
    }
    hints
}

/// Rootless containers on cgroup v2: what delegation is, and how to get it.
///
/// A cgroup v2 subtree is *delegated* to a user when the user owns its
/// directory and its `cgroup.procs`, `cgroup.subtree_control` and
/// `cgroup.threads` files: inside it they may make child cgroups, move
/// their own processes between them and enable the controllers the parent
/// gave it. systemd delegates a subtree to a unit with `Delegate=yes`;
/// `user@.service` (each user's systemd instance) has it, but by default
/// only for some controllers (often `memory pids`) — others need a drop-in. A process started
/// from a login session lives in `session-N.scope`, which is *not*
/// delegated: rootless engines start themselves in a delegated scope
/// (`systemd-run --user --scope -p Delegate=yes …`). v1 has no safe
/// delegation: rootless limits need v2.
fn delegation_hints() -> Vec<String> {
    [
        "rootless (without sudo) limits need a delegated v2 subtree: one you own, with \
         the controllers enabled in its parent's cgroup.subtree_control",
        "systemd delegates user@UID.service (Delegate=yes), by default only some \
         controllers (often memory and pids); to add cpu and io, as root:",
        "  mkdir -p /etc/systemd/system/user@.service.d && printf \
         '[Service]\\nDelegate=cpu cpuset io memory pids\\n' \
         > /etc/systemd/system/user@.service.d/delegate.conf && systemctl daemon-reload",
        "then log in again; see: cat /sys/fs/cgroup/user.slice/user-$(id -u).slice/\
         user@$(id -u).service/cgroup.controllers",
        "a login shell sits in a session scope, which is not delegated: start the engine \
         with systemd-run --user --scope -p Delegate=yes …",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Controllers turned off on the kernel command line: `cgroup_disable=memory,pids`.
fn disabled_controllers(cmdline: &str) -> Vec<&str> {
    cmdline
        .split_whitespace()
        // After a lone "--" the arguments are init's, not the kernel's.
        .take_while(|arg| *arg != "--")
        .filter_map(|arg| arg.strip_prefix("cgroup_disable="))
        .flat_map(|list| list.split(','))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegation_is_explained() {
        let text = delegation_hints().join("\n");
        for word in [
            "Delegate=",
            "user@",
            "cgroup.subtree_control",
            "systemd-run",
        ] {
            assert!(text.contains(word), "{word} in:\n{text}");
        }
    }

    #[test]
    fn controllers_disabled_on_the_command_line() {
        let cmdline = "quiet cgroup_disable=memory,pids -- cgroup_disable=cpu";
        assert_eq!(disabled_controllers(cmdline), ["memory", "pids"]);
    }
}
