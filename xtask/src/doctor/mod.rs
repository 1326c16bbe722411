//! `cargo xtask doctor`: what this host supports, and how to fix what it lacks.
//!
//! The labs lean on kernel features (namespaces, overlayfs, cgroups) and on
//! a few host tools. When one is missing, the failure shows up deep inside a
//! lab as an `EINVAL` or `ENOENT` that says nothing about its cause. The
//! doctor looks before you start: it reads procfs and sysfs, looks programs
//! up on PATH, and for each missing piece prints the command that installs
//! or enables it on Debian/Ubuntu and on Fedora.
//!
//! It changes nothing on the host: it reads files and runs `rustc
//! --version` and `cargo metadata`, nothing else (it looks for the VM's
//! kernel under target/vm/ but never fetches it).
//!
//! Which lab needs what is never written here: it comes from each lab's
//! `[package.metadata.dockyard]` (`needs-root`, `needs = [...]`, see
//! `needs`), and the Rust version from the workspace's `rust-version`.
//!
//! One module per area. Most checks are split in two: a function that
//! reads the system, and a pure parser that takes the file's text, so the
//! tests can feed it the text of other hosts.

mod cgroups;
mod detect;
mod filesystems;
mod kernel;
mod needs;
mod privileges;
mod report;
mod sys;
mod tools;

use std::io::IsTerminal;

use anyhow::Result;

use needs::Needs;

/// Prints the report. `Ok(true)` when nothing any lab needs is missing.
pub fn run() -> Result<bool> {
    let needs = Needs::load();
    let items = [
        kernel::kernel(&needs),
        privileges::privileges(&needs),
        kernel::user_namespaces(),
        filesystems::mounts(&needs),
        filesystems::overlayfs(&needs),
        filesystems::rootless_overlay(),
        cgroups::cgroups(&needs),
        tools::iproute2(&needs),
        tools::nat(&needs),
        tools::busybox(),
        tools::rust(&needs),
        tools::qemu(),
        tools::vm_kernel(),
    ];
    let bold = std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    report::print(&mut out, &items, &needs, bold)?;
    Ok(!items.iter().any(|item| item.status.blocks()))
}
