//! A container's read/write layer: made, mounted, unmounted, removed.
//!
//! ```text
//! <root>/<id>/
//!     layer.json   the lowers (bottom-first) and options: enough to mount again
//!     upper/       every change the container makes
//!     work/        overlay's scratch space (empty between operations)
//!     merged/      the mount point: the container's root filesystem
//!     config.json  (lab 05's bundle, when the CLI runs a container here)
//! ```
//!
//! Each container gets **its own** upper and work directory: two
//! containers on one upper would see each other's files, and overlay
//! refuses (EBUSY) a work dir another mount uses. The lowers are shared by
//! every container of an image and must never change while mounted —
//! overlay's documentation calls changing them "undefined behaviour".
//!
//! The order of `create` is chosen so that a failure — or a SIGKILL — at
//! any point leaves something [`remove`] can take away: directories
//! first, then the mount, and `layer.json` last. `remove` needs neither
//! `layer.json` nor a mount to be there: it unmounts what mountinfo says
//! is mounted on `merged/`, and removes the directory only once nothing is.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MntFlags, umount2};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::many;
use crate::overlay::{self, Dirs, MOUNT_DATA_MAX};

pub const UPPER: &str = "upper";
pub const WORK: &str = "work";
pub const MERGED: &str = "merged";
pub const RECORD: &str = "layer.json";

/// The steps of [`create`], by name (for `--fail-at`).
pub const STEP_DIRS: &str = "make the upper, work and merged directories";
pub const STEP_MOUNT: &str = "mount the overlay";
pub const STEP_RECORD: &str = "record the layer";

/// Options of [`create`].
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Mount with `userxattr` (rootless: inside a user namespace).
    pub userxattr: bool,
    /// Mount with `volatile`: no sync of the upper, ever (see
    /// [`crate::overlay`]); for a layer removed when its container ends.
    pub volatile: bool,
    /// For the checks: fail this step on purpose.
    pub fail_at: Option<String>,
}

impl CreateOptions {
    fn fail(&self, step: &str) -> Result<(), Error> {
        match &self.fail_at {
            Some(at) if at == step => Err(Error::Injected { step: step.into() }),
            _ => Ok(()),
        }
    }
}

/// A container's read/write layer over its image's read-only layers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RwLayer {
    pub id: String,
    /// `<root>/<id>`, absolute.
    pub dir: PathBuf,
    /// The read-only layers, **bottom-first** (the base layer first).
    pub lowers: Vec<PathBuf>,
    pub userxattr: bool,
    /// Mounted with `volatile` (absent in a record: false).
    #[serde(default)]
    pub volatile: bool,
}

/// A layer id: a file name of letters, digits, `-`, `_`, `.`.
pub fn check_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::Id {
            id: id.into(),
            reason: "an id is 1 to 128 of A-Z a-z 0-9 - _ . (and not . or ..)".into(),
        })
    }
}

/// Make a container's read/write layer over `lowers` (bottom-first) in
/// `<root>/<id>` and mount it. On failure, nothing is left.
// ANCHOR: create
pub fn create(
    root: &Path,
    id: &str,
    lowers: &[PathBuf],
    opts: &CreateOptions,
) -> Result<RwLayer, Error> {
    check_id(id)?;
    let lowers = lowers
        .iter()
        .map(|lower| match fs::canonicalize(lower) {
            Ok(path) if path.is_dir() => Ok(path),
            Ok(_) => Err(Error::BadPath {
                path: lower.clone(),
                reason: "a lower layer must be a directory".into(),
            }),
            Err(e) => Err(Error::io("find the lower layer", lower)(e)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(Error::io("create the layer store", root))?;
    // Canonical, so that the mount point matches what mountinfo says.
    let root = fs::canonicalize(root).map_err(Error::io("find the layer store", root))?;
    let dir = root.join(id);
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::Id {
                id: id.into(),
                reason: "a layer with this id exists already".into(),
            });
        }
        Err(e) => return Err(Error::io("create the layer", &dir)(e)),
    }
    let layer = RwLayer {
        id: id.into(),
        dir,
        lowers,
        userxattr: opts.userxattr,
        volatile: opts.volatile,
    };
    match create_in(&layer, opts) {
        Ok(()) => Ok(layer),
        Err(err) => {
            let _ = remove(&root, id);
            Err(err)
        }
    }
}
// ANCHOR_END: create

// ANCHOR: create_in
fn create_in(layer: &RwLayer, opts: &CreateOptions) -> Result<(), Error> {
    make_and_mount(layer, opts)?;
    // Last: a layer with its record is a complete one.
    opts.fail(STEP_RECORD)?;
    layer.save()
}

/// The layer's own directories, then the overlay on `merged/`.
fn make_and_mount(layer: &RwLayer, opts: &CreateOptions) -> Result<(), Error> {
    // TASK 06.2: its own upper, work and merged directories, then the mount
    opts.fail(STEP_DIRS)?;
    for sub in [UPPER, WORK, MERGED] {
        let path = layer.dir.join(sub);
        // 0755: the root of an overlay always exists in the upper, so the
        // container's `/` shows the upper directory's owner and mode.
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&path)
            .map_err(Error::io("create", &path))?;
    }
    opts.fail(STEP_MOUNT)?;
    layer.mount()
    // END TASK 06.2
}
// ANCHOR_END: create_in

