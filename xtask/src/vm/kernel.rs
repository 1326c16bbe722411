//! The guest's kernel: Debian's `linux-image-amd64`, downloaded and
//! unpacked under `target/vm/kernel/`, never installed.
//!
//! Why a distribution kernel rather than the host's: the host may be
//! anything (this project's machines run a custom kernel with no modules
//! on disk), and what the VM tier must prove is the path most learners
//! take — a stock kernel on a pure cgroup-v2 host. Debian's package is a
//! plain `.deb`: `apt-get download` fetches it without root, `dpkg-deb -x`
//! unpacks it, and `depmod -b` writes the `modules.dep` that its own
//! maintainer scripts (which never ran) would have written.
//!
//! Which modules the guest loads, and in what order, is computed here from
//! `modules.dep`, so a missing module is an error on the host that names
//! it, not a silent `insmod` failure in the guest.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::program;

/// The metapackage that always depends on the current kernel image.
const METAPACKAGE: &str = "linux-image-amd64";

/// The modules the guest loads, in this order, each after its own
/// dependencies. `virtio_pci` comes first: the 9p transport binds to a
/// virtio PCI device, which exists only once the PCI driver is loaded.
/// `overlay` and `veth` are what container labs mount and create; `brd`
/// (a RAM disk) and `ext4` hold the guest's `/tmp` (see `stage2.sh`);
/// ext4 asks the crypto API for `crc32c` (not in `modules.dep`: it is
/// looked up by name), which `crc32c_generic` provides; `loop` gives the
/// guest block devices it can open (brd's RAM disk is its /tmp), which
/// lab 05's device-cgroup checks make nodes of.
pub const MODULES: [&str; 9] = [
    "virtio_pci",
    "9pnet_virtio",
    "9p",
    "overlay",
    "veth",
    "brd",
    "crc32c_generic",
    "ext4",
    "loop",
];

/// An unpacked kernel with its modules.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// `6.1.0-56-amd64`
    pub release: String,
    pub vmlinuz: PathBuf,
    /// `…/lib/modules/<release>`
    pub modules: PathBuf,
}

/// Where kernels are kept: `target/vm/kernel/`.
pub fn dir(target: &Path) -> PathBuf {
    target.join("vm/kernel")
}

/// The unpacked kernel in `target/vm/kernel/tree`, if it is complete (its
/// `modules.dep` is written last, so a half-done unpack is not found).
pub fn find(target: &Path) -> Option<Kernel> {
    let tree = dir(target).join("tree");
    let mut found: Vec<Kernel> = fs::read_dir(tree.join("boot"))
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let release = name.strip_prefix("vmlinuz-")?.to_owned();
            let modules = tree.join("lib/modules").join(&release);
            modules.join("modules.dep").is_file().then(|| Kernel {
                vmlinuz: tree.join("boot").join(&name),
                modules,
                release,
            })
        })
        .collect();
    found.sort_by(|a, b| a.release.cmp(&b.release));
    found.pop()
}

/// How to get the kernel, for messages.
pub fn how_to_get() -> String {
    format!(
        "`cargo xtask vm kernel` downloads Debian's {METAPACKAGE} (~70 MB, with `apt-get download`, \
         no root needed) and unpacks it into target/vm/kernel/. It needs apt-get, dpkg-deb and depmod \
         (Debian/Ubuntu: `sudo apt-get install kmod`; if apt says the package is unknown, \
         `sudo apt-get update`). On another distribution, put a linux-image-*-amd64 .deb from \
         https://packages.debian.org/stable/{METAPACKAGE} into target/vm/download/ and run the same command."
    )
}

/// Download (unless a `.deb` is already in `target/vm/download/`), unpack
/// and `depmod` the kernel; returns it.
pub fn fetch(target: &Path) -> Result<Kernel> {
    let download = target.join("vm/download");
    fs::create_dir_all(&download)?;
    let deb = match existing_deb(&download)? {
        Some(deb) => deb,
        None => {
            let package = image_package()?;
            println!("vm: downloading {package} into {}", download.display());
            let mut apt = Command::new(need("apt-get")?);
            if shared::privileges::is_root() {
                // As root, apt downloads as the `_apt` user, who cannot
                // write into a root-owned target/: download as root.
                apt.args(["-o", "APT::Sandbox::User=root"]);
            }
            let status = apt
                .args(["download", &package])
                .current_dir(&download)
                .stdin(Stdio::null())
                .status()
                .context("running apt-get download")?;
            if !status.success() {
                bail!(
                    "`apt-get download {package}` failed ({status}); if apt does not know it, \
                     run `sudo apt-get update` first"
                );
            }
            existing_deb(&download)?.context("apt-get download left no .deb")?
        }
    };
    let kernels = dir(target);
    let tree = kernels.join("tree");
    let partial = kernels.join("tree.partial");
    for old in [&tree, &partial] {
        if old.exists() {
            fs::remove_dir_all(old).with_context(|| format!("removing {}", old.display()))?;
        }
    }
    fs::create_dir_all(&partial)?;
    println!("vm: unpacking {}", deb.display());
    run(Command::new(need("dpkg-deb")?)
        .arg("-x")
        .arg(&deb)
        .arg(&partial))?;
    let release = fs::read_dir(partial.join("lib/modules"))
        .context("the package holds no lib/modules/")?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .next()
        .context("the package holds no lib/modules/<release>/")?;
    // The package's postinst would have run depmod; it never ran.
    run(depmod()?.arg("-b").arg(&partial).arg(&release))?;
    fs::rename(&partial, &tree)?;
    // The unpacked tree is the cache; the .deb is no longer needed.
    let _ = fs::remove_file(&deb);
    find(target).context("the unpacked package holds no boot/vmlinuz-*")
}

