//! Overlay's mount data: which directories, in which order.
//!
//! An overlay mount is described by its options, one string:
//!
//! ```text
//! lowerdir=/layers/3:/layers/2:/layers/1,upperdir=/c/upper,workdir=/c/work
//!          └─ top ─┘           └ bottom ┘
//! ```
//!
//! - `lowerdir` lists the read-only layers **top first**: a name found in
//!   an earlier one hides the same name in a later one. An image's
//!   manifest (and Docker's `RootFS.Layers`) lists them the other way,
//!   base layer first, so the list is reversed here — once, in one place.
//! - `upperdir` takes every write; `workdir` is overlay's scratch space for
//!   making a copy-up or a whiteout appear at once (it prepares the file
//!   there, then renames it into the upper). Both must be on the same
//!   filesystem, and the work dir must be empty and used by one mount only:
//!   each container has its own pair.
//! - `userxattr` makes overlay keep its own metadata (opaque directories)
//!   in `user.overlay.*` xattrs instead of `trusted.overlay.*`, which only
//!   a process with `CAP_SYS_ADMIN` in the *initial* user namespace can
//!   write: it is what lets an overlay mounted inside a user namespace
//!   (rootless, Linux 5.11+) record opaque directories.
//! - `volatile` (Linux 5.10+) skips every sync of the upper: `fsync` in the
//!   container returns at once, and so does the unmount, which otherwise
//!   syncs the *whole filesystem* the upper lives on — hundreds of
//!   milliseconds on a busy disk. The price: after a crash the upper may
//!   have lost writes, and overlay refuses to mount it again (it leaves
//!   `work/work/incompat/volatile` as the mark). Right for a container
//!   whose layer is removed when it ends (`docker run --rm`), wrong for one
//!   whose changes are kept.
//!
//! The string is parsed by splitting on `,` and (in `lowerdir`) on `:`, so
//! a path holding either cannot be passed as is; it is refused here with a
//! clear error rather than escaped, because the rules for `\` escapes
//! changed between kernels. And `mount(2)` copies its data into **one
//! page** (4096 bytes on x86-64): with long paths a few dozen layers fill
//! it. [`crate::many`] is the way past that.

use std::path::{Path, PathBuf};

use nix::mount::{MsFlags, mount};

use crate::error::Error;

/// The most mount data `mount(2)` takes: one page, with its final NUL.
pub const MOUNT_DATA_MAX: usize = 4095;

/// The directories of one overlay mount.
#[derive(Debug, Clone, Copy)]
pub struct Dirs<'a> {
    /// The read-only layers, **bottom-first** (the base layer first).
    pub lowers: &'a [PathBuf],
    pub upper: &'a Path,
    pub work: &'a Path,
    /// Overlay's metadata in `user.overlay.*` xattrs (rootless).
    pub userxattr: bool,
    /// Never sync the upper (`volatile`): for a layer thrown away after use.
    pub volatile: bool,
}

/// A path as overlay's options can carry it: absolute, UTF-8, and
/// without the characters the option parser splits on.
pub fn option_path(path: &Path) -> Result<&str, Error> {
    let bad = |reason: &str| Error::BadPath {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let text = path
        .to_str()
        .ok_or_else(|| bad("not UTF-8: overlay's options are text"))?;
    if !path.is_absolute() {
        return Err(bad("not absolute"));
    }
    if let Some(c) = text.chars().find(|c| matches!(c, ',' | ':' | '\\' | '\n')) {
        return Err(bad(&format!(
            "holds {c:?}, which overlay's option parser splits on"
        )));
    }
    Ok(text)
}

/// The options string of an overlay over `dirs`.
// ANCHOR: mount_data
pub fn mount_data(dirs: &Dirs) -> Result<String, Error> {
    // TASK 06.1: lowerdir= top-first (the list is bottom-first), upperdir=, workdir=, flags
    if dirs.lowers.is_empty() {
        return Err(Error::BadPath {
            path: dirs.upper.to_path_buf(),
            reason: "an overlay needs at least one lower layer".into(),
        });
    }
    // Overlay reads lowerdir left to right as top to bottom: reverse.
    let lowers = dirs
        .lowers
        .iter()
        .rev()
        .map(|lower| option_path(lower))
        .collect::<Result<Vec<_>, _>>()?;
    let mut data = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        option_path(dirs.upper)?,
        option_path(dirs.work)?
    );
    if dirs.userxattr {
        data.push_str(",userxattr");
    }
    if dirs.volatile {
        data.push_str(",volatile");
    }
    Ok(data)
    // END TASK 06.1
}
// ANCHOR_END: mount_data

/// Mount an overlay of `dirs` on `target` with `mount(2)`; the data must
/// fit in a page.
// ANCHOR: mount_legacy
pub fn mount_legacy(dirs: &Dirs, target: &Path) -> Result<(), Error> {
    let data = mount_data(dirs)?;
    if data.len() > MOUNT_DATA_MAX {
        return Err(Error::BadPath {
            path: target.to_path_buf(),
            reason: format!(
                "{} layers make {} bytes of mount data, more than mount(2) takes ({MOUNT_DATA_MAX})",
                dirs.lowers.len(),
                data.len()
            ),
        });
    }
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|errno| Error::Mount {
        target: target.to_path_buf(),
        errno,
        detail: " (the kernel's log, `dmesg | grep overlay`, says why)".into(),
    })
}
// ANCHOR_END: mount_legacy
