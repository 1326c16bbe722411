//! `cargo xtask doctor`: what this host supports, and how to fix what it lacks.
//!
//! The labs lean on kernel features (namespaces, overlayfs, cgroups) and on
//! a few host tools. When one is missing, the failure shows up deep inside a
//! lab as an `EINVAL` or `ENOENT` that says nothing about its cause. The
//! doctor looks before you start: it reads procfs and sysfs, looks programs
//! up on PATH, and for each missing piece prints the command that installs
//! or enables it on Debian/Ubuntu and on Fedora.
//!
//! It changes nothing on the host: it reads files and runs one
//! `rustc --version`, nothing else.
//!
//! Most checks are split in two: a function that reads the system, and a
//! pure parser that takes the file's text, so the tests can feed it the
//! text of other hosts.

use anyhow::Result;
use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

// The first lab that needs each piece: the summary says which labs work
// without it.
const LAB_ROOT: u8 = 2;
const LAB_OVERLAY: u8 = 3;
const LAB_CGROUPS: u8 = 4;
const LAB_NETWORK: u8 = 10;
const LAB_NAT: u8 = 11;

/// `pidfd_open(2)` arrived in Linux 5.3; lab 01 waits for its child with it.
const MIN_KERNEL: (u32, u32) = (5, 3);
/// Edition 2024 needs Rust 1.85.
const MIN_RUST: (u32, u32) = (1, 85);
/// The controllers lab 04 sets limits with.
const NEEDED_CONTROLLERS: [&str; 3] = ["memory", "pids", "cpu"];
/// Every cgroup v1 controller; the other words in a v1 mount's options
/// (`rw`, `xattr`, `name=systemd`…) are not controllers.
const V1_CONTROLLERS: [&str; 14] = [
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];
/// Debian keeps `ip`, `nft` and `iptables` in /usr/sbin, which is not on a
/// normal user's PATH. sudo's `secure_path` has it, so the labs (run with
/// sudo) find them there: look there too.
const SBIN_DIRS: [&str; 3] = ["/usr/local/sbin", "/usr/sbin", "/sbin"];
/// How long an external command may take before we give up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
/// Prints the report. `Ok(true)` when nothing any lab needs is missing.
pub fn run() -> Result<bool> {
    let items = [
        kernel(),
        privileges(),
        user_namespaces(),
        mounts(),
        overlayfs(),
        cgroups(),
        iproute2(),
        nat(),
        busybox(),
        rust(),
    ];
    let bold = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    print_report(&mut out, &items, bold)?;
    Ok(!items.iter().any(|item| item.status.lab().is_some()))
}

// ---------------------------------------------------------------- the report

/// How an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    /// Missing, but no lab depends on it (or only on some runs of it).
    Optional,
    /// Missing, and labs from `lab` on need it.
    Missing {
        lab: u8,
    },
}

impl Status {
    fn lab(self) -> Option<u8> {
        match self {
            Status::Missing { lab } => Some(lab),
            _ => None,
        }
    }
}

/// One line of the report, plus the lines that say how to fix it.
#[derive(Debug)]
struct Item {
    name: &'static str,
    status: Status,
    found: String,
    hints: Vec<String>,
}

impl Item {
    fn ok(name: &'static str, found: impl Into<String>) -> Item {
        Item::new(name, Status::Ok, found, Vec::new())
    }

    fn optional(name: &'static str, found: impl Into<String>, hints: Vec<String>) -> Item {
        Item::new(name, Status::Optional, found, hints)
    }

    fn missing(name: &'static str, lab: u8, found: impl Into<String>, hints: Vec<String>) -> Item {
        Item::new(name, Status::Missing { lab }, found, hints)
    }

    fn new(
        name: &'static str,
        status: Status,
        found: impl Into<String>,
        hints: Vec<String>,
    ) -> Item {
        let found = found.into();
        Item {
            name,
            status,
            found,
            hints,
        }
    }
}

