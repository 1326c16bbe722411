//! Paths inside a root filesystem.
//!
//! Before anything is created, the parent checks that the program exists
//! *in the rootfs*. The naive `rootfs.join("/bin/sh").exists()` is wrong:
//! in the rootfs `/bin/sh` may be a symlink to `/bin/busybox`, and the host
//! resolves that absolute link against the *host's* `/`. Inside the
//! container it will resolve against the rootfs. So we walk the path one
//! component at a time, as the kernel will after `pivot_root`: an absolute
//! symlink restarts from the rootfs, and `..` never climbs above it.

use std::ffi::OsStr;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// The kernel's limit on symlinks followed in one lookup (`ELOOP`).
const MAX_LINKS: usize = 40;

/// Where `path` (absolute, as seen inside the container) is on the host,
/// following symlinks as if `root` were `/`. `None` if it does not exist.
pub fn resolve_in_root(root: &Path, path: &Path) -> Option<PathBuf> {
    // TASK 03.1: walk the path; absolute links restart at root, '..' stops at root
    todo!("03.1: walk the path; absolute links restart at root, '..' stops at root")
    // END TASK 03.1
}

/// A path's parts: `/` for a leading root, then names and `..` (`.` dropped).
fn components(path: &Path) -> Vec<PathBuf> {
    path.components()
        .filter_map(|c| match c {
            Component::RootDir => Some(PathBuf::from("/")),
            Component::ParentDir => Some(PathBuf::from("..")),
            Component::Normal(name) => Some(PathBuf::from(name)),
            Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// Find `program` in the rootfs as exec will inside it: as is if it holds a
/// `/`, else in each directory of `path` (a `PATH` value).
pub fn find_program(root: &Path, program: &OsStr, path: &OsStr) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let program = Path::new(program);
    if program.as_os_str().as_bytes().contains(&b'/') {
        return resolve_in_root(root, &Path::new("/").join(program)).filter(|p| p.is_file());
    }
    path.as_bytes()
        .split(|b| *b == b':')
        .filter(|dir| !dir.is_empty())
        .filter_map(|dir| {
            resolve_in_root(
                root,
                &Path::new("/").join(OsStr::from_bytes(dir)).join(program),
            )
        })
        .find(|p| p.is_file())
}
