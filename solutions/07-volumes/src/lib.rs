//! Lab 07 — volumes: data that outlives a container.
//!
//! A container's root filesystem goes with the container (lab 06's
//! read/write layer); a *volume* does not. Docker keeps each named volume
//! as a plain directory under its state dir (`volumes/NAME/_data`) and
//! bind-mounts it into every container that names it. Bind mounts of host
//! paths and tmpfs mounts come through the same door: each becomes one
//! entry of the OCI bundle's `mounts`, and lab 05's runtime mounts it.
//!
//! | module        | concept                                                          | task |
//! |---------------|------------------------------------------------------------------|------|
//! | [`resolve`]   | a mount target resolved inside the rootfs, never on the host      | 07.1 |
//! | [`store`]     | named and anonymous volumes in the state dir: create, ls, rm, prune | 07.2 |
//! | [`spec`]      | `-v` and `--mount`, Docker's grammar, as OCI mount options        | 07.3 |
//! | [`seed`]      | a new volume filled from the image's content at its mount point   | 07.4 |
//! | [`recover`]   | an engine killed mid-run: the next run cleans up after it         | 07.5 |
//! | [`record`]    | a container's record: what it uses, written before anything else  |      |
//! | [`engine`]    | `run` and `rm`: specs → volumes → bundle → lab 05's runtime       |      |
//! | [`cli`]       | the command line                                                  |      |

pub mod cli;
pub mod engine;
pub mod error;
pub mod record;
pub mod recover;
pub mod resolve;
pub mod seed;
pub mod spec;
pub mod store;

pub use error::Error;
