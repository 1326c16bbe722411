//! The build loop: every step of every stage the target needs, in order,
//! either found in the cache by its key (09.6) or run — RUN with
//! [`crate::step::run_step`], COPY with [`crate::copy::copy_layer`], the
//! rest as a change of the config (09.7) — then the image written as an
//! OCI image layout (what `docker buildx build --output type=oci` gives).
//!
//! Reproducible: the layers' times, the history's and the config's
//! `created` are `SOURCE_DATE_EPOCH` (0 without it), entries are sorted,
//! owners fixed; the same context and Containerfile give the same
//! manifest digest, build after build and machine after machine.
//!
//! With lab 08's store ([`build_with`]): `FROM` an image of the store and
//! `COPY --from` an image ([`crate::base`]); `COPY --from` a stage, ADD's
//! unpacking and `--chown` by name ([`crate::from`]) need no store.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::base::BaseImage;
use crate::cache::{Digest, keys_with, sha256};
use crate::config::{ImageConfig, StageConfig, rfc3339};
use crate::context::Context;
use crate::copy::{copy_layer, destination};
use crate::output;
use crate::plan::{Base, Op, Plan, Source};
use crate::runspec::run_process;
use crate::step::{Ran, StepError, run_step};

/// What can stop a build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{step}: {source}")]
    Step { step: String, source: StepError },
    #[error("{0}")]
    Plan(String),
    #[error("{step}: {what} is not supported by this builder yet")]
    Unsupported { step: String, what: String },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BuildError {
    let path = path.to_path_buf();
    move |source| BuildError::Io { what, path, source }
}

/// A layer of the image being built.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Layer {
    pub diff_id: String,
    pub size: u64,
    /// The layer tar.
    pub tar: PathBuf,
    /// The layer as a directory: a lower for the steps after it.
    pub dir: PathBuf,
    /// A base image's layer: its blob's descriptor in lab 08's store
    /// (maybe compressed), reused as it is by the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<oci_spec::image::Descriptor>,
}

impl From<Ran> for Layer {
    fn from(ran: Ran) -> Layer {
        Layer {
            diff_id: ran.digests.diff_id,
            size: ran.digests.size,
            tar: ran.tar,
            dir: ran.layer_dir,
            blob: None,
        }
    }
}

/// What a build is asked.
pub struct Request<'a> {
    pub plan: &'a Plan,
    pub context: &'a Context,
    /// The builder's state: the cache and the layers.
    pub work: PathBuf,
    pub no_cache: bool,
    /// `SOURCE_DATE_EPOCH`.
    pub epoch: u64,
}

/// A finished build.
#[derive(Debug, Clone)]
pub struct Built {
    pub layers: Vec<Layer>,
    pub config: StageConfig,
    /// Per step that makes a layer: its text and whether it came from the cache.
    pub steps: Vec<(String, bool)>,
}

#[derive(Clone)]
struct Stage {
    layers: Vec<Layer>,
    config: StageConfig,
}

/// The cache entry of a step with a layer: `work/cache/<key>.json`.
fn cached(work: &Path, key: &Digest) -> Option<Layer> {
    let text = fs::read_to_string(work.join("cache").join(format!("{}.json", hex(key)))).ok()?;
    let layer: Layer = serde_json::from_str(&text).ok()?;
    (layer.dir.exists() && layer.tar.exists()).then_some(layer)
}

fn hex(key: &Digest) -> String {
    key.to_string().trim_start_matches("sha256:").to_owned()
}

/// WORKDIR makes its directory: a layer of it (BuildKit does the same).
fn workdir_layer(
    work: &Path,
    id: &str,
    dir: &str,
    owner: (u32, u32),
    epoch: u64,
) -> Result<Ran, StepError> {
    let root = work.join("diffs").join(id);
    if root.exists() {
        fs::remove_dir_all(&root).map_err(|source| StepError::Io {
            what: "remove",
            path: root.clone(),
            source,
        })?;
    }
    let mut path = root.clone();
    fs::create_dir_all(&root).map_err(|source| StepError::Io {
        what: "make",
        path: root.clone(),
        source,
    })?;
    for part in Path::new(dir).components().skip(1) {
        path.push(part);
        fs::create_dir(&path).map_err(|source| StepError::Io {
            what: "make",
            path: path.clone(),
            source,
        })?;
        std::os::unix::fs::chown(&path, Some(owner.0), Some(owner.1)).map_err(|source| {
            StepError::Io {
                what: "chown",
                path: path.clone(),
                source,
            }
        })?;
    }
    let tar = work.join(format!("{id}.tar"));
    let file = fs::File::create(&tar).map_err(|source| StepError::Io {
        what: "create",
        path: tar.clone(),
        source,
    })?;
    let options = layers::DiffOptions {
        gzip: false,
        userxattr: false,
        mtime: epoch,
        id_shift: 0,
    };
    let digests = layers::diff(&root, file, &options)?;
    Ok(Ran {
        digests,
        tar,
        layer_dir: root,
    })
}