/// The two install lines, Debian/Ubuntu first.
fn install(debian: &str, fedora: &str) -> Vec<String> {
    vec![
        format!("Debian/Ubuntu: {debian}"),
        format!("Fedora:        {fedora}"),
    ]
}

/// A fix that is the same on every distribution.
fn fix(command: &str) -> String {
    format!("fix: {command}")
}

fn print_report(out: &mut impl Write, items: &[Item], bold: bool) -> Result<()> {
    let title = match read("/etc/os-release").as_deref().and_then(pretty_name) {
        Some(os) => format!("Dockyard doctor: {os}"),
        None => "Dockyard doctor".to_owned(),
    };
    if bold {
        writeln!(out, "\x1b[1m{title}\x1b[0m\n")?;
    } else {
        writeln!(out, "{title}\n")?;
    }
    let width = items.iter().map(|item| item.name.len()).max().unwrap_or(0);
    for item in items {
        let mark = match item.status {
            Status::Ok => '✓',
            Status::Optional => '!',
            Status::Missing { .. } => '✗',
        };
        let needed = match item.status {
            Status::Missing { lab } => format!(" (needed from lab {lab:02})"),
            _ => String::new(),
        };
        writeln!(out, "{mark} {:width$}  {}{needed}", item.name, item.found)?;
        for hint in &item.hints {
            // Under the "found" column: mark, space, name, two spaces.
            writeln!(out, "{:indent$}{hint}", "", indent = width + 4)?;
        }
    }
    writeln!(out, "\n{}", summary(items))?;
    Ok(())
}

/// The last line: start now, or what to fix first.
fn summary(items: &[Item]) -> String {
    let labs: Vec<u8> = items.iter().filter_map(|item| item.status.lab()).collect();
    let Some(&first) = labs.iter().min() else {
        let optional = items.iter().any(|item| item.status == Status::Optional);
        let note = if optional {
            " (the ! items are optional)"
        } else {
            ""
        };
        return format!("All set{note}: start with `cargo xtask check 01`.");
    };
    let things = match labs.len() {
        1 => "1 thing to fix".to_owned(),
        n => format!("{n} things to fix"),
    };
    let when = if labs.iter().all(|&lab| lab == first) {
        format!(" before lab {first:02}")
    } else {
        format!(", the first before lab {first:02}")
    };
    let works = match first {
        0 | 1 => String::new(),
        2 => "; lab 01 works as is".to_owned(),
        n => format!("; labs 01–{:02} work as is", n - 1),
    };
    format!("{things}{when}{works}.")
}

/// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"` → the quoted name.
fn pretty_name(os_release: &str) -> Option<&str> {
    let line = os_release
        .lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))?;
    Some(line.trim_matches('"'))
}

// ------------------------------------------------------------------- kernel

fn kernel() -> Item {
    let Some(release) = read_trimmed("/proc/sys/kernel/osrelease") else {
        let hints = vec!["the labs need Linux: use a Linux VM, or WSL2 on Windows".to_owned()];
        return Item::missing("kernel", 1, "no /proc/sys/kernel/osrelease", hints);
    };
    let wsl = wsl_version(&release);
    if wsl == Some(1) {
        let hints = vec!["in Windows: wsl --set-version <distro> 2".to_owned()];
        return Item::missing(
            "kernel",
            1,
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
        1,
        format!("{release}{on}: older than 5.3, no pidfd_open"),
        hints,
    )
}

/// WSL's kernels say "microsoft": `5.15.153.1-microsoft-standard-WSL2`
/// for WSL2, `4.4.0-19041-Microsoft` (capital M) for WSL 1, which is a
/// Windows layer and not a Linux kernel at all.
fn wsl_version(release: &str) -> Option<u8> {
    if release.contains("Microsoft") {
        Some(1)
    } else if release.contains("microsoft") {
        Some(2)
    } else {
        None
    }
}

/// The first two numbers: `6.18.44-fc-v657` → (6, 18), `1.85.0` → (1, 85).
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut numbers = version.split(|c: char| !c.is_ascii_digit());
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some((major, minor))
}