/// The kernel image package the metapackage depends on today, e.g.
/// `linux-image-6.1.0-56-amd64` (`apt-get download` of the metapackage
/// would fetch only the metapackage).
fn image_package() -> Result<String> {
    let out = Command::new(need("apt-cache")?)
        .args(["depends", METAPACKAGE])
        .stdin(Stdio::null())
        .output()
        .context("running apt-cache")?;
    let text = String::from_utf8_lossy(&out.stdout);
    depends_on_image(&text).with_context(|| {
        format!(
            "apt knows no {METAPACKAGE} (run `sudo apt-get update`, or see below)\n{}",
            how_to_get()
        )
    })
}

/// The `Depends: linux-image-…` line of `apt-cache depends`.
fn depends_on_image(apt_cache: &str) -> Option<String> {
    apt_cache.lines().find_map(|l| {
        let pkg = l.trim().strip_prefix("Depends:")?.trim();
        (pkg.starts_with("linux-image-") && !pkg.contains('<')).then(|| pkg.to_owned())
    })
}

fn existing_deb(dir: &Path) -> Result<Option<PathBuf>> {
    let mut debs: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("linux-image-") && n.ends_with(".deb"))
        })
        .collect();
    debs.sort();
    Ok(debs.pop())
}

/// kmod's depmod, or busybox's (which takes the same `-b BASE VERSION`).
fn depmod() -> Result<Command> {
    if let Some(depmod) = program("depmod") {
        return Ok(Command::new(depmod));
    }
    match program("busybox") {
        Some(bb) => {
            let mut cmd = Command::new(bb);
            cmd.arg("depmod");
            Ok(cmd)
        }
        None => bail!("no depmod: install kmod (Debian/Ubuntu: `sudo apt-get install kmod`)"),
    }
}

fn need(name: &str) -> Result<PathBuf> {
    program(name).with_context(|| format!("no `{name}` on this host.\n{}", how_to_get()))
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(())
}

/// The module files (relative to the modules dir) to load for `wanted`,
/// in an order where each comes after its dependencies. A module built
/// into the kernel (`modules.builtin`) needs no file.
pub fn load_order(modules_dep: &str, builtin: &str, wanted: &[&str]) -> Result<Vec<String>> {
    // `kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko`:
    // every line lists the whole closure of a module's dependencies.
    let deps: Vec<(String, Vec<String>)> = modules_dep
        .lines()
        .filter_map(|l| {
            let (file, deps) = l.split_once(':')?;
            Some((
                file.trim().to_owned(),
                deps.split_whitespace().map(str::to_owned).collect(),
            ))
        })
        .collect();
    let builtin: BTreeSet<String> = builtin.lines().map(module_name).collect();
    let mut order: Vec<String> = Vec::new();
    for want in wanted {
        let want = want.replace('-', "_");
        if builtin.contains(&want) {
            continue;
        }
        let Some((file, needs)) = deps.iter().find(|(f, _)| module_name(f) == want) else {
            bail!("the guest kernel has no module {want} (neither built in nor in modules.dep)");
        };
        // The closure is listed users-first: load it from the end.
        for f in needs.iter().rev().chain(std::iter::once(file)) {
            if !order.contains(f) {
                order.push(f.clone());
            }
        }
    }
    Ok(order)
}

/// `kernel/net/9p/9pnet-virtio.ko.xz` → `9pnet_virtio`.
fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.split(".ko").next().unwrap_or(file);
    stem.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_come_after_their_dependencies() {
        let dep = "kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\n\
                   kernel/net/9p/9pnet.ko:\n\
                   kernel/fs/netfs/netfs.ko:\n\
                   kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n\
                   kernel/net/9p/9pnet_virtio.ko: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n";
        let builtin = "kernel/fs/overlayfs/overlay.ko\n";
        let order = load_order(
            dep,
            builtin,
            &["virtio_pci", "9pnet_virtio", "9p", "overlay"],
        )
        .unwrap();
        assert_eq!(
            order,
            [
                "kernel/drivers/virtio/virtio.ko",
                "kernel/drivers/virtio/virtio_ring.ko",
                "kernel/drivers/virtio/virtio_pci.ko",
                "kernel/net/9p/9pnet.ko",
                "kernel/net/9p/9pnet_virtio.ko",
                "kernel/fs/netfs/netfs.ko",
                "kernel/fs/9p/9p.ko",
            ]
        );
        let err = load_order(dep, builtin, &["veth"]).unwrap_err();
        assert!(err.to_string().contains("no module veth"), "{err}");
    }

    #[test]
    fn the_image_package_is_read_from_apt_cache() {
        let text = "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n";
        assert_eq!(
            depends_on_image(text).as_deref(),
            Some("linux-image-6.1.0-56-amd64")
        );
        assert_eq!(depends_on_image("linux-image-amd64\n"), None);
        assert_eq!(
            module_name("kernel/net/9p/9pnet-virtio.ko.xz"),
            "9pnet_virtio"
        );
    }
}