impl RwLayer {
    /// The layer `<root>/<id>`, as `create` recorded it.
    pub fn open(root: &Path, id: &str) -> Result<RwLayer, Error> {
        check_id(id)?;
        let path = root.join(id).join(RECORD);
        let text = fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Id {
                id: id.into(),
                reason: format!("no such layer in {}", root.display()),
            },
            _ => Error::io("read", &path)(e),
        })?;
        serde_json::from_str(&text).map_err(|e| Error::Io {
            what: "parse",
            path,
            source: e.into(),
        })
    }

    fn save(&self) -> Result<(), Error> {
        let path = self.dir.join(RECORD);
        let temporary = self.dir.join(".layer.json.tmp");
        let text = serde_json::to_vec_pretty(self).expect("a layer always serializes");
        fs::write(&temporary, text).map_err(Error::io("write", &temporary))?;
        fs::rename(&temporary, &path).map_err(Error::io("rename into place", &path))
    }

    /// The merged mount point: the container's root filesystem.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join(MERGED)
    }

    /// The read/write layer's directory: what [`crate::diff::diff`] reads.
    pub fn upper(&self) -> PathBuf {
        self.dir.join(UPPER)
    }

    /// The directory for a lab-05 bundle whose `root.path` is `merged`.
    pub fn bundle_dir(&self) -> &Path {
        &self.dir
    }

    /// The directories of its overlay.
    pub fn dirs(&self) -> (PathBuf, PathBuf) {
        (self.dir.join(UPPER), self.dir.join(WORK))
    }

    /// Whether an overlay is mounted on `merged/` now.
    pub fn is_mounted(&self) -> bool {
        is_mount_point(&self.rootfs())
    }

    /// Mount the overlay on `merged/` (nothing to do if it is mounted):
    /// with `mount(2)` when the options fit in a page, the new mount API
    /// otherwise.
    // ANCHOR: mount
    pub fn mount(&self) -> Result<(), Error> {
        if self.is_mounted() {
            return Ok(());
        }
        let (upper, work) = self.dirs();
        let dirs = Dirs {
            lowers: &self.lowers,
            upper: &upper,
            work: &work,
            userxattr: self.userxattr,
            volatile: self.volatile,
        };
        let target = self.rootfs();
        if overlay::mount_data(&dirs)?.len() <= MOUNT_DATA_MAX {
            overlay::mount_legacy(&dirs, &target)
        } else {
            many::mount_many(&dirs, &target)
        }
    }
    // ANCHOR_END: mount

    /// Unmount `merged/`; the upper stays (a stopped container keeps its changes).
    pub fn unmount(&self) -> Result<(), Error> {
        unmount_all(&self.rootfs())
    }
}

/// Unmount everything mounted on `target` (mounts can be stacked).
fn unmount_all(target: &Path) -> Result<(), Error> {
    while is_mount_point(target) {
        match umount2(target, MntFlags::empty()) {
            Ok(()) => {}
            // Raced with someone else's unmount: look again.
            Err(Errno::EINVAL) => {}
            Err(Errno::EBUSY) => {
                return Err(Error::Sys {
                    what: "unmount (a process has its root, current directory or a file in it)",
                    path: target.to_path_buf(),
                    errno: Errno::EBUSY,
                });
            }
            Err(errno) => return Err(Error::sys("unmount", target)(errno)),
        }
    }
    Ok(())
}

/// Remove the layer `<root>/<id>`: unmount it, then remove its directory
/// (upper, work, merged). The lowers are not touched. Works on a layer
/// that `create` left half-made (killed), with or without `layer.json`.
// ANCHOR: remove
pub fn remove(root: &Path, id: &str) -> Result<(), Error> {
    check_id(id)?;
    let dir = root.join(id);
    if !dir.is_dir() {
        return Err(Error::Id {
            id: id.into(),
            reason: format!("no such layer in {}", root.display()),
        });
    }
    // TASK 06.2: unmount merged/ first, never recurse into a mount; then remove the directory
    let merged = dir.join(MERGED);
    unmount_all(&merged)?;
    // remove_dir_all would go into a mount: through an overlay it would
    // delete what the container sees (as whiteouts), through a bind mount
    // the files themselves. Make sure nothing is mounted.
    if is_mount_point(&merged) {
        return Err(Error::BadPath {
            path: merged,
            reason: "still mounted; not removing the layer".into(),
        });
    }
    fs::remove_dir_all(&dir).map_err(Error::io("remove the layer", &dir))
    // END TASK 06.2
}
// ANCHOR_END: remove

/// Whether `path` is a mount point in this mount namespace
/// (`/proc/self/mountinfo`'s fifth field; `\040`-style escapes decoded).
pub fn is_mount_point(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = path.as_os_str().as_encoded_bytes();
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .any(|field| unescape(field) == wanted)
}

fn unescape(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let n = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(n);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
