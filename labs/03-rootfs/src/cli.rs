//! `dockyard run` after lab 03: `--rootfs DIR`.

use std::path::PathBuf;

use nix::errno::Errno;
use process::SpawnError;

use crate::error::Error;
use crate::spawn::{RootMode, spawn};

/// The options of `dockyard run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RootfsArgs {
    /// The container's root filesystem (default: the host's, as in lab 02).
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// Change the root with chroot only. UNSAFE: escapable; it exists to
    /// show the breakout (book, lab 03).
    #[arg(long, hide = true)]
    pub unsafe_chroot: bool,
    #[command(flatten)]
    pub ns: namespaces::cli::NamespaceArgs,
}

/// Run the container in the foreground; returns this process's exit code.
pub fn run(args: &RootfsArgs) -> i32 {
    let cmd = args.ns.base.command();
    let config = args.ns.config();
    let mode = if args.unsafe_chroot {
        RootMode::UnsafeChroot
    } else {
        RootMode::Pivot
    };
    let forwarding = match process::cli::forwarding() {
        Ok(forwarding) => forwarding,
        Err(err) => {
            eprintln!("dockyard: {err}");
            return process::cli::EXIT_ENGINE;
        }
    };
    let child = match &args.rootfs {
        Some(rootfs) => spawn(&cmd, &config, rootfs, mode),
        None => namespaces::spawn(&cmd, &config).map_err(Error::from),
    };
    let result = child.and_then(|mut child| {
        child.start().map_err(|err| match err {
            // The parent found the program in the rootfs before anything
            // started: an ENOENT from exec means its interpreter is missing.
            SpawnError::Exec {
                program,
                errno: Errno::ENOENT,
            } if args.rootfs.is_some() => Error::Interpreter { program },
            err => err.into(),
        })?;
        Ok(child.wait_forwarding(&forwarding)?)
    });
    match result {
        Ok(status) => status.code(),
        Err(err) => {
            eprintln!("dockyard: {err}");
            err.exit_code()
        }
    }
}
