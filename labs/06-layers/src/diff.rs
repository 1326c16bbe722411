//! The diff: an upper directory as an OCI layer tarball.
//!
//! A layer is a tar archive of the changes, with overlay's special entries
//! turned into the OCI image spec's portable names:
//!
//! ```text
//! upper (overlay)                        layer.tar (OCI)
//! etc/                 dir               etc/
//! etc/hosts            file              etc/hosts
//! etc/motd             char dev 0/0      etc/.wh.motd          empty regular file
//! srv/                 dir, opaque       srv/
//!                                        srv/.wh..wh..opq      empty regular file
//! srv/c                file              srv/c
//! ```
//!
//! **Deterministic**: the same change must give the same bytes, hence the
//! same digest — build caches (lab 09) and registries (lab 10) dedupe by
//! digest, and a layer that differs by a timestamp is a new layer. So:
//! entries sorted (each directory's by name, a directory before what it
//! holds, its `.wh..wh..opq` right after it); every mtime set to one value
//! (`DiffOptions::mtime`, like `SOURCE_DATE_EPOCH`); no user or group
//! *names* (they are the host's `/etc/passwd`'s, not the image's); and
//! uid/gid as the *container* saw them: an upper written in a user
//! namespace holds host ids (say 100000 + uid), shifted back by
//! `DiffOptions::id_shift`. Owners and modes are kept: `chown` in a
//! Dockerfile must survive. A file with several names (hard links) is
//! stored once, the other names as links to the first.
//!
//! Two digests come out: the **diff_id**, sha256 of the uncompressed tar
//! (the image config's `rootfs.diff_ids`), and the **digest**, sha256 of
//! the bytes written (the manifest's layer digest; the same as the
//! diff_id when not compressed).
//!
//! Not carried over: xattrs (`security.capability` of a file that had
//! `setcap` is lost) and sparse files are stored whole.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

use crate::changes::{Change, Kind, changes};
use crate::error::Error;

/// The OCI image spec's names for overlay's special entries.
pub const WHITEOUT_PREFIX: &str = ".wh.";
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// How to write a diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// gzip the tarball (`application/vnd.oci.image.layer.v1.tar+gzip`).
    pub gzip: bool,
    /// The upper was mounted with `userxattr` (its opaque xattrs are `user.overlay.*`).
    pub userxattr: bool,
    /// Every entry's mtime, in seconds since the epoch.
    pub mtime: u64,
    /// The host uid/gid that is 0 in the container (0 when not rootless).
    pub id_shift: u32,
}

/// What a diff wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerDigests {
    /// `sha256:…` of the uncompressed tar (`rootfs.diff_ids`).
    pub diff_id: String,
    /// `sha256:…` of the bytes written (the manifest's layer `digest`).
    pub digest: String,
    /// How many bytes were written.
    pub size: u64,
    /// The OCI media type of what was written.
    pub media_type: &'static str,
}

/// Write the changes in `upper` to `out` as a layer; returns its digests.
pub fn diff(upper: &Path, out: impl Write, opts: &DiffOptions) -> Result<LayerDigests, Error> {
    let entries = changes(upper, opts.userxattr)?;
    let io_err = Error::io("write the layer of", upper);
    // tar → (hash: diff_id) → [gzip] → (hash: digest, size) → out
    let written = Hashing::new(out);
    let (tar_hash, written, media_type) = if opts.gzip {
        let gz = flate2::write::GzEncoder::new(written, flate2::Compression::default());
        let mut tar = tar::Builder::new(Hashing::new(gz));
        write_all(&mut tar, upper, &entries, opts)?;
        let hashed = tar.into_inner().map_err(io_err)?;
        let (diff_id, gz) = hashed.finish();
        let written = gz
            .finish()
            .map_err(Error::io("compress the layer of", upper))?;
        (
            diff_id,
            written,
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    } else {
        let mut tar = tar::Builder::new(written);
        write_all(&mut tar, upper, &entries, opts)?;
        let written = tar.into_inner().map_err(io_err)?;
        (None, written, "application/vnd.oci.image.layer.v1.tar")
    };
    let size = written.count;
    let (digest, mut out) = written.finish();
    out.flush()
        .map_err(Error::io("flush the layer of", upper))?;
    let digest = digest.expect("always hashed");
    Ok(LayerDigests {
        diff_id: tar_hash.unwrap_or_else(|| digest.clone()),
        digest,
        size,
        media_type,
    })
}

fn write_all<W: Write>(
    tar: &mut tar::Builder<W>,
    upper: &Path,
    entries: &[Change],
    opts: &DiffOptions,
) -> Result<(), Error> {
    // Hard links: the first name (in the sorted order) of each inode.
    let mut first_names: HashMap<(u64, u64), PathBuf> = HashMap::new();
    for change in entries {
        append(tar, upper, change, opts, &mut first_names)?;
    }
    tar.finish()
        .map_err(Error::io("finish the layer of", upper))
}

/// A uid or gid as the container saw it.
fn container_id(host: u32, opts: &DiffOptions, path: &Path) -> Result<u64, Error> {
    host.checked_sub(opts.id_shift)
        .map(u64::from)
        .ok_or_else(|| Error::Diff {
            path: path.to_path_buf(),
            reason: format!(
                "owned by host id {host}, below the container's first id {}",
                opts.id_shift
            ),
        })
}

/// One entry of the upper as tar entries.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    upper: &Path,
    change: &Change,
    opts: &DiffOptions,
    first_names: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), Error> {
    // TASK 06.5: header (fixed mtime, container ids, no names); .wh.NAME; dir + .wh..wh..opq
    todo!("06.5: header (fixed mtime, container ids, no names); .wh.NAME; dir + .wh..wh..opq")
    // END TASK 06.5
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    count: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hash: Sha256::new(),
            count: 0,
        }
    }

    /// `sha256:<hex>` of what went through, and the inner writer.
    fn finish(self) -> (Option<String>, W) {
        let sum = self.hash.finalize();
        let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
        (Some(format!("sha256:{hex}")), self.inner)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
