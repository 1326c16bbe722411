//! `dockyard-08`: the image commands of `docker`, over the store.
//!
//! ```text
//! dockyard-08 [--state-dir DIR] [--max-layer-bytes N]
//!     load -i FILE | save -o FILE IMAGE | import ROOTFS.tar NAME
//!     image ls | inspect IMAGE | history IMAGE | tag IMAGE NAME | rm IMAGE… | prune | unpack IMAGE
//!     run [--entrypoint E] [-e K=V]… [-w DIR] [-u USER] [--hostname H] [--dry-run] IMAGE [CMD…]
//! ```

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::archive;
use crate::config::{self, ProcessPlan, RunOptions, UserFiles};
use crate::error::{Error, Result};
use crate::store::{Image, Store};
use crate::unpack::{self, Limits, Options};

/// The engine's state directory when none is given.
pub const DEFAULT_STATE: &str = "/var/lib/dockyard";

/// Images: an OCI image store, archives, and containers run from images.
#[derive(Debug, Parser)]
#[command(name = "dockyard", version)]
pub struct Cli {
    /// The engine's state directory (the image store is STATE/images).
    #[arg(long, global = true, default_value = DEFAULT_STATE)]
    pub state_dir: PathBuf,
    /// The most bytes one layer may expand to (uncompressed).
    #[arg(long, global = true, default_value_t = Limits::default().max_bytes)]
    pub max_layer_bytes: u64,
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Load the images of an archive (`docker save`'s, either format).
    Load {
        #[arg(short, long)]
        input: PathBuf,
    },
    /// Save an image as an OCI archive.
    Save {
        #[arg(short, long)]
        output: PathBuf,
        image: String,
    },
    /// Make a one-layer image from a root filesystem tarball.
    Import { tarball: PathBuf, name: String },
    /// Manage images.
    Image {
        #[command(subcommand)]
        command: ImageCommands,
    },
    /// Run a command in a new container made from an image.
    Run(RunArgs),
    /// For the benchmark: unpack a layer tarball into a new directory.
    #[command(hide = true)]
    UnpackLayer { tarball: PathBuf, dir: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommands {
    /// List images.
    Ls {
        /// Only the IDs.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Everything about an image (JSON).
    Inspect { image: String },
    /// The image's history, newest first.
    History { image: String },
    /// Give an image another name.
    Tag { image: String, name: String },
    /// Remove names (or, by ID, an image), then unused blobs and layers.
    Rm {
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Remove images without a name, unused blobs and unpacked layers.
    Prune,
    /// Unpack an image's layers (once) and print their directories, bottom first.
    Unpack { image: String },
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Replace the image's Entrypoint (and clear its Cmd); "" clears it.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Set an environment variable: KEY=VALUE, or KEY (taken from here).
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// The working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// name, uid, name:group or uid:gid (looked up in the image).
    #[arg(short, long)]
    pub user: Option<String>,
    /// The container's host name.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Print the process the container would run (JSON), and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Run the command line; returns the exit code.
pub fn main(cli: Cli) -> i32 {
    match execute(&cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("dockyard: {err}");
            1
        }
    }
}

/// The runtime root of a command that makes containers (`run`), or
/// `None`: `main` re-executes from a sealed copy of the binary there first
/// (`runtime::exe::reexec_sealed_or_exit`, CVE-2019-5736).
pub fn sealed_root(cli: &Cli) -> Option<PathBuf> {
    matches!(cli.command, Commands::Run(_)).then(|| cli.state_dir.join("runtime"))
}

fn execute(cli: &Cli) -> Result<i32> {
    let limits = Limits {
        max_bytes: cli.max_layer_bytes,
        ..Limits::default()
    };
    if let Commands::UnpackLayer { tarball, dir } = &cli.command {
        let mut file = std::fs::File::open(tarball).map_err(Error::io("open", tarball))?;
        let name = tarball.display().to_string();
        unpack::unpack_with(&name, &mut file, None, dir, &Options::new(limits))?;
        return Ok(0);
    }
    let mut store = Store::open(&cli.state_dir)?;
    store.limits = limits;
    match &cli.command {
        Commands::Load { input } => {
            for name in archive::load(&store, input)? {
                if name.starts_with("sha256:") {
                    println!("Loaded image ID: {name}");
                } else {
                    println!("Loaded image: {name}");
                }
            }
        }
        Commands::Save { output, image } => archive::save(&store, image, output)?,
        Commands::Import { tarball, name } => {
            println!("{}", archive::import(&store, tarball, name)?)
        }
        Commands::Image { command } => image_command(&store, command)?,
        Commands::Run(args) => return run(&store, &cli.state_dir, args),
        Commands::UnpackLayer { .. } => unreachable!("handled above"),
    }
    Ok(0)
}

fn short_id(id: &str) -> &str {
    &id[7..19]
}

fn image_command(store: &Store, command: &ImageCommands) -> Result<()> {
    match command {
        ImageCommands::Ls { quiet } => {
            let images = store.images()?;
            if !quiet {
                println!("{:<40} {:<16} {:<14} SIZE", "REPOSITORY", "TAG", "IMAGE ID");
            }
            for image in images {
                if *quiet {
                    println!("{}", short_id(&image.id));
                    continue;
                }
                let size: u64 = image.manifest.layers().iter().map(|l| l.size()).sum();
                let names = if image.names.is_empty() {
                    vec!["<none>:<none>".to_string()]
                } else {
                    image.names.clone()
                };
                for name in names {
                    let (repo, tag) = name.rsplit_once(':').unwrap_or((&name, ""));
                    println!("{repo:<40} {tag:<16} {:<14} {size}", short_id(&image.id));
                }
            }
        }
        ImageCommands::Inspect { image } => {
            let image = store.resolve(image)?;
            let text =
                serde_json::to_string_pretty(&serde_json::json!([inspect(&image)])).expect("json");
            println!("{text}");
        }
        ImageCommands::History { image } => {
            let image = store.resolve(image)?;
            println!("{:<60} {:<6} COMMENT", "CREATED BY", "LAYER");
            for entry in image.config.history().iter().flatten().rev() {
                let by = entry.created_by().clone().unwrap_or_default();
                let layer = if entry.empty_layer() == Some(true) {
                    "no"
                } else {
                    "yes"
                };
                println!(
                    "{by:<60} {layer:<6} {}",
                    entry.comment().clone().unwrap_or_default()
                );
            }
        }
        ImageCommands::Tag { image, name } => store.tag(image, name)?,
        ImageCommands::Rm { images } => {
            for image in images {
                for name in store.remove(image)? {
                    println!("Untagged: {name}");
                }
            }
        }
        ImageCommands::Prune => {
            let pruned = store.prune()?;
            println!(
                "Deleted {} blobs and {} unpacked layers; reclaimed {} bytes",
                pruned.blobs, pruned.layers, pruned.bytes
            );
        }
        ImageCommands::Unpack { image } => {
            let image = store.resolve(image)?;
            for dir in store.layer_dirs(&image)? {
                println!("{}", dir.display());
            }
        }
    }
    Ok(())
}

/// What `image inspect` prints, shaped like Docker's.
pub fn inspect(image: &Image) -> serde_json::Value {
    serde_json::json!({
        "Id": image.id,
        "RepoTags": image.names,
        "ManifestDigest": image.manifest_digest,
        "Architecture": image.config.architecture().to_string(),
        "Os": image.config.os().to_string(),
        "Config": image.config.config(),
        "RootFS": { "Type": "layers", "Layers": image.config.rootfs().diff_ids() },
        "Layers": image.manifest.layers(),
        "Size": image.manifest.layers().iter().map(|l| l.size()).sum::<u64>(),
    })
}

/// A file of the image as the container will see it: from the top layer
/// down, stopped by a whiteout or an opaque directory; opened without
/// following a symlink anywhere (a symlinked /etc/passwd is not read).
pub fn image_file(layers: &[PathBuf], dir: &str, name: &str) -> Option<String> {
    use nix::fcntl::{OFlag, open, openat};
    use nix::sys::stat::{Mode, SFlag, fstat};
    use std::io::Read;
    use std::os::fd::AsFd;
    for layer in layers.iter().rev() {
        let root = open(
            layer.as_path(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let c_dir = std::ffi::CString::new(dir).ok()?;
        let Ok(parent) = rootfs::target::walk_in(root.as_fd(), &c_dir, OFlag::O_DIRECTORY) else {
            continue; // not in this layer (or behind a link: not followed)
        };
        match openat(
            parent.as_fd(),
            name,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => {
                let kind = SFlag::from_bits_truncate(fstat(&fd).ok()?.st_mode) & SFlag::S_IFMT;
                if kind != SFlag::S_IFREG {
                    return None; // a whiteout (0/0 device) or not a file
                }
                let mut text = String::new();
                std::fs::File::from(fd)
                    .take(1 << 20)
                    .read_to_string(&mut text)
                    .ok()?;
                return Some(text);
            }
            Err(nix::errno::Errno::ENOENT) if !is_opaque(&layer.join(dir)) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Whether the directory `path` is opaque in its layer (hides the layers below).
fn is_opaque(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    let mut value = [0u8; 1];
    // SAFETY: NUL-terminated names, a 1-byte buffer.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            value.as_mut_ptr().cast(),
            1,
        )
    };
    n == 1 && value[0] == b'y'
}

fn run_options(args: &RunArgs) -> RunOptions {
    let env = args
        .env
        .iter()
        .filter_map(|var| match var.split_once('=') {
            Some(_) => Some(var.clone()),
            // `-e KEY`: this process's value, or nothing.
            None => std::env::var(var).ok().map(|v| format!("{var}={v}")),
        })
        .collect();
    RunOptions {
        entrypoint: args.entrypoint.clone(),
        args: args.command.clone(),
        env,
        workdir: args.workdir.clone(),
        user: args.user.clone(),
    }
}

/// A container's id: 12 random hex digits, as Docker's short ids.
fn new_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 6];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ANCHOR: run
/// `run IMAGE [CMD…]`: the image's layers (unpacked once, checked) as the
/// lowers of a new read/write layer (lab 06), the config turned into a
/// lab-05 bundle on it, run to its end; then the container and its
/// read/write layer are removed, whatever happened.
fn run(store: &Store, state: &Path, args: &RunArgs) -> Result<i32> {
    let image = store.resolve(&args.image)?;
    let lowers = store.layer_dirs(&image)?;
    let files = UserFiles {
        passwd: image_file(&lowers, "etc", "passwd"),
        group: image_file(&lowers, "etc", "group"),
    };
    let plan = config::plan(image.config.config().as_ref(), &run_options(args), &files)
        .map_err(|why| Error::invalid(format!("image {}", args.image), why))?;
    if args.dry_run {
        println!("{}", serde_json::to_string_pretty(&plan).expect("json"));
        return Ok(0);
    }
    let id = new_id();
    let hostname = args.hostname.clone().unwrap_or_else(|| id.clone());
    let containers = state.join("containers");
    let options = layers::rwlayer::CreateOptions {
        volatile: true, // removed when the container ends: never synced
        ..Default::default()
    };
    let layer = layers::rwlayer::create(&containers, &id, &lowers, &options)?;
    let result = run_on(&layer, state, &plan, &hostname);
    let removed = layers::rwlayer::remove(&containers, &id);
    let code = result?;
    removed?;
    Ok(code)
}

/// The bundle on the layer, then lab 05's create, start, wait, delete.
fn run_on(
    layer: &layers::rwlayer::RwLayer,
    state: &Path,
    plan: &ProcessPlan,
    hostname: &str,
) -> Result<i32> {
    let mut spec = oci_spec::runtime::Spec::default();
    let root = oci_spec::runtime::RootBuilder::default()
        .path(layer.rootfs())
        .readonly(false)
        .build()
        .expect("a root always builds");
    spec.set_root(Some(root));
    spec.set_hostname(Some(hostname.into()));
    config::apply(&mut spec, plan);
    let path = layer.bundle_dir().join("config.json");
    let text = serde_json::to_string_pretty(&spec).expect("json");
    std::fs::write(&path, text + "\n").map_err(Error::io("write", &path))?;
    let bundle = runtime::bundle::Bundle::load(layer.bundle_dir())?;
    for warning in &bundle.warnings {
        eprintln!("dockyard: warning: {warning}");
    }
    let runtime_root = state.join("runtime");
    let opts = runtime::container::CreateOptions::default();
    let pid = runtime::container::create(&runtime_root, &layer.id, &bundle, &opts)?;
    let status = match runtime::container::start(&runtime_root, &layer.id) {
        Ok(()) => process::wait_pid(pid).map_err(|errno| Error::Io {
            what: "wait for the container",
            path: layer.dir.clone(),
            source: errno.into(),
        }),
        Err(err) => Err(err.into()),
    };
    let deleted = runtime::container::delete(&runtime_root, &layer.id, true);
    let status = status?;
    deleted?;
    Ok(status.code())
}
// ANCHOR_END: run
