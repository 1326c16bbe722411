//! Lab 08's image store meets the builder: `FROM name[:tag]` starts a
//! stage from an image of the store, and a finished build is committed
//! into it (`-t name:tag`), where `dockyard-08 image ls` and `run` find it.
//!
//! - The base image's **layers** are its unpacked directories in the
//!   store (`STATE/layers/<hex>`, each unpacked once and verified against
//!   its digest and diff_id by [`images::Store::layer_dirs`]): they are
//!   the overlay lowers of every RUN of the stage, never written.
//! - Its **config** (Env, Entrypoint, Cmd, WorkingDir, User…) is where
//!   the stage's config starts, and its **history** where the new
//!   history continues, as Docker keeps it.
//! - The **cache key** of `FROM name` is the image's *manifest digest*,
//!   not its name: a name is a movable pointer (`docker tag`, `load`,
//!   another build with `-t`), and a cache keyed on it would reuse steps
//!   built on the image the name pointed at before.
//!
//! The commit reuses the base layers' blobs as they are in the store
//! (same digest, same media type: compressed or not), and stores the
//! build's own layers as uncompressed tars, their digest equal to their
//! diff_id.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::PathBuf;

use oci_spec::image::{Descriptor, ImageConfiguration, MediaType};
use serde_json::json;

use crate::builder::{BuildError, Built, Layer};
use crate::cache::{Digest, sha256};
use crate::config::{History, ImageConfig, rfc3339};

/// The cache key a stage `FROM reference` starts from, the image being
/// `manifest_digest` in the store: the digest (what the name points at
/// *now*), never the name.
pub fn image_key(reference: &str, manifest_digest: &str) -> Digest {
    // TASK 09.12: the key of FROM an image is its manifest digest, not its name
    todo!("09.12: the key of FROM an image is its manifest digest, not its name")
    // END TASK 09.12
}

/// A base image found in the store: what a stage `FROM` it starts with.
#[derive(Debug, Clone)]
pub struct BaseImage {
    pub manifest_digest: String,
    pub layers: Vec<Layer>,
    pub config: ImageConfig,
    pub history: Vec<History>,
}

fn store_error(what: String) -> impl FnOnce(images::Error) -> BuildError {
    move |e| BuildError::Plan(format!("{what}: {e}"))
}

/// Resolve `reference` in `store` and unpack its layers (once).
pub fn load(store: &images::Store, reference: &str) -> Result<BaseImage, BuildError> {
    let image = store
        .resolve(reference)
        .map_err(store_error(format!("FROM {reference}")))?;
    let dirs = store
        .layer_dirs(&image)
        .map_err(store_error(format!("FROM {reference}: its layers")))?;
    let layers = image
        .manifest
        .layers()
        .iter()
        .zip(image.config.rootfs().diff_ids())
        .zip(dirs)
        .map(|((desc, diff_id), dir)| -> Result<Layer, BuildError> {
            Ok(Layer {
                diff_id: diff_id.clone(),
                size: desc.size(),
                tar: store
                    .blob_path(desc.digest().as_ref())
                    .map_err(store_error(format!("FROM {reference}")))?,
                dir,
                blob: Some(desc.clone()),
            })
        })
        .collect::<Result<_, _>>()?;
    let history = image
        .config
        .history()
        .iter()
        .flatten()
        .map(|h| History {
            created: h.created().clone().unwrap_or_default(),
            created_by: h.created_by().clone().unwrap_or_default(),
            comment: h.comment().clone().unwrap_or_default(),
            empty_layer: h.empty_layer().unwrap_or(false),
        })
        .collect();
    Ok(BaseImage {
        manifest_digest: image.manifest_digest.clone(),
        layers,
        config: from_oci(image.config.config().as_ref()),
        history,
    })
}

/// An OCI image config's `config` as the builder's [`ImageConfig`].
pub fn from_oci(config: Option<&oci_spec::image::Config>) -> ImageConfig {
    let Some(c) = config else {
        return ImageConfig::default();
    };
    ImageConfig {
        user: c.user().clone().unwrap_or_default(),
        exposed_ports: c.exposed_ports().iter().flatten().cloned().collect(),
        env: c.env().clone().unwrap_or_default(),
        entrypoint: c.entrypoint().clone(),
        cmd: c.cmd().clone(),
        volumes: c.volumes().iter().flatten().cloned().collect(),
        working_dir: c.working_dir().clone().unwrap_or_default(),
        labels: c
            .labels()
            .clone()
            .map(|l| l.into_iter().collect::<BTreeMap<_, _>>())
            .unwrap_or_default(),
    }
}

/// The image config of `built`, as an OCI image config: `ExposedPorts`
/// and `Volumes` are objects there (`{"80/tcp": {}}`), not arrays.
pub fn oci_config(built: &Built, epoch: u64) -> Result<ImageConfiguration, BuildError> {
    let mut config = serde_json::to_value(&built.config.config).expect("json");
    for field in ["ExposedPorts", "Volumes"] {
        if let Some(items) = config.get(field).and_then(|v| v.as_array()).cloned() {
            let map: serde_json::Map<String, serde_json::Value> = items
                .iter()
                .filter_map(|i| i.as_str())
                .map(|k| (k.to_owned(), json!({})))
                .collect();
            config[field] = serde_json::Value::Object(map);
        }
    }
    let value = json!({
        "created": rfc3339(epoch),
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": { "type": "layers", "diff_ids": built.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>() },
        "history": built.config.history,
    });
    serde_json::from_value(value).map_err(|e| BuildError::Plan(format!("the image config: {e}")))
}

/// Store `built` in lab 08's store, named `tag` (or unnamed): each layer
/// blob (a base image's are there already), the config, the manifest.
/// Returns the manifest digest.
pub fn commit(
    built: &Built,
    store: &images::Store,
    tag: Option<&str>,
    epoch: u64,
) -> Result<String, BuildError> {
    let mut descriptors = Vec::new();
    for layer in &built.layers {
        let desc = match &layer.blob {
            Some(desc) => desc.clone(),
            None => {
                let mut file = File::open(&layer.tar).map_err(|source| BuildError::Io {
                    what: "open",
                    path: layer.tar.clone(),
                    source,
                })?;
                // Uncompressed: the digest is the diff_id, checked as written.
                let (digest, size) = store
                    .put_blob(&mut file, Some((&layer.diff_id, layer.size)))
                    .map_err(store_error(format!("store the layer {}", layer.diff_id)))?;
                let digest = digest
                    .parse::<oci_spec::image::Digest>()
                    .map_err(|e| BuildError::Plan(format!("{digest}: {e}")))?;
                Descriptor::new(MediaType::ImageLayer, size, digest)
            }
        };
        descriptors.push(desc);
    }
    let config = oci_config(built, epoch)?;
    let desc = store
        .commit(tag, &config, descriptors)
        .map_err(store_error("commit the image".to_owned()))?;
    Ok(desc.digest().to_string())
}

/// Where a stage's or an image's filesystem is mounted for `COPY --from`.
pub fn from_root(work: &std::path::Path) -> PathBuf {
    work.join("from")
}

/// Make sure `path` exists as an empty directory (a stage with no layer
/// still needs one lower for overlay).
pub fn empty_dir(work: &std::path::Path) -> Result<PathBuf, BuildError> {
    let dir = work.join("empty");
    fs::create_dir_all(&dir).map_err(|source| BuildError::Io {
        what: "make",
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}