fn numeric_owner(chown: &Option<String>) -> Option<(u32, u32)> {
    match chown {
        None => Some((0, 0)),
        Some(spec) => {
            let (u, g) = spec.split_once(':').unwrap_or((spec, spec));
            Some((u.parse().ok()?, g.parse().ok()?))
        }
    }
}

/// A COPY from a stage's or an image's layers: they are mounted as an
/// overlay (its upper stays empty: nothing writes there) and read as a
/// context without `.dockerignore`; unmounted and removed after.
fn copy_from_layers(
    work: &Path,
    id: &str,
    lowers: &[PathBuf],
    sources: &[String],
    dest: &str,
    owner: (u32, u32),
    epoch: u64,
) -> Result<Ran, StepError> {
    let root = crate::base::from_root(work);
    let lowers = if lowers.is_empty() {
        vec![crate::base::empty_dir(work).map_err(|e| StepError::Io {
            what: "make",
            path: work.join("empty"),
            source: std::io::Error::other(e.to_string()),
        })?]
    } else {
        lowers.to_vec()
    };
    let options = layers::CreateOptions {
        volatile: true,
        ..Default::default()
    };
    let layer = layers::rwlayer::create(&root, id, &lowers, &options)?;
    let context = Context {
        root: layer.rootfs(),
        ignore: Default::default(),
    };
    let result = copy_layer(work, id, &context, sources, dest, owner, epoch);
    let removed = layers::rwlayer::remove(&root, id);
    let ran = result?;
    removed?;
    Ok(ran)
}

/// Build the plan's target; progress lines go to `progress`. Without an
/// image store: `FROM scratch` and stages only.
pub fn build(request: &Request, progress: &mut dyn Write) -> Result<Built, BuildError> {
    build_with(request, None, progress)
}