// --------------------------------------------------------------- privileges

fn privileges() -> Item {
    let Some(euid) = read("/proc/self/status")
        .as_deref()
        .and_then(euid_from_status)
    else {
        return Item::optional("privileges", "cannot read /proc/self/status", Vec::new());
    };
    if euid == 0 {
        return match std::env::var("SUDO_USER") {
            Ok(user) => Item::ok("privileges", format!("root (through sudo, for {user})")),
            Err(_) => Item::ok("privileges", "root"),
        };
    }
    let user = std::env::var("USER").unwrap_or_else(|_| format!("uid {euid}"));
    if let Some(sudo) = find_program("sudo") {
        let found = format!(
            "{user}, with {}: labs 02+ run their checks through it",
            sudo.display()
        );
        return Item::ok("privileges", found);
    }
    // Debian installed with a root password has no sudo: su can add it.
    let mut hints = install(
        &format!("su -c 'apt-get install sudo && usermod -aG sudo {user}'"),
        &format!("su -c 'dnf install sudo && usermod -aG wheel {user}'"),
    );
    hints.push("then log out and back in".to_owned());
    let found = format!("{user}, and no sudo to run the checks as root");
    Item::missing("privileges", LAB_ROOT, found, hints)
}

/// The effective uid from /proc/self/status: `Uid:  real  effective  saved  fs`.
fn euid_from_status(status: &str) -> Option<u32> {
    let uids = status.lines().find_map(|line| line.strip_prefix("Uid:"))?;
    uids.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------- user namespaces

/// Only rootless runs need user namespaces, so everything here is optional.
fn user_namespaces() -> Item {
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

// ------------------------------------------------------------------- mounts

/// Mount namespaces and pivot_root work on any Linux; what differs is
/// whether `/` propagates mounts, which lab 03 has to deal with.
fn mounts() -> Item {
    let Some(text) = read("/proc/self/mountinfo") else {
        return Item::optional("mounts", "cannot read /proc/self/mountinfo", Vec::new());
    };
    match root_is_shared(&parse_mountinfo(&text)) {
        Some(true) => Item::ok(
            "mounts",
            "/ is shared (systemd): lab 03 makes it private inside the container",
        ),
        Some(false) => Item::ok("mounts", "/ is private"),
        None => Item::optional(
            "mounts",
            "no mount for / in /proc/self/mountinfo",
            Vec::new(),
        ),
    }
}

/// One line of /proc/self/mountinfo (see proc_pid_mountinfo(5)):
///
/// ```text
/// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
/// id parent dev root mount-point options [optional fields…] - type source super-options
/// ```
///
/// Spaces in paths are written `\040`; the mount points we look for have none.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount<'a> {
    mount_point: &'a str,
    /// Propagation: `shared:N`, `master:N`, … (none means private).
    optional: Vec<&'a str>,
    fs_type: &'a str,
    super_options: &'a str,
}

/// Parses /proc/self/mountinfo, skipping malformed lines.
fn parse_mountinfo(text: &str) -> Vec<Mount<'_>> {
    text.lines().filter_map(parse_mount).collect()
}

fn parse_mount(line: &str) -> Option<Mount<'_>> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // The optional fields run from the 7th field up to a lone "-".
    let dash = fields.iter().skip(6).position(|&field| field == "-")? + 6;
    Some(Mount {
        mount_point: fields.get(4)?,
        optional: fields[6..dash].to_vec(),
        fs_type: fields.get(dash + 1)?,
        super_options: fields.get(dash + 3)?,
    })
}

/// Whether `/` is a shared mount.
fn root_is_shared(mounts: &[Mount]) -> Option<bool> {
    // Mounts stack: the last one on "/" is the one on top, the one we see.
    let root = mounts.iter().rev().find(|mount| mount.mount_point == "/")?;
    Some(
        root.optional
            .iter()
            .any(|field| field.starts_with("shared:")),
    )
}

