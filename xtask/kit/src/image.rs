//! Image archives for checks, made here from local files — nothing comes
//! from the internet.
//!
//! [`docker_save`] writes what `docker save` writes (the classic format:
//! `manifest.json`, `<id>.json`, `<layer>/layer.tar`, uncompressed layers,
//! the config's `rootfs.diff_ids` their sha256) from directories, e.g. a
//! [`crate::rootfs::Rootfs`] with busybox and the probe.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What [`docker_save`] wrote.
#[derive(Debug, Clone)]
pub struct Archive {
    pub path: PathBuf,
    /// `sha256:…` of the config: Docker's image ID.
    pub config_digest: String,
    /// `sha256:…` of each (uncompressed) layer, bottom first.
    pub diff_ids: Vec<String>,
    pub repo_tags: Vec<String>,
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let sum = Sha256::digest(bytes);
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A layer tarball of the tree at `dir`: entries sorted, symlinks kept as
/// links, mtimes and owners as they are.
pub fn layer_tar(dir: &Path) -> io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let mut names: Vec<_> = fs::read_dir(dir.join(&rel))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<_>>()?;
        names.sort();
        // Depth first, in name order: push in reverse.
        for name in names.iter().rev() {
            let child = rel.join(name);
            if fs::symlink_metadata(dir.join(&child))?.is_dir() {
                stack.push(child);
            }
        }
        for name in names {
            let child = rel.join(&name);
            builder.append_path_with_name(dir.join(&child), &child)?;
        }
    }
    builder.into_inner()
}

/// Write a `docker save` archive (classic format) to `out`: one image
/// named `repo_tags`, one layer per directory of `layers` (bottom first),
/// and `config` (Docker's image config; `rootfs` and `history` are filled
/// in here). Layers given as bytes in `raw_layers` come after them.
pub fn docker_save(
    out: &Path,
    repo_tags: &[&str],
    layers: &[&Path],
    raw_layers: &[Vec<u8>],
    mut config: Value,
) -> io::Result<Archive> {
    let mut tars = Vec::new();
    for dir in layers {
        tars.push(layer_tar(dir)?);
    }
    tars.extend(raw_layers.iter().cloned());
    let diff_ids: Vec<String> = tars.iter().map(|t| sha256(t)).collect();
    config["rootfs"] = json!({ "type": "layers", "diff_ids": diff_ids });
    if config.get("architecture").is_none() {
        config["architecture"] = json!("amd64");
        config["os"] = json!("linux");
    }
    if config.get("history").is_none() {
        config["history"] = diff_ids
            .iter()
            .enumerate()
            .map(|(i, _)| json!({ "created_by": format!("kit layer {i}") }))
            .collect();
    }
    let config_bytes = serde_json::to_vec(&config)?;
    let config_digest = sha256(&config_bytes);
    let config_name = format!("{}.json", &config_digest[7..]);
    let mut builder = tar::Builder::new(File::create(out)?);
    let mut add = |name: &str, bytes: &[u8]| -> io::Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, bytes)
    };
    let mut layer_names = Vec::new();
    for (tar, diff_id) in tars.iter().zip(&diff_ids) {
        let name = format!("{}/layer.tar", &diff_id[7..]);
        if !layer_names.contains(&name) {
            add(&name, tar)?;
        }
        layer_names.push(name);
    }
    add(&config_name, &config_bytes)?;
    let manifest = json!([{
        "Config": config_name,
        "RepoTags": repo_tags,
        "Layers": layer_names,
    }]);
    add("manifest.json", &serde_json::to_vec(&manifest)?)?;
    builder.into_inner()?.flush()?;
    Ok(Archive {
        path: out.to_path_buf(),
        config_digest,
        diff_ids,
        repo_tags: repo_tags.iter().map(|t| t.to_string()).collect(),
    })
}
