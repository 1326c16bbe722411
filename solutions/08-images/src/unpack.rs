//! Unpacking a layer: a tar stream from a stranger, written into a
//! directory of our own without ever writing outside it.
//!
//! A layer is hostile input. What it may try, and what happens here:
//!
//! | the entry                                    | here                                      |
//! |----------------------------------------------|-------------------------------------------|
//! | `../../etc/cron.d/x`, `/etc/passwd`          | refused: a path is relative and stays below the root |
//! | `link -> /etc`, then `link/passwd`           | the link is made (inside the container it resolves in the container), the file through it is refused: no parent is ever a symlink |
//! | a hard link to `/etc/shadow`, or to a path not extracted yet | refused: a hard link names a file this layer extracted before it |
//! | a device node                                | made when root, refused otherwise          |
//! | setuid/setgid bits                           | kept when root, cleared otherwise          |
//! | the same path twice; a file where a directory is | refused (a directory again only updates its metadata) |
//! | a huge size, a gzip bomb                     | refused past [`Limits`], named in the error |
//! | `.wh.NAME`, `.wh..wh..opq`                   | overlay's own whiteout: a 0/0 character device, `trusted.overlay.opaque=y` |
//!
//! Every name is opened relative to a directory fd with `O_NOFOLLOW`, one
//! component at a time (lab 03's [`rootfs::target::walk_in`]), so even a
//! symlink that appears between two entries is never followed; files are
//! created with `O_CREAT | O_EXCL`, so nothing existing is ever opened for
//! writing. The layer is unpacked into a temporary directory beside its
//! final place and renamed there whole: an interrupted unpack leaves no
//! half-made layer where a container could find it.
//!
//! Extended attributes in the tar (file capabilities, SELinux labels) are
//! not kept.

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, open, openat};
use nix::sys::stat::{
    FchmodatFlags, Mode, SFlag, UtimensatFlags, fchmod, fchmodat, futimens, makedev, mkdirat,
    mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, fchownat, linkat, symlinkat, unlinkat};
use tar::EntryType;

use crate::digest::Hashing;
use crate::error::{Error, Result};

/// What one layer may cost.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Bytes of the *uncompressed* tar stream: what a decompression bomb inflates.
    pub max_bytes: u64,
    /// Entries (files, directories, links…).
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 16 << 30,
            max_entries: 1_000_000,
        }
    }
}

/// How to unpack.
#[derive(Debug, Clone)]
pub struct Options {
    pub limits: Limits,
    /// Whether to make device nodes and whiteouts, keep owners and setuid
    /// bits: what root does. By default: whether this process is root.
    pub privileged: bool,
}

impl Options {
    pub fn new(limits: Limits) -> Options {
        Options {
            limits,
            privileged: nix::unistd::geteuid().is_root(),
        }
    }
}

/// What an unpack did.
#[derive(Debug)]
pub struct Unpacked {
    pub entries: u64,
    /// The uncompressed stream's size and digest (the layer's diff_id).
    pub bytes: u64,
    pub diff_id: String,
}

/// Unpack the layer `blob` (a tar, maybe gzip-compressed) into `dest`,
/// which must not exist: into a temporary directory beside it, renamed to
/// `dest` when complete. `layer` names it in errors. With `diff_id`, the
/// uncompressed stream must hash to it.
pub fn unpack_into(
    layer: &str,
    blob: &mut dyn Read,
    diff_id: Option<&str>,
    dest: &Path,
    limits: &Limits,
) -> Result<Unpacked> {
    unpack_with(layer, blob, diff_id, dest, &Options::new(limits.clone()))
}

/// [`unpack_into`] with explicit [`Options`].
pub fn unpack_with(
    layer: &str,
    blob: &mut dyn Read,
    diff_id: Option<&str>,
    dest: &Path,
    options: &Options,
) -> Result<Unpacked> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    // Removed when dropped: on any error, nothing half-made stays.
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(parent)
        .map_err(Error::io("create a temporary directory in", parent))?;
    let done = extract(layer, blob, diff_id, tmp.path(), options)?;
    let tmp_path = tmp.keep();
    if let Err(err) = fs::rename(&tmp_path, dest) {
        let _ = fs::remove_dir_all(&tmp_path);
        // Another process unpacked the same layer meanwhile: same bytes.
        if !dest.is_dir() {
            return Err(Error::io("rename the unpacked layer to", dest)(err));
        }
    }
    Ok(done)
}

