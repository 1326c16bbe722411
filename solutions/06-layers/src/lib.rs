//! Lab 06 — a layered filesystem.
//!
//! An image is a stack of read-only layers; a container adds one
//! read/write layer on top and sees the union of all of them. Linux's
//! overlay filesystem does the union: the *lower* directories are never
//! written, every change lands in the *upper* directory (copy-up for a
//! changed file, a *whiteout* for a deleted one, an *opaque* directory for
//! one removed and made again), and the *merged* mount is the container's
//! root filesystem. Removing the container removes its upper; the lowers
//! are shared by every container of the image. The upper is also what a
//! `docker commit` or a build step turns into a new layer: the diff.
//!
//! ```text
//!   merged/   (the container's /)        what the container sees
//!      ▲
//!   upper/    read/write, one per container   ← every write, whiteouts
//!   lower 3   read-only   ┐
//!   lower 2   read-only   │ shared by every container of the image
//!   lower 1   read-only   ┘ (the image's base layer)
//! ```
//!
//! | module        | concept                                                      | task |
//! |---------------|--------------------------------------------------------------|------|
//! | [`overlay`]   | overlay's mount data: lowers top-first, upper, work           | 06.1 |
//! | [`rwlayer`]   | a container's read/write layer: made, mounted, removed        | 06.2 |
//! | [`many`]      | 100+ layers: one `lowerdir+` per layer with the new mount API | 06.3 |
//! | [`changes`]   | what the upper holds: copies, whiteouts, opaque directories   | 06.4 |
//! | [`diff`]      | the upper as a deterministic OCI layer tarball, and its digests | 06.5 |
//! | [`bundle`]    | a lab-05 bundle whose rootfs is the overlay                   |      |
//! | [`cli`]       | `dockyard-06 run / create / rm / diff`                        |      |
//!
//! # The API later labs use
//!
//! - [`rwlayer::create`]`(root, id, lowers, &opts)`: `lowers` is
//!   **bottom-first**, as in an OCI manifest and `docker inspect`'s
//!   `RootFS.Layers` (the base layer first); the overlay's `lowerdir` is
//!   top-first, and this crate does the reversal. Returns a mounted
//!   [`RwLayer`].
//! - [`RwLayer::rootfs`] (the merged mount point), [`RwLayer::bundle_dir`]
//!   (a lab-05 bundle there: [`bundle::write_config`]),
//!   [`RwLayer::upper`], [`RwLayer::mount`], [`RwLayer::unmount`],
//!   [`rwlayer::remove`]`(root, id)` (unmounts, removes the upper; the
//!   lowers are never touched).
//! - [`diff::diff`]`(upper, writer, &DiffOptions) -> LayerDigests`: the
//!   layer tarball (gzip or not) and its `diff_id` / `digest`.

pub mod bundle;
pub mod changes;
pub mod cli;
pub mod diff;
pub mod error;
pub mod many;
pub mod overlay;
pub mod rwlayer;

pub use diff::{DiffOptions, LayerDigests, diff};
pub use error::Error;
pub use rwlayer::{CreateOptions, RwLayer};
