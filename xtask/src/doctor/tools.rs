//! Host tools: iproute2 and nft/iptables for networks, a static busybox for
//! a shell in test root filesystems, the Rust toolchain, and qemu with a
//! guest kernel for the cgroup-v2 VM (`cargo xtask vm`).

use std::path::{Path, PathBuf};

use super::needs::Needs;
use super::report::{Item, fix, install};
use super::sys::{command_output, find_program, is_executable, major_minor, read_head};

/// The oldest Rust the workspace builds with: its `rust-version`, which
/// Cargo hands to xtask's build (xtask inherits it from the workspace).
const MIN_RUST: &str = env!("CARGO_PKG_RUST_VERSION");

pub fn iproute2(needs: &Needs) -> Item {
    match find_program("ip") {
        Some(ip) => Item::ok("iproute2", ip.display().to_string()),
        None => {
            let hints = install("sudo apt-get install iproute2", "sudo dnf install iproute");
            let needed = needs.first("iproute2", "container networks");
            Item::missing("iproute2", needed, "no `ip` command", hints)
        }
    }
}

/// NAT and published ports work with either tool.
pub fn nat(needs: &Needs) -> Item {
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
    let needed = needs.first("nftables", "NAT and published ports");
    Item::missing("nft/iptables", needed, "neither nft nor iptables", hints)
}

/// A container's root filesystem has no shared libraries, so the shell
/// copied into it must be a static busybox: a dynamic one fails to exec
/// there with a puzzling "No such file or directory" (its loader is missing).
pub fn busybox() -> Item {
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
    let mut hints = vec![
        "the checks' root filesystems get a shell from it; the probe alone works without it".into(),
    ];
    hints.extend(install(
        "sudo apt-get install busybox-static",
        "sudo dnf install busybox",
    ));
    Item::optional("busybox", found, hints)
}

/// qemu for `cargo xtask vm` (a lab's checks on a pure cgroup-v2 kernel;
/// `verify` runs it for labs with `vm = true`). TCG is enough: no KVM.
pub fn qemu() -> Item {
    match crate::vm::qemu() {
        Some(path) => Item::ok("qemu", format!("{} (for `cargo xtask vm`)", path.display())),
        None => {
            let mut hints =
                vec!["only `cargo xtask vm` needs it (checks on a pure cgroup-v2 kernel)".into()];
            hints.extend(install(
                "sudo apt-get install --no-install-recommends qemu-system-x86",
                "sudo dnf install qemu-system-x86-core",
            ));
            Item::optional("qemu", "no qemu-system-x86_64", hints)
        }
    }
}

/// The VM's kernel: Debian's linux-image-amd64, unpacked under target/vm/.
pub fn vm_kernel() -> Item {
    match crate::vm::kernel_found(&crate::labs::root()) {
        Some(k) => Item::ok("vm kernel", format!("{} in target/vm/kernel", k.release)),
        None => Item::optional(
            "vm kernel",
            "none in target/vm/kernel",
            vec![
                "only `cargo xtask vm` needs it (`CI=true` fetches it by itself)".into(),
                fix("cargo xtask vm kernel"),
            ],
        ),
    }
}

pub fn rust(needs: &Needs) -> Item {
    let Some(version) = rustc_version() else {
        let hints = vec!["install Rust with rustup: https://rustup.rs".to_owned()];
        return Item::missing("rust", needs.always(), "no rustc found", hints);
    };
    // "rustc 1.85.0 (4d91de4e4 2025-02-17)" → "rustc 1.85.0"
    let short: String = version
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let number = short.strip_prefix("rustc ").unwrap_or(&short);
    let wanted = major_minor(MIN_RUST).expect("rust-version is a version");
    if major_minor(number).is_some_and(|found| found >= wanted) {
        return Item::ok("rust", short);
    }
    let hints = vec![
        fix("rustup update stable"),
        "(distribution rustc packages are often older: get rustup from https://rustup.rs)".into(),
    ];
    Item::missing(
        "rust",
        needs.always(),
        format!("{short}: the workspace needs ≥ {MIN_RUST}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rust_version_is_the_workspaces() {
        // From the root Cargo.toml's `[workspace.package] rust-version`.
        assert!(
            major_minor(MIN_RUST).is_some_and(|v| v >= (1, 85)),
            "{MIN_RUST}"
        );
    }
}