/// The compressions a layer may have, told by their first bytes.
fn decoder<'a>(layer: &str, input: &'a mut BufReader<&mut dyn Read>) -> Result<Box<dyn Read + 'a>> {
    let head = input
        .fill_buf()
        .map_err(|e| layer_error(layer, format!("cannot read it: {e}")))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(flate2::read::MultiGzDecoder::new(input)));
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(layer_error(
            layer,
            "it is zstd-compressed, which this store does not read (gzip or plain tar only)".into(),
        ));
    }
    Ok(Box::new(input))
}

fn layer_error(layer: &str, reason: String) -> Error {
    Error::Layer {
        layer: layer.to_string(),
        reason,
    }
}

/// Counts what the decompressor gives and fails past the limit.
struct Counted<R> {
    inner: Hashing<R>,
    read: u64,
    limit: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            self.hit.set(true);
            return Err(io::Error::other("over the layer's size limit"));
        }
        Ok(n)
    }
}

/// Unpack into `dir`, an empty directory of ours.
pub fn extract(
    layer: &str,
    blob: &mut dyn Read,
    diff_id: Option<&str>,
    dir: &Path,
    options: &Options,
) -> Result<Unpacked> {
    let mut input = BufReader::with_capacity(1 << 17, blob);
    let decoded = decoder(layer, &mut input)?;
    let hit = Rc::new(Cell::new(false));
    let mut counted = Counted {
        inner: Hashing::new(decoded),
        read: 0,
        limit: options.limits.max_bytes,
        hit: hit.clone(),
    };
    let root = open(
        dir,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::io("open", dir)(e.into()))?;
    let mut unpacker = Unpacker {
        layer: layer.to_string(),
        root,
        options: options.clone(),
        seen: HashMap::new(),
        dirs: Vec::new(),
        cache: None,
        entries: 0,
        hit,
    };
    {
        let mut archive = tar::Archive::new(&mut counted);
        let entries = archive.entries().map_err(|e| unpacker.read_error(e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| unpacker.read_error(e))?;
            unpacker.entry(&mut entry)?;
        }
    }
    unpacker.finish(dir)?;
    // The rest of the stream (the end-of-archive blocks) is hashed too.
    io::copy(&mut counted, &mut io::sink()).map_err(|e| unpacker.read_error(e))?;
    let (got, bytes) = counted.inner.sum();
    if let Some(want) = diff_id
        && got != want
    {
        return Err(Error::Corrupt {
            digest: layer.to_string(),
            detail: format!(
                "its uncompressed content hashes to {got}, the config's diff_id is {want}"
            ),
        });
    }
    Ok(Unpacked {
        entries: unpacker.entries,
        bytes,
        diff_id: got,
    })
}

/// What this layer made at a path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Dir,
    File,
    Symlink,
    Other,
    Whiteout,
}

/// A directory's metadata, applied after its content (which changes its mtime).
struct DirMeta {
    path: PathBuf,
    mode: u32,
    owner: (u64, u64),
    mtime: u64,
}

struct Unpacker {
    layer: String,
    root: OwnedFd,
    options: Options,
    /// Every path this layer made, and what it is.
    seen: HashMap<PathBuf, Kind>,
    dirs: Vec<DirMeta>,
    /// The last parent directory opened: entries come grouped by directory.
    cache: Option<(PathBuf, Rc<OwnedFd>)>,
    entries: u64,
    hit: Rc<Cell<bool>>,
}

/// `a/./b/` → `a/b`; `..` and absolute paths refused.
fn clean(path: &Path) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err("'..' in its path: it would climb out of the layer".into());
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path: entries are relative to the layer's root".into());
            }
        }
    }
    Ok(out)
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).unwrap_or_default()
}

const NEW: OFlag = OFlag::O_CREAT
    .union(OFlag::O_EXCL)
    .union(OFlag::O_WRONLY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);
const DIR_FD: OFlag = OFlag::O_PATH
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

impl Unpacker {
    fn refuse(&self, entry: &Path, reason: impl Into<String>) -> Error {
        Error::Entry {
            layer: self.layer.clone(),
            entry: entry.display().to_string(),
            reason: reason.into(),
        }
    }

    fn read_error(&self, err: io::Error) -> Error {
        if self.hit.get() {
            layer_error(
                &self.layer,
                format!(
                    "it expands past the limit of {} bytes (--max-layer-bytes): a decompression bomb?",
                    self.options.limits.max_bytes
                ),
            )
        } else {
            layer_error(
                &self.layer,
                format!("cannot read it as a tar archive: {err}"),
            )
        }
    }