// ---------------------------------------------------------------- overlayfs

fn overlayfs() -> Item {
    let listed = read("/proc/filesystems").is_some_and(|text| has_filesystem(&text, "overlay"));
    if listed {
        return Item::ok("overlayfs", "overlay in /proc/filesystems");
    }
    // A module not loaded yet is fine: mount(2) asks the kernel to load
    // "fs-overlay" by itself when root mounts one.
    if overlay_module_installed() {
        return Item::ok(
            "overlayfs",
            "overlay module installed (loads on first mount)",
        );
    }
    let hints = vec![fix("sudo modprobe overlay")];
    Item::missing("overlayfs", LAB_OVERLAY, "not in /proc/filesystems", hints)
}

/// /proc/filesystems: one `[nodev]<TAB>name` line per filesystem.
fn has_filesystem(text: &str, name: &str) -> bool {
    text.lines()
        .any(|line| line.split_whitespace().last() == Some(name))
}

fn overlay_module_installed() -> bool {
    let Some(release) = read_trimmed("/proc/sys/kernel/osrelease") else {
        return false;
    };
    // modules.dep names every module of this kernel, compressed or not.
    read(format!("/lib/modules/{release}/modules.dep"))
        .is_some_and(|deps| deps.contains("/overlay.ko"))
}

// ------------------------------------------------------------------ cgroups

/// How the cgroup filesystems are mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupLayout {
    /// One cgroup2 hierarchy holds every controller.
    V2,
    /// One cgroup (v1) hierarchy per controller, or per few.
    V1,
    /// v1 controller hierarchies, plus a cgroup2 mount (usually
    /// /sys/fs/cgroup/unified) that gets only the controllers v1 left over.
    Hybrid,
    None,
}

impl fmt::Display for CgroupLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupLayout::V2 => "cgroup v2 (unified)",
            CgroupLayout::V1 => "cgroup v1",
            CgroupLayout::Hybrid => "hybrid (v1 controllers + a cgroup2 mount)",
            CgroupLayout::None => "no cgroup filesystem",
        })
    }
}

/// The layout, and the controllers usable in each hierarchy, sorted:
/// `"memory (v1)"`, `"pids (v2)"`, …
pub fn cgroup_layout() -> (CgroupLayout, Vec<String>) {
    let text = read("/proc/self/mountinfo").unwrap_or_default();
    let mounts = parse_mountinfo(&text);
    let mut controllers = Vec::new();
    for mount in &mounts {
        match mount.fs_type {
            "cgroup" => {
                let names = v1_controllers(mount.super_options);
                controllers.extend(names.map(|name| format!("{name} (v1)")));
            }
            "cgroup2" => {
                // v2 lists what its root offers in a file, not in mount options.
                let file = Path::new(mount.mount_point).join("cgroup.controllers");
                let names = read(file).unwrap_or_default();
                controllers.extend(names.split_whitespace().map(|name| format!("{name} (v2)")));
            }
            _ => {}
        }
    }
    // The same hierarchy can be mounted twice (bind mounts, containers).
    controllers.sort();
    controllers.dedup();
    (layout_of(&mounts), controllers)
}

fn layout_of(mounts: &[Mount]) -> CgroupLayout {
    let v2 = mounts.iter().any(|mount| mount.fs_type == "cgroup2");
    let v1: Vec<&Mount> = mounts
        .iter()
        .filter(|mount| mount.fs_type == "cgroup")
        .collect();
    // A v1 mount without controllers (`name=systemd`) is only systemd's
    // bookkeeping; a v2 host may keep one for old containers.
    let v1_with_controllers = v1
        .iter()
        .any(|mount| v1_controllers(mount.super_options).next().is_some());
    match (v1.is_empty(), v1_with_controllers, v2) {
        (_, true, true) => CgroupLayout::Hybrid,
        (_, false, true) => CgroupLayout::V2,
        (false, _, false) => CgroupLayout::V1,
        (true, _, false) => CgroupLayout::None,
    }
}

