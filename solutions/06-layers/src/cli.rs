//! `dockyard-06`: containers on an overlay of layers.
//!
//! ```text
//! dockyard-06 [--root DIR] run --lower DIR… [--many-layers auto|lowerdir-plus|short-links]
//!                                [--name ID] [--keep] [--hostname H] -- CMD…
//! dockyard-06 [--root DIR] create --lower DIR… ID      mount a layer; print its rootfs
//! dockyard-06 [--root DIR] rm ID                       unmount, remove the upper
//! dockyard-06 [--root DIR] diff ID|--upper DIR [-o FILE] [--gzip] [--mtime N] [--id-shift N]
//! ```
//!
//! `--lower` is given bottom-first, base layer first, as a manifest lists
//! layers. The layers live in `<root>/layers`, lab 05's state in
//! `<root>/runtime`. `run` removes the container's layer when the
//! container is gone, unless `--keep`: then it stays, unmounted, for
//! `diff` and `rm`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::diff::{DiffOptions, diff};
use crate::error::Error;
use crate::many::ManyLayers;
use crate::rwlayer::{self, CreateOptions, RwLayer};

/// Containers on an overlay of read-only layers plus a read/write layer.
#[derive(Debug, Parser)]
#[command(name = "dockyard", version)]
pub struct Cli {
    /// The layer store and the runtime's state live here.
    #[arg(long, global = true, default_value = "/var/lib/dockyard")]
    pub root: PathBuf,
    #[command(subcommand)]
    pub command: Commands,
}

/// The step `run` writes the bundle in (after the mount), for `--fail-at`.
pub const STEP_BUNDLE: &str = "write the bundle";

#[derive(Debug, Clone, clap::Args)]
pub struct LayerArgs {
    /// A read-only layer; repeat, base layer first.
    #[arg(long = "lower", required = true)]
    pub lowers: Vec<PathBuf>,
    /// Mount with `userxattr` (rootless overlay, in a user namespace).
    #[arg(long)]
    pub userxattr: bool,
    /// How to mount more layers than a page of mount data holds.
    #[arg(long, value_enum, default_value_t = ManyLayers::Auto)]
    pub many_layers: ManyLayers,
    /// For the checks: fail this step on purpose.
    #[arg(long, hide = true)]
    pub fail_at: Option<String>,
}

impl LayerArgs {
    fn options(&self) -> CreateOptions {
        CreateOptions {
            userxattr: self.userxattr,
            volatile: false,
            many: self.many_layers,
            fail_at: self.fail_at.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Run CMD in a container whose root is an overlay of the layers.
    Run {
        #[command(flatten)]
        layers: LayerArgs,
        /// The container's (and its layer's) id.
        #[arg(long)]
        name: Option<String>,
        /// Keep the read/write layer (unmounted) after the container.
        #[arg(long)]
        keep: bool,
        #[arg(long, default_value = "dockyard")]
        hostname: String,
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
    /// Make and mount a read/write layer; print its rootfs.
    Create {
        #[command(flatten)]
        layers: LayerArgs,
        id: String,
    },
    /// Unmount a layer and remove it (its upper); the lowers stay.
    Rm { id: String },
    /// Write the changes of a layer's upper as a layer tarball; print its digests (JSON).
    Diff {
        /// The layer (or give its upper directory with --upper).
        #[arg(required_unless_present = "upper")]
        id: Option<String>,
        /// An upper directory, instead of a layer's id.
        #[arg(long, conflicts_with = "id")]
        upper: Option<PathBuf>,
        /// The upper was mounted with userxattr (with --upper).
        #[arg(long)]
        userxattr: bool,
        /// Write the tarball here (default: nowhere, digests only).
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long)]
        gzip: bool,
        /// Every entry's mtime (seconds since the epoch).
        #[arg(long, default_value_t = 0)]
        mtime: u64,
        /// The host id that is 0 in the container (rootless).
        #[arg(long, default_value_t = 0)]
        id_shift: u32,
    },
}

/// Run the command line; returns the exit code.
pub fn main(cli: Cli) -> i32 {
    match execute(&cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dockyard: {err}");
            process::cli::EXIT_ENGINE
        }
    }
}

