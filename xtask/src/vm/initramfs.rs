//! The guest's initramfs: busybox, the two stage scripts and the kernel
//! modules stage 1 loads. It is the same for every run (what changes —
//! the test binaries, the plan — comes over 9p), and cheap to write, so it
//! is written afresh each time into `target/vm/initramfs.cpio`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::cpio::Archive;
use super::kernel::{self, Kernel};

const INIT: &str = include_str!("init.sh");
const STAGE2: &str = include_str!("stage2.sh");

/// Write the initramfs for `kernel` at `out`.
pub fn write(kernel: &Kernel, busybox: &Path, out: &Path) -> Result<()> {
    let mut a = Archive::default();
    for dir in ["bin", "dev", "proc", "sys", "modules"] {
        a.dir(dir);
    }
    // The kernel opens /dev/console for init's stdin/out/err before any
    // devtmpfs exists.
    a.char_dev("dev/console", 0o600, 5, 1);
    a.file("init", 0o755, INIT.as_bytes());
    a.file("stage2", 0o755, STAGE2.as_bytes());
    let bb = fs::read(busybox).with_context(|| format!("reading {}", busybox.display()))?;
    a.file("bin/busybox", 0o755, &bb);
    a.symlink("bin/sh", "busybox");

    let dep = fs::read_to_string(kernel.modules.join("modules.dep"))?;
    let builtin = fs::read_to_string(kernel.modules.join("modules.builtin")).unwrap_or_default();
    let mut order = String::new();
    for (i, rel) in kernel::load_order(&dep, &builtin, &kernel::MODULES)?
        .iter()
        .enumerate()
    {
        // Numbered, so that two modules of the same name in different
        // directories cannot collide.
        let name = format!("{i:02}-{}.ko", module_stem(rel));
        a.file(
            &format!("modules/{name}"),
            0o644,
            &module_bytes(&kernel.modules.join(rel))?,
        );
        order.push_str(&name);
        order.push('\n');
    }
    a.file("modules/order", 0o644, order.as_bytes());
    fs::write(out, a.finish()).with_context(|| format!("writing {}", out.display()))
}

fn module_stem(rel: &str) -> String {
    let file = rel.rsplit('/').next().unwrap_or(rel);
    file.split(".ko").next().unwrap_or(file).to_owned()
}

/// A module's ELF bytes. Newer Debian kernels ship `.ko.xz`/`.ko.zst`;
/// busybox's `insmod` may not decompress, so the host does.
fn module_bytes(path: &Path) -> Result<Vec<u8>> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".ko") {
        return fs::read(path).with_context(|| format!("reading {name}"));
    } else if name.ends_with(".xz") {
        "xz"
    } else if name.ends_with(".zst") {
        "zstd"
    } else if name.ends_with(".gz") {
        "gzip"
    } else {
        bail!("{name}: not a kernel module");
    };
    let out = Command::new(tool)
        .args(["-d", "-c"])
        .arg(path)
        .output()
        .with_context(|| format!("running {tool} to decompress {name}"))?;
    if !out.status.success() {
        bail!("{tool} -d {name} failed");
    }
    Ok(out.stdout)
}

/// Where the initramfs is written.
pub fn path(target: &Path) -> PathBuf {
    target.join("vm/initramfs.cpio")
}