    // ANCHOR: entry
    /// One entry of the tar stream.
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<R>) -> Result<()> {
        // TASK 08.2: path, duplicates, parent (never via a link), then make the entry
        self.entries += 1;
        if self.entries > self.options.limits.max_entries {
            return Err(layer_error(
                &self.layer,
                format!("more than {} entries", self.options.limits.max_entries),
            ));
        }
        let raw = entry.path().map_err(|e| self.read_error(e))?.into_owned();
        let rel = clean(&raw).map_err(|why| self.refuse(&raw, why))?;
        let kind = entry.header().entry_type();
        if rel.as_os_str().is_empty() {
            // `./`: the layer's root itself.
            return match kind {
                EntryType::Directory => Ok(()),
                _ => Err(self.refuse(&raw, "names the layer's root but is not a directory")),
            };
        }
        let base = rel
            .file_name()
            .expect("a cleaned, non-empty path")
            .to_owned();
        if let Some(hidden) = base.as_bytes().strip_prefix(b".wh.") {
            return self.whiteout(&raw, &rel, OsStr::from_bytes(hidden));
        }
        match (self.seen.get(&rel), kind) {
            (None, _) | (Some(Kind::Dir), EntryType::Directory) => {}
            (Some(Kind::Dir), _) => {
                return Err(self.refuse(
                    &raw,
                    "it replaces a directory of this layer with a non-directory",
                ));
            }
            (Some(Kind::Whiteout), _) => {
                // The layer whited the name out, then made it: the entry wins.
                let parent = self.parent_dir(&raw, &rel)?;
                unlinkat(parent.as_fd(), base.as_os_str(), UnlinkatFlags::NoRemoveDir)
                    .map_err(|e| self.refuse(&raw, format!("cannot remove its whiteout: {e}")))?;
            }
            (Some(_), _) => {
                return Err(self.refuse(&raw, "a duplicate: this layer has that path already"));
            }
        }
        let parent = self.parent_dir(&raw, &rel)?;
        let at = parent.as_fd();
        let header = entry.header();
        let mut mode = header
            .mode()
            .map_err(|e| self.refuse(&raw, e.to_string()))?
            & 0o7777;
        if !self.options.privileged {
            mode &= !0o6000; // setuid and setgid are root's to give
        }
        let owner = (
            header.uid().map_err(|e| self.refuse(&raw, e.to_string()))?,
            header.gid().map_err(|e| self.refuse(&raw, e.to_string()))?,
        );
        let mtime = header.mtime().unwrap_or(0);
        let fail = |what: &str, e: Errno| self.refuse(&raw, format!("cannot {what}: {e}"));
        let made = match kind {
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.size();
                if size > self.options.limits.max_bytes {
                    return Err(self.refuse(
                        &raw,
                        format!(
                            "its size, {size} bytes, is over the layer's limit of {} bytes (--max-layer-bytes)",
                            self.options.limits.max_bytes
                        ),
                    ));
                }
                let fd = openat(at, base.as_os_str(), NEW, Mode::from_bits_truncate(0o600))
                    .map_err(|e| fail("create it", e))?;
                let mut file = File::from(fd);
                io::copy(entry, &mut file).map_err(|e| self.read_error(e))?;
                // chown first: it clears setuid bits, which chmod then sets.
                if self.options.privileged {
                    fchown(&file, Some(uid(owner.0)), Some(gid(owner.1)))
                        .map_err(|e| fail("chown it", e))?;
                }
                fchmod(&file, Mode::from_bits_truncate(mode)).map_err(|e| fail("chmod it", e))?;
                let time = TimeSpec::new(mtime as i64, 0);
                futimens(&file, &time, &time).map_err(|e| fail("set its mtime", e))?;
                return self.record(rel, Kind::File);
            }
            EntryType::Directory => {
                if self.seen.get(&rel) != Some(&Kind::Dir) {
                    mkdirat(at, base.as_os_str(), Mode::from_bits_truncate(0o700))
                        .map_err(|e| fail("make it", e))?;
                }
                self.dirs.push(DirMeta {
                    path: rel.clone(),
                    mode,
                    owner,
                    mtime,
                });
                return self.record(rel, Kind::Dir);
            }
            EntryType::Symlink => {
                // Made as it is, never followed here: inside the container,
                // `/etc` is the container's.
                let target = entry
                    .link_name()
                    .map_err(|e| self.read_error(e))?
                    .ok_or_else(|| self.refuse(&raw, "a symlink without a target"))?;
                symlinkat(target.as_os_str(), at, base.as_os_str())
                    .map_err(|e| fail("make the symlink", e))?;
                Kind::Symlink
            }
            EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| self.read_error(e))?
                    .ok_or_else(|| self.refuse(&raw, "a hard link without a target"))?;
                let target = clean(&target).map_err(|why| {
                    self.refuse(&raw, format!("a hard link to {}: {why}", target.display()))
                })?;
                if self.seen.get(&target) != Some(&Kind::File) {
                    return Err(self.refuse(
                        &raw,
                        format!(
                            "a hard link to {}, which is not a file this layer extracted before it",
                            target.display()
                        ),
                    ));
                }
                let from = self.parent_dir(&raw, &target)?;
                let name = target.file_name().expect("a file");
                // No AT_SYMLINK_FOLLOW: the link is to the name itself.
                linkat(
                    from.as_fd(),
                    name,
                    parent.as_fd(),
                    base.as_os_str(),
                    AtFlags::empty(),
                )
                .map_err(|e| self.refuse(&raw, format!("cannot make the hard link: {e}")))?;
                return self.record(rel, Kind::File);
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (sflag, dev) = match kind {
                    EntryType::Fifo => (SFlag::S_IFIFO, 0),
                    _ if !self.options.privileged => {
                        return Err(
                            self.refuse(&raw, "a device node: refused when not running as root")
                        );
                    }
                    _ => {
                        let major = header.device_major().ok().flatten().unwrap_or(0);
                        let minor = header.device_minor().ok().flatten().unwrap_or(0);
                        let flag = if kind == EntryType::Char {
                            SFlag::S_IFCHR
                        } else {
                            SFlag::S_IFBLK
                        };
                        (flag, makedev(major.into(), minor.into()))
                    }
                };
                mknodat(
                    at,
                    base.as_os_str(),
                    sflag,
                    Mode::from_bits_truncate(mode),
                    dev,
                )
                .map_err(|e| fail("make the node", e))?;
                fchmodat(
                    at,
                    base.as_os_str(),
                    Mode::from_bits_truncate(mode),
                    FchmodatFlags::FollowSymlink,
                )
                .map_err(|e| fail("chmod it", e))?;
                Kind::Other
            }
            EntryType::XGlobalHeader => return Ok(()),
            EntryType::GNUSparse => return Err(self.refuse(&raw, "a sparse file: not supported")),
            other => {
                return Err(self.refuse(&raw, format!("an entry of type {other:?}: not supported")));
            }
        };
        // Symlinks and nodes: owner and times of the entry itself, not of what it points to.
        if self.options.privileged {
            fchownat(
                at,
                base.as_os_str(),
                Some(uid(owner.0)),
                Some(gid(owner.1)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(|e| fail("chown it", e))?;
        }
        let time = TimeSpec::new(mtime as i64, 0);
        utimensat(
            at,
            base.as_os_str(),
            &time,
            &time,
            UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| fail("set its mtime", e))?;
        self.record(rel, made)
        // END TASK 08.2
    }
    // ANCHOR_END: entry

    fn record(&mut self, path: PathBuf, kind: Kind) -> Result<()> {
        self.seen.insert(path, kind);
        Ok(())
    }

    // ANCHOR: parent
    /// The directory an entry goes into, opened without following any
    /// symlink, made (0755) where missing.
    fn parent_dir(&mut self, raw: &Path, rel: &Path) -> Result<Rc<OwnedFd>> {
        let parent = rel.parent().unwrap_or(Path::new(""));
        if let Some((path, fd)) = &self.cache
            && path == parent
        {
            return Ok(fd.clone());
        }
        // Name the component this layer made as something else.
        let mut prefix = PathBuf::new();
        for part in parent.components() {
            prefix.push(part);
            match self.seen.get(&prefix) {
                None | Some(Kind::Dir) => {}
                Some(Kind::Symlink) => {
                    return Err(self.refuse(
                        raw,
                        format!(
                            "its parent {} is a symlink this layer made: never followed",
                            prefix.display()
                        ),
                    ));
                }
                Some(_) => {
                    return Err(self.refuse(
                        raw,
                        format!("its parent {} is not a directory", prefix.display()),
                    ));
                }
            }
        }
        // Lab 03's walk: one component at a time, O_NOFOLLOW, a symlink refused.
        let fd =
            match rootfs::target::walk_in(self.root.as_fd(), &c_path(parent), OFlag::O_DIRECTORY) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => self.make_parents(raw, parent)?,
                Err(errno) => {
                    return Err(self.refuse(
                        raw,
                        format!(
                            "its parent {} cannot be opened without following a link: {errno}",
                            parent.display()
                        ),
                    ));
                }
            };
        let fd = Rc::new(fd);
        self.cache = Some((parent.to_path_buf(), fd.clone()));
        Ok(fd)
    }

    /// Walk `parent` from the root, making each missing directory.
    fn make_parents(&mut self, raw: &Path, parent: &Path) -> Result<OwnedFd> {
        let mut at = openat(self.root.as_fd(), c".", DIR_FD, Mode::empty())
            .map_err(|e| self.refuse(raw, format!("cannot open the layer's root: {e}")))?;
        let mut prefix = PathBuf::new();
        for part in parent.components() {
            prefix.push(part);
            let name = part.as_os_str();
            let next = match openat(at.as_fd(), name, DIR_FD, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    mkdirat(at.as_fd(), name, Mode::from_bits_truncate(0o755)).map_err(|e| {
                        self.refuse(raw, format!("cannot make {}: {e}", prefix.display()))
                    })?;
                    self.seen.insert(prefix.clone(), Kind::Dir);
                    openat(at.as_fd(), name, DIR_FD, Mode::empty()).map_err(|e| {
                        self.refuse(raw, format!("cannot open {}: {e}", prefix.display()))
                    })?
                }
                Err(errno) => {
                    return Err(self.refuse(
                        raw,
                        format!(
                            "its parent {} cannot be opened without following a link: {errno}",
                            prefix.display()
                        ),
                    ));
                }
            };
            at = next;
        }
        Ok(at)
    }
    // ANCHOR_END: parent

    // ANCHOR: whiteout
    /// `.wh.NAME` hides NAME of the layers below; `.wh..wh..opq` hides
    /// everything below its directory. Written the way overlayfs reads
    /// them, so this directory is an overlay lower as it is.
    fn whiteout(&mut self, raw: &Path, rel: &Path, hidden: &OsStr) -> Result<()> {
        if !self.options.privileged {
            return Err(self.refuse(
                raw,
                "a whiteout: overlay's whiteouts are 0/0 character devices and trusted.* xattrs, which need root",
            ));
        }
        let parent = self.parent_dir(raw, rel)?;
        if hidden == ".wh..opq" {
            // An O_PATH fd cannot carry an xattr: open the directory itself.
            let dir = openat(
                parent.as_fd(),
                c".",
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| self.refuse(raw, format!("cannot open its directory: {e}")))?;
            // SAFETY: a valid fd, NUL-terminated name, a 1-byte value.
            let rc = unsafe {
                libc::fsetxattr(
                    dir.as_raw_fd(),
                    c"trusted.overlay.opaque".as_ptr(),
                    b"y".as_ptr().cast(),
                    1,
                    0,
                )
            };
            if rc != 0 {
                return Err(self.refuse(
                    raw,
                    format!("cannot mark its directory opaque: {}", Errno::last()),
                ));
            }
            return Ok(());
        }
        let bytes = hidden.as_bytes();
        if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.starts_with(b".wh.") {
            return Err(self.refuse(
                raw,
                format!("a whiteout of {hidden:?}, which is not a name"),
            ));
        }
        let victim = rel.with_file_name(hidden);
        if self.seen.contains_key(&victim) {
            // A whiteout hides the layers below, never this layer's own entry.
            return Ok(());
        }
        mknodat(
            parent.as_fd(),
            hidden,
            SFlag::S_IFCHR,
            Mode::empty(),
            makedev(0, 0),
        )
        .map_err(|e| self.refuse(raw, format!("cannot make the whiteout: {e}")))?;
        self.record(victim, Kind::Whiteout)
    }
    // ANCHOR_END: whiteout

    /// Directories' modes, owners and times, deepest last-made first: a
    /// directory made read-only must not stop what goes into it, and
    /// making a child changes its parent's mtime.
    fn finish(&mut self, dir: &Path) -> Result<()> {
        let dirs = std::mem::take(&mut self.dirs);
        for meta in dirs.iter().rev() {
            let parent = self.parent_dir(&meta.path, &meta.path)?;
            let name = meta.path.file_name().expect("a directory");
            let fail =
                |what: &str, e: Errno| self.refuse(&meta.path, format!("cannot {what}: {e}"));
            if self.options.privileged {
                fchownat(
                    parent.as_fd(),
                    name,
                    Some(uid(meta.owner.0)),
                    Some(gid(meta.owner.1)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(|e| fail("chown it", e))?;
            }
            fchmodat(
                parent.as_fd(),
                name,
                Mode::from_bits_truncate(meta.mode),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(|e| fail("chmod it", e))?;
            let time = TimeSpec::new(meta.mtime as i64, 0);
            utimensat(
                parent.as_fd(),
                name,
                &time,
                &time,
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(|e| fail("set its mtime", e))?;
        }
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(Error::io("chmod", dir))
    }
}

fn uid(id: u64) -> Uid {
    Uid::from_raw(id as u32)
}

fn gid(id: u64) -> Gid {
    Gid::from_raw(id as u32)
}
