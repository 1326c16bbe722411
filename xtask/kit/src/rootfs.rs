//! A minimal root filesystem for checks and for `cargo xtask demo`.
//!
//! Learners need no image download: the rootfs is made from the static
//! probe (as `/probe`) plus, when the host has a static busybox (Debian's
//! `busybox-static`), `/bin/busybox` and links for a shell and the usual
//! tools. Everything is copied, so the rootfs has nothing of the host's.

use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

/// The busybox applets linked into `/bin`.
const APPLETS: [&str; 24] = [
    "sh", "ls", "cat", "echo", "ps", "mount", "hostname", "id", "env", "sleep", "mkdir", "rm",
    "touch", "grep", "true", "false", "head", "tail", "wc", "sed", "ln", "cp", "uname", "ip",
];

/// A minimal root filesystem in a directory.
#[derive(Debug)]
pub struct Rootfs {
    path: PathBuf,
    busybox: bool,
}

impl Rootfs {
    /// Make `dir` a minimal rootfs holding `probe` as `/probe`.
    pub fn create(dir: &Path, probe: &Path) -> io::Result<Rootfs> {
        for sub in ["bin", "dev", "etc", "proc", "root", "sys", "tmp"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777))?;
        fs::copy(probe, dir.join("probe"))?;
        fs::write(
            dir.join("etc/hosts"),
            "127.0.0.1 localhost\n::1 localhost\n",
        )?;
        fs::write(
            dir.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        )?;
        fs::write(dir.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
        let busybox = static_busybox();
        if let Some(bb) = &busybox {
            fs::copy(bb, dir.join("bin/busybox"))?;
            for applet in APPLETS {
                symlink("busybox", dir.join("bin").join(applet))?;
            }
        }
        Ok(Rootfs {
            path: dir.to_path_buf(),
            busybox: busybox.is_some(),
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `/bin/sh` and the busybox tools are there.
    pub fn has_busybox(&self) -> bool {
        self.busybox
    }
}

/// A statically linked busybox on this host, if any.
pub fn static_busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| fs::read(p).is_ok_and(|elf| crate::elf::is_static(&elf)))
}
