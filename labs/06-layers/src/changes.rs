//! What an upper directory holds, and what each entry means.
//!
//! Overlay records a container's changes in its upper directory with
//! three kinds of entries:
//!
//! ```text
//!  lower:  /etc/motd   /etc/hosts   /srv/a  /srv/b
//!  in the container:  echo hi >> /etc/hosts;  rm /etc/motd;
//!                     rm -r /srv; mkdir /srv; touch /srv/c
//!  upper:  /etc/              a directory (made to hold what follows; not opaque)
//!          /etc/hosts         a copy-up: the whole file, copied then changed
//!          /etc/motd          a WHITEOUT: a character device 0/0 — "deleted"
//!          /srv/              OPAQUE (xattr overlay.opaque = "y"): the lowers'
//!          /srv/c                /srv is hidden, only the upper's content counts
//!  merged: /etc/hosts (changed), no /etc/motd, /srv holds c only
//! ```
//!
//! - A **copy-up** happens on the first write (or chmod, chown…) of a
//!   lower file: overlay copies the whole file, with its owner, mode and
//!   times, into the upper, then lets the write go there. Its parent
//!   directories are copied up first (without their content).
//! - A **whiteout** is a character device with device number 0/0 in the
//!   upper, where a lower file was deleted. (Linux 6.7 added another form,
//!   an empty file with an `overlay.whiteout` xattr, for *lower* layers
//!   made by tools such as composefs; an upper only holds the device.)
//! - An **opaque** directory has the xattr `trusted.overlay.opaque` (or
//!   `user.overlay.opaque` with `userxattr`) set to `y`: the lowers' entries
//!   below it are hidden. Overlay makes one when a directory that existed
//!   in a lower is removed and made again.
//!
//! The xattr's prefix is the one the mount used, and only that one: on a
//! mount *without* `userxattr` a container may set `user.overlay.opaque`
//! on its own directories, and taking it for overlay's would let a
//! container hide the image's files in the next layer.
//!
//! Two overlay features make an upper that cannot be read alone —
//! `redirect_dir` (a renamed directory points at its old lower path) and
//! `metacopy` (a copy-up of metadata only, the data still in a lower).
//! They are off unless turned on (by mount option or kernel config);
//! [`classify`] refuses their xattrs rather than produce a wrong layer.

use std::ffi::CString;
use std::fs::{self, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// What one entry of an upper directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A directory; `opaque`: the lowers' entries below it are hidden.
    Dir {
        opaque: bool,
    },
    /// A regular file (new, or a copy-up).
    File,
    Symlink,
    /// A deletion of the same name in the lowers.
    Whiteout,
    /// A device, a FIFO or a socket.
    Special,
}

/// One entry of an upper directory.
#[derive(Debug, Clone)]
pub struct Change {
    /// Relative to the upper directory.
    pub path: PathBuf,
    pub kind: Kind,
    pub meta: Metadata,
}

/// The xattr prefix overlay uses for its own metadata.
pub fn xattr_prefix(userxattr: bool) -> &'static str {
    if userxattr {
        "user.overlay."
    } else {
        "trusted.overlay."
    }
}

/// The value of the xattr `name` of `path` (not following a symlink), if set.
pub fn xattr(path: &Path, name: &str) -> Result<Option<Vec<u8>>, Error> {
    let cpath = CString::new(path.as_os_str().as_bytes()).expect("no NUL in a path");
    let cname = CString::new(name).expect("no NUL in an xattr name");
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a writable buffer of the length given.
    let n = unsafe {
        libc::lgetxattr(
            cpath.as_ptr(),
            cname.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n >= 0 {
        buf.truncate(n as usize);
        return Ok(Some(buf));
    }
    match nix::errno::Errno::last() {
        nix::errno::Errno::ENODATA | nix::errno::Errno::ENOTSUP => Ok(None),
        errno => Err(Error::sys("read the xattrs of", path)(errno)),
    }
}

/// What the entry at `path` (with `meta` from `lstat`) means.
pub fn classify(path: &Path, meta: &Metadata, userxattr: bool) -> Result<Kind, Error> {
    // TASK 06.4: a 0/0 char device is a whiteout; opaque: overlay.opaque = y; refuse redirect
    todo!("06.4: a 0/0 char device is a whiteout; opaque: overlay.opaque = y; refuse redirect")
    // END TASK 06.4
}

/// Every entry below `upper`, depth first, each directory's entries
/// sorted by name (bytes): the same upper always gives the same list.
pub fn changes(upper: &Path, userxattr: bool) -> Result<Vec<Change>, Error> {
    let mut found = Vec::new();
    walk(upper, Path::new(""), userxattr, &mut found)?;
    Ok(found)
}

fn walk(upper: &Path, rel: &Path, userxattr: bool, found: &mut Vec<Change>) -> Result<(), Error> {
    let dir = upper.join(rel);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .map_err(Error::io("read the directory", &dir))?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(Error::io("read the directory", &dir))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        let path = rel.join(&name);
        let full = upper.join(&path);
        let meta = fs::symlink_metadata(&full).map_err(Error::io("stat", &full))?;
        let kind = classify(&full, &meta, userxattr)?;
        found.push(Change {
            path: path.clone(),
            kind,
            meta,
        });
        if matches!(kind, Kind::Dir { .. }) {
            walk(upper, &path, userxattr, found)?;
        }
    }
    Ok(())
}

/// Make `path` a whiteout, as overlay reads one in a *lower* layer: what a
/// layer tarball's `.wh.NAME` becomes when the layer is unpacked into a
/// directory to be used as a lower (lab 08). Needs `CAP_MKNOD`.
pub fn make_whiteout(path: &Path) -> Result<(), Error> {
    use nix::sys::stat::{Mode, SFlag, makedev, mknod};
    mknod(path, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0))
        .map_err(Error::sys("make a whiteout at", path))
}

/// Mark the directory `dir` opaque for overlay (`trusted.overlay.opaque`,
/// or `user.overlay.opaque` for a mount with `userxattr`): what a layer
/// tarball's `DIR/.wh..wh..opq` becomes when the layer is unpacked.
pub fn make_opaque(dir: &Path, userxattr: bool) -> Result<(), Error> {
    let cpath = CString::new(dir.as_os_str().as_bytes()).expect("no NUL in a path");
    let name = format!("{}opaque", xattr_prefix(userxattr));
    let cname = CString::new(name).expect("no NUL in an xattr name");
    // SAFETY: valid C strings and a one-byte value of the length given.
    let rc = unsafe { libc::lsetxattr(cpath.as_ptr(), cname.as_ptr(), b"y".as_ptr().cast(), 1, 0) };
    if rc != 0 {
        return Err(Error::sys("mark opaque", dir)(nix::errno::Errno::last()));
    }
    Ok(())
}