/// A v1 mount's super options name its controllers: `rw,cpu,cpuacct`.
fn v1_controllers(super_options: &str) -> impl Iterator<Item = &str> {
    super_options
        .split(',')
        .filter(|option| V1_CONTROLLERS.contains(option))
}

/// `"memory (v1)"` → `"memory"`.
fn controller_name(entry: &str) -> &str {
    entry.split(' ').next().unwrap_or(entry)
}

fn cgroups() -> Item {
    let (layout, controllers) = cgroup_layout();
    let have: BTreeSet<&str> = controllers
        .iter()
        .map(|entry| controller_name(entry))
        .collect();
    let lacking: Vec<&str> = NEEDED_CONTROLLERS
        .into_iter()
        .filter(|name| !have.contains(name))
        .collect();
    if layout == CgroupLayout::None {
        let hints = vec![fix("sudo mount -t cgroup2 none /sys/fs/cgroup")];
        return Item::missing("cgroups", LAB_CGROUPS, layout.to_string(), hints);
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
        return Item::ok(
            "cgroups",
            format!("{layout}: {}, +{more} more", needed.join(", ")),
        );
    }
    let found = format!("{layout}: no {}", lacking.join(", "));
    Item::missing(
        "cgroups",
        LAB_CGROUPS,
        found,
        cgroup_hints(layout, &lacking),
    )
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
        hints.push("(or Delegate=yes in the systemd unit that starts this session)".to_owned());
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

// ------------------------------------------------------------- host tools

fn iproute2() -> Item {
    match find_program("ip") {
        Some(ip) => Item::ok("iproute2", ip.display().to_string()),
        None => {
            let hints = install("sudo apt-get install iproute2", "sudo dnf install iproute");
            Item::missing("iproute2", LAB_NETWORK, "no `ip` command", hints)
        }
    }
}

/// Lab 11 sets up NAT with either tool.
fn nat() -> Item {
    let found: Vec<String> = ["nft", "iptables"]
        .into_iter()
        .filter_map(find_program)
        .map(|path| path.display().to_string())
        .collect();
    if !found.is_empty() {
        return Item::ok("nft/iptables", found.join(", "));
    }
    let mut hints = install("sudo apt-get install nftables", "sudo dnf install nftables");
    hints.push("(iptables works too)".to_owned());
    Item::missing("nft/iptables", LAB_NAT, "neither nft nor iptables", hints)
}

/// A container's root filesystem has no shared libraries, so the shell
/// copied into it must be a static busybox: a dynamic one fails to exec
/// there with a puzzling "No such file or directory" (its loader is missing).
fn busybox() -> Item {
    let candidates = std::iter::once(PathBuf::from("/bin/busybox")).chain(find_program("busybox"));
    let mut dynamic = None;
    for path in candidates {
        match read_head(&path, 64 * 1024).and_then(|head| kit::elf::has_interp(&head)) {
            Some(false) => return Item::ok("busybox", format!("{} (static)", path.display())),
            Some(true) => dynamic = dynamic.or(Some(path)),
            None => {}
        }
    }
    let found = match dynamic {
        Some(path) => format!("{} is dynamically linked", path.display()),
        None => "no static busybox".to_owned(),
    };
    let mut hints =
        vec!["lab 03+ images use it for a shell; the probe alone works without it".into()];
    hints.extend(install(
        "sudo apt-get install busybox-static",
        "sudo dnf install busybox",
    ));
    Item::optional("busybox", found, hints)
}

fn rust() -> Item {
    let Some(version) = rustc_version() else {
        let hints = vec!["install Rust with rustup: https://rustup.rs".to_owned()];
        return Item::missing("rust", 1, "no rustc found", hints);
    };
    // "rustc 1.85.0 (4d91de4e4 2025-02-17)" → "rustc 1.85.0"
    let short: String = version
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let number = short.strip_prefix("rustc ").unwrap_or(&short);
    if major_minor(number).is_some_and(|found| found >= MIN_RUST) {
        return Item::ok("rust", short);
    }
    let hints = vec![
        fix("rustup update stable"),
        "(distribution rustc packages are often older: get rustup from https://rustup.rs)".into(),
    ];
    Item::missing(
        "rust",
        1,
        format!("{short}: edition 2024 needs ≥ 1.85"),
        hints,
    )
}

fn rustc_version() -> Option<String> {
    // `cargo xtask` sets CARGO to the toolchain's own cargo, and its rustc
    // sits beside it. Running that one skips rustup's proxy, which could
    // otherwise decide to download a toolchain.
    let beside_cargo = std::env::var_os("CARGO")
        .and_then(|cargo| Some(Path::new(&cargo).parent()?.join("rustc")))
        .filter(|rustc| is_executable(rustc));
    let rustc = beside_cargo.unwrap_or_else(|| PathBuf::from("rustc"));
    command_output(&rustc, &["--version"])
}

// ------------------------------------------------------------------ helpers

fn read(path: impl AsRef<Path>) -> Option<String> {
    fs::read_to_string(path).ok()
}

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    read(path).map(|text| text.trim().to_owned())
}

