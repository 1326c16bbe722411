//! A lab-05 bundle on a read/write layer.
//!
//! A bundle is a directory with `config.json` and a root filesystem;
//! `root.path` is relative to the bundle. The layer's directory is the
//! bundle and `merged` its rootfs, so the runtime of lab 05 runs on the
//! overlay without knowing it is one — as runc does under containerd,
//! which mounts the overlay before it calls `runc create`.

use std::fs;
use std::path::PathBuf;

use oci_spec::runtime::{ProcessBuilder, RootBuilder, Spec};

use crate::error::Error;
use crate::rwlayer::{MERGED, RwLayer};

/// Write `config.json` into the layer's directory: runc's default config
/// (`runtime spec`'s), running `args`, with `hostname` and a writable root.
pub fn write_config(layer: &RwLayer, args: &[String], hostname: &str) -> Result<PathBuf, Error> {
    let mut spec = Spec::default();
    let root = RootBuilder::default()
        .path(MERGED)
        .readonly(false)
        .build()
        .expect("a root always builds");
    spec.set_root(Some(root));
    let mut process = spec.process().clone().unwrap_or_else(|| {
        ProcessBuilder::default()
            .build()
            .expect("a process always builds")
    });
    process.set_args(Some(args.to_vec()));
    process.set_terminal(Some(false));
    spec.set_process(Some(process));
    spec.set_hostname(Some(hostname.into()));
    let path = layer.bundle_dir().join("config.json");
    let text = serde_json::to_string_pretty(&spec).expect("a spec always serializes");
    fs::write(&path, text + "\n").map_err(Error::io("write", &path))?;
    Ok(path)
}