fn layer_root(root: &Path) -> PathBuf {
    root.join("layers")
}

fn execute(cli: &Cli) -> Result<i32, Error> {
    let layers = layer_root(&cli.root);
    match &cli.command {
        Commands::Run {
            layers: args,
            name,
            keep,
            hostname,
            command,
        } => {
            let id = name.clone().unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                format!("c-{}-{nanos}", std::process::id())
            });
            // A layer removed at the end need not survive a crash: no syncs.
            let opts = CreateOptions {
                volatile: !*keep,
                ..args.options()
            };
            let layer = rwlayer::create(&layers, &id, &args.lowers, &opts)?;
            let ran = run_on(&cli.root, &layer, args, hostname, command);
            // The container is gone: unmount; keep the upper only if asked.
            let cleaned = if *keep {
                layer.unmount()
            } else {
                rwlayer::remove(&layers, &id)
            };
            let code = ran?;
            cleaned?;
            Ok(code)
        }
        Commands::Create { layers: args, id } => {
            let layer = rwlayer::create(&layers, id, &args.lowers, &args.options())?;
            println!("{}", layer.rootfs().display());
            Ok(0)
        }
        Commands::Rm { id } => {
            rwlayer::remove(&layers, id)?;
            Ok(0)
        }
        Commands::Diff {
            id,
            upper,
            userxattr,
            output,
            gzip,
            mtime,
            id_shift,
        } => {
            let (upper, userxattr) = match (id, upper) {
                (Some(id), _) => {
                    let layer = RwLayer::open(&layers, id)?;
                    (layer.upper(), layer.userxattr)
                }
                (None, Some(upper)) => (upper.clone(), *userxattr),
                (None, None) => unreachable!("clap requires one"),
            };
            let opts = DiffOptions {
                gzip: *gzip,
                userxattr,
                mtime: *mtime,
                id_shift: *id_shift,
            };
            let digests = match output {
                Some(path) => {
                    let file = std::fs::File::create(path).map_err(Error::io("create", path))?;
                    diff(
                        &upper,
                        std::io::BufWriter::with_capacity(1 << 18, file),
                        &opts,
                    )?
                }
                None => diff(&upper, std::io::sink(), &opts)?,
            };
            let text = serde_json::to_string(&digests).expect("json");
            let _ = writeln!(std::io::stdout(), "{text}");
            Ok(0)
        }
    }
}

/// The runtime root of a command that makes containers (`run`), or
/// `None`: `main` re-executes from a sealed copy of the binary there first
/// (`runtime::exe::reexec_sealed_or_exit`, CVE-2019-5736).
pub fn sealed_root(cli: &Cli) -> Option<PathBuf> {
    matches!(cli.command, Commands::Run { .. }).then(|| cli.root.join("runtime"))
}

/// Lab 05's `run` on the layer: config.json, create, start, wait, delete.
fn run_on(
    root: &Path,
    layer: &RwLayer,
    args: &LayerArgs,
    hostname: &str,
    command: &[String],
) -> Result<i32, Error> {
    if args.fail_at.as_deref() == Some(STEP_BUNDLE) {
        return Err(Error::Injected {
            step: STEP_BUNDLE.into(),
        });
    }
    crate::bundle::write_config(layer, command, hostname)?;
    let bundle = runtime::bundle::Bundle::load(layer.bundle_dir())?;
    for warning in &bundle.warnings {
        eprintln!("dockyard: warning: {warning}");
    }
    let state = root.join("runtime");
    let opts = runtime::container::CreateOptions::default();
    let pid = runtime::container::create(&state, &layer.id, &bundle, &opts)?;
    let status = match runtime::container::start(&state, &layer.id) {
        Ok(()) => process::wait_pid(pid).map_err(|errno| Error::Sys {
            what: "wait for the container",
            path: layer.dir.clone(),
            errno,
        }),
        Err(err) => Err(err.into()),
    };
    let deleted = runtime::container::delete(&state, &layer.id, true);
    let status = status?;
    deleted?;
    Ok(status.code())
}