/// [`build`], with lab 08's store for `FROM image` and `COPY --from=image`.
pub fn build_with(
    request: &Request,
    store: Option<&images::Store>,
    progress: &mut dyn Write,
) -> Result<Built, BuildError> {
    let plan = request.plan;
    let work = &request.work;
    for dir in ["cache", "diffs"] {
        fs::create_dir_all(work.join(dir)).map_err(io("make", &work.join(dir)))?;
    }
    // Every image the plan names, resolved once: a name that moves during
    // the build does not change what this build sees.
    let mut bases: BTreeMap<String, BaseImage> = BTreeMap::new();
    for &index in &plan.order {
        let stage = &plan.stages[index];
        let named = std::iter::once(match &stage.base {
            Base::Image(r) => Some(r.clone()),
            _ => None,
        })
        .chain(stage.steps.iter().map(|step| match &step.op {
            Op::Copy {
                from: Source::Image(r),
                ..
            } => Some(r.clone()),
            _ => None,
        }));
        for reference in named.flatten() {
            if bases.contains_key(&reference) {
                continue;
            }
            let Some(store) = store else {
                return Err(BuildError::Unsupported {
                    step: stage.text.clone(),
                    what: format!("an image ({reference}) without lab 08's image store"),
                });
            };
            bases.insert(reference.clone(), crate::base::load(store, &reference)?);
        }
    }
    let digests: BTreeMap<String, String> = bases
        .iter()
        .map(|(r, b)| (r.clone(), b.manifest_digest.clone()))
        .collect();
    let image_dirs: BTreeMap<String, Vec<PathBuf>> = bases
        .iter()
        .map(|(r, b)| (r.clone(), b.layers.iter().map(|l| l.dir.clone()).collect()))
        .collect();
    let keys =
        keys_with(plan, request.context, &digests).map_err(|e| BuildError::Plan(e.to_string()))?;
    let created = rfc3339(request.epoch);
    let mut stages: Vec<Option<Stage>> = vec![None; plan.stages.len()];
    let mut report = Vec::new();
    let mut n = 0;
    for &index in &plan.order {
        let stage = &plan.stages[index];
        let m = stage.steps.len() + 1;
        let label = |k: usize| output::label(stage.name.as_deref(), index, plan.stages.len(), k, m);
        n += 1;
        let _ = writeln!(progress, "{}", output::step(n, &label(1), &stage.text));
        let mut current = match &stage.base {
            Base::Scratch => Stage {
                layers: Vec::new(),
                config: StageConfig::from_base(ImageConfig::scratch()),
            },
            Base::Stage(i) => {
                let base = stages[*i]
                    .clone()
                    .expect("a stage is built after the stages it needs");
                Stage {
                    layers: base.layers,
                    config: StageConfig {
                        cmd_set: false,
                        ..base.config
                    },
                }
            }
            Base::Image(reference) => {
                let base = &bases[reference];
                Stage {
                    layers: base.layers.clone(),
                    config: StageConfig {
                        config: base.config.clone(),
                        cmd_set: false,
                        history: base.history.clone(),
                    },
                }
            }
        };
        for (k, step) in stage.steps.iter().enumerate() {
            n += 1;
            let key = keys[index][k + 1];
            let _ = writeln!(progress, "{}", output::step(n, &label(k + 2), &step.text));
            let started = Instant::now();
            let id = hex(&key)[..16].to_owned();
            let lowers: Vec<PathBuf> = current.layers.iter().map(|l| l.dir.clone()).collect();
            let failed = |source| BuildError::Step {
                step: format!("Containerfile:{}: {}", step.pos, step.text),
                source,
            };
            let hit = if request.no_cache {
                None
            } else {
                cached(work, &key)
            };
            let was_cached = hit.is_some();
            let layer: Option<Layer> = match (&step.op, hit) {
                (_, Some(layer)) => Some(layer),
                (Op::Run { command, env }, None) => {
                    let process = run_process(&current.config.config, command, env);
                    Some(
                        run_step(work, &id, &lowers, &process, request.epoch)
                            .map_err(failed)?
                            .into(),
                    )
                }
                (
                    Op::Copy {
                        from,
                        add,
                        chown,
                        sources,
                        dest,
                        ..
                    },
                    None,
                ) => {
                    let owner = crate::from::owner(chown, &lowers)
                        .map_err(|e| BuildError::Plan(format!("{}: {e}", step.text)))?;
                    let absolute = destination(&current.config.config.working_dir, dest);
                    let dest = if dest.ends_with('/') {
                        format!("{absolute}/")
                    } else {
                        absolute
                    };
                    let built_stages: Vec<Option<Vec<PathBuf>>> = stages
                        .iter()
                        .map(|s| {
                            s.as_ref()
                                .map(|s| s.layers.iter().map(|l| l.dir.clone()).collect())
                        })
                        .collect();
                    let paths: Vec<PathBuf> = sources
                        .iter()
                        .map(|s| request.context.root.join(s.trim_start_matches('/')))
                        .collect();
                    // The context needs no layers (and no 09.13 code).
                    let from_layers = match from {
                        Source::Context => None,
                        from => crate::from::source_layers(from, &built_stages, &image_dirs),
                    };
                    let ran = match from_layers {
                        None if *add && paths.iter().all(|p| crate::from::is_archive(p)) => {
                            crate::from::add_archives(work, &id, &paths, &dest, request.epoch)
                        }
                        None if *add && paths.iter().any(|p| crate::from::is_archive(p)) => {
                            return Err(BuildError::Unsupported {
                                step: step.text.clone(),
                                what: "ADD of archives mixed with other sources".into(),
                            });
                        }
                        None => copy_layer(
                            work,
                            &id,
                            request.context,
                            sources,
                            &dest,
                            owner,
                            request.epoch,
                        ),
                        Some(layers) => copy_from_layers(
                            work,
                            &id,
                            &layers,
                            sources,
                            &dest,
                            owner,
                            request.epoch,
                        ),
                    };
                    Some(ran.map_err(failed)?.into())
                }
                (Op::Workdir(_), None) => {
                    // Apply first, to know the resulting directory.
                    let mut probe = current.config.clone();
                    probe.apply(&step.op, &created);
                    let dir = probe.config.working_dir.clone();
                    if dir == "/" {
                        None
                    } else {
                        let owner = numeric_owner(
                            &Some(current.config.config.user.clone()).filter(|u| !u.is_empty()),
                        )
                        .unwrap_or((0, 0));
                        Some(
                            workdir_layer(work, &id, &dir, owner, request.epoch)
                                .map_err(failed)?
                                .into(),
                        )
                    }
                }
                _ => None,
            };
            current.config.apply(&step.op, &created);
            let made_layer = layer.is_some();
            if let Some(layer) = layer {
                let entry = work.join("cache").join(format!("{}.json", hex(&key)));
                let text = serde_json::to_string(&layer).expect("a layer serializes");
                fs::write(&entry, text).map_err(io("write", &entry))?;
                current.layers.push(layer);
            }
            let line = if was_cached {
                output::cached(n)
            } else {
                output::done(n, started.elapsed())
            };
            let _ = writeln!(progress, "{line}");
            if made_layer {
                report.push((step.text.clone(), was_cached));
            }
        }
        stages[index] = Some(current);
    }
    let target = stages[plan.target]
        .take()
        .expect("the target is built last");
    Ok(Built {
        layers: target.layers,
        config: target.config,
        steps: report,
    })
}

/// Write `built` as an OCI image layout in `dir` (tagged `tag`); the
/// manifest's digest.
pub fn write_layout(
    built: &Built,
    dir: &Path,
    tag: Option<&str>,
    epoch: u64,
) -> Result<String, BuildError> {
    let blobs = dir.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(io("make", &blobs))?;
    let put = |bytes: &[u8]| -> Result<(String, u64), BuildError> {
        let digest = sha256(bytes).to_string();
        let path = blobs.join(digest.trim_start_matches("sha256:"));
        fs::write(&path, bytes).map_err(io("write", &path))?;
        Ok((digest, bytes.len() as u64))
    };
    // TASK 09.11: layers, then the config (diff_ids, history, created), the manifest, index.json
    todo!("09.11: layers, then the config (diff_ids, history, created), the manifest, index.json")
    // END TASK 09.11
}