fn read_number(path: impl AsRef<Path>) -> Option<u64> {
    read(path)?.trim().parse().ok()
}

/// The first `limit` bytes of a file (fewer if it is shorter).
fn read_head(path: &Path, limit: u64) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(limit)
        .read_to_end(&mut head)
        .ok()?;
    Some(head)
}

/// Looks `name` up on PATH, then in the sbin directories.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        // An empty PATH entry means the current directory: not a place to trust.
        .filter(|dir| dir.is_absolute())
        .chain(SBIN_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs a command that only reports (`--version`), and returns its trimmed
/// stdout, or `None` if it fails or takes longer than [`COMMAND_TIMEOUT`].
fn command_output(program: &Path, args: &[&str]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().ok()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    // A version line fits in the pipe's buffer, so reading after the exit
    // cannot have blocked the child.
    let mut stdout = String::new();
    child.stdout.take()?.read_to_string(&mut stdout).ok()?;
    status.success().then(|| stdout.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ubuntu 22.04, Fedora: one cgroup2 hierarchy.
    const V2: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw
35 25 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    /// CentOS 7 style: v1 only, systemd's name=systemd hierarchy included.
    const V1: &str = "\
30 1 8:2 / / rw,relatime shared:1 - xfs /dev/sda2 rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
33 31 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
34 31 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
35 31 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,pids
";

    /// This Debian VM: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified.
    const HYBRID: &str = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    fn layout(text: &str) -> CgroupLayout {
        layout_of(&parse_mountinfo(text))
    }

    #[test]
    fn cgroup_layouts() {
        assert_eq!(layout(V2), CgroupLayout::V2);
        assert_eq!(layout(V1), CgroupLayout::V1);
        assert_eq!(layout(HYBRID), CgroupLayout::Hybrid);
        assert_eq!(
            layout("30 1 8:2 / / rw - ext4 /dev/sda2 rw\n"),
            CgroupLayout::None
        );
    }

    #[test]
    fn a_name_only_v1_mount_does_not_make_v2_hybrid() {
        let systemd = "40 35 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
        assert_eq!(layout(&format!("{V2}{systemd}")), CgroupLayout::V2);
    }

    #[test]
    fn v1_controllers_come_from_the_super_options() {
        let names: Vec<&str> = v1_controllers("rw,cpu,cpuacct").collect();
        assert_eq!(names, ["cpu", "cpuacct"]);
        assert_eq!(v1_controllers("rw,xattr,name=systemd").count(), 0);
        assert_eq!(controller_name("memory (v1)"), "memory");
    }

    #[test]
    fn mountinfo_fields() {
        let mounts = parse_mountinfo(V1);
        assert_eq!(mounts.len(), 6);
        let cpu = &mounts[3];
        assert_eq!(cpu.mount_point, "/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(cpu.optional, ["shared:10"]);
        assert_eq!(cpu.fs_type, "cgroup");
        assert_eq!(cpu.super_options, "rw,cpu,cpuacct");
        assert!(parse_mountinfo("garbage\n1 2 3\n").is_empty());
    }

    #[test]
    fn root_propagation() {
        assert_eq!(root_is_shared(&parse_mountinfo(V2)), Some(true));
        assert_eq!(root_is_shared(&parse_mountinfo(HYBRID)), Some(false));
        assert_eq!(root_is_shared(&[]), None);
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(major_minor("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(
            major_minor("5.15.153.1-microsoft-standard-WSL2"),
            Some((5, 15))
        );
        assert_eq!(major_minor("4.19.0"), Some((4, 19)));
        assert!(major_minor("6.18.44-fc-v657").unwrap() >= MIN_KERNEL);
        assert!(major_minor("5.15.153.1-microsoft-standard-WSL2").unwrap() >= MIN_KERNEL);
        assert!(major_minor("4.19.0").unwrap() < MIN_KERNEL);
        // 5.10 is newer than 5.3: numbers, not strings.
        assert!(major_minor("5.10.0").unwrap() >= MIN_KERNEL);
        assert_eq!(major_minor("linux"), None);
    }

    #[test]
    fn wsl_detection() {
        assert_eq!(wsl_version("5.15.153.1-microsoft-standard-WSL2"), Some(2));
        assert_eq!(wsl_version("4.4.0-19041-Microsoft"), Some(1));
        assert_eq!(wsl_version("6.18.44-fc-v657"), None);
    }

    #[test]
    fn rust_versions() {
        assert_eq!(major_minor("1.85.0"), Some((1, 85)));
        assert_eq!(major_minor("1.90.0-nightly"), Some((1, 90)));
        assert!(major_minor("1.84.1").unwrap() < MIN_RUST);
    }

    #[test]
    fn effective_uid() {
        let status = "Name:\tcat\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(euid_from_status(status), Some(0));
        assert_eq!(euid_from_status("Name:\tcat\n"), None);
    }

    #[test]
    fn small_parsers() {
        assert!(has_filesystem(
            "nodev\tproc\nnodev\toverlay\n\text4\n",
            "overlay"
        ));
        assert!(!has_filesystem("nodev\tproc\n\text4\n", "overlay"));
        let cmdline = "quiet cgroup_disable=memory,pids -- cgroup_disable=cpu";
        assert_eq!(disabled_controllers(cmdline), ["memory", "pids"]);
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(pretty_name(os), Some("Debian GNU/Linux 12 (bookworm)"));
    }

    fn with(statuses: &[Status]) -> Vec<Item> {
        let item = |&status| Item::new("x", status, "", Vec::new());
        statuses.iter().map(item).collect()
    }

    #[test]
    fn summaries() {
        let all_set = "All set: start with `cargo xtask check 01`.";
        assert_eq!(summary(&with(&[Status::Ok])), all_set);
        assert!(summary(&with(&[Status::Ok, Status::Optional])).starts_with("All set (the !"));
        let two = with(&[Status::Missing { lab: 2 }, Status::Missing { lab: 2 }]);
        assert_eq!(
            summary(&two),
            "2 things to fix before lab 02; lab 01 works as is."
        );
        let spread = with(&[Status::Missing { lab: 11 }, Status::Missing { lab: 4 }]);
        assert_eq!(
            summary(&spread),
            "2 things to fix, the first before lab 04; labs 01–03 work as is."
        );
        let first = with(&[Status::Missing { lab: 1 }]);
        assert_eq!(summary(&first), "1 thing to fix before lab 01.");
    }
}
