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

// ANCHOR: resolve
/// Where `path` (absolute, as seen inside the container) is on the host,
/// following symlinks as if `root` were `/`. `None` if it does not exist.
pub fn resolve_in_root(root: &Path, path: &Path) -> Option<PathBuf> {
    // TASK 03.1: walk the path; absolute links restart at root, '..' stops at root
    let mut at = PathBuf::new(); // where the walk is, relative to root
    let mut pending = components(path); // a stack: the next part is last
    pending.reverse();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        match part.to_str() {
            Some("/") => at.clear(),
            Some("..") => {
                at.pop(); // at the top, `..` stays there
            }
            _ => {
                let next = at.join(&part);
                let host = root.join(&next);
                let meta = fs::symlink_metadata(&host).ok()?;
                if meta.is_symlink() {
                    links += 1;
                    if links > MAX_LINKS {
                        return None;
                    }
                    // A relative target is relative to the link's directory,
                    // which is `at`; an absolute one starts with "/".
                    let target = fs::read_link(&host).ok()?;
                    pending.extend(components(&target).into_iter().rev());
                } else if meta.is_dir() || pending.is_empty() {
                    at = next;
                } else {
                    return None; // a file, with more to walk: not a directory
                }
            }
        }
    }
    Some(root.join(at))
    // END TASK 03.1
}
// ANCHOR_END: resolve

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
