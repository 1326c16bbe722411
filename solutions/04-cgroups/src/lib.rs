//! Lab 04 — limits with cgroups.
//!
//! Namespaces decide what a container *sees*; control groups decide how
//! much it may *use*. A cgroup is a directory in a special filesystem: the
//! processes listed in its `cgroup.procs` are charged to it, and the
//! limits written into its files (`memory.max`, `pids.max`, `cpu.max`) are
//! enforced by the kernel on all of them together — and on their children,
//! which are born in their parent's cgroup.
//!
//! Hosts come in two versions of that filesystem, and a mix: cgroup v2 (one
//! tree, every controller in it; current distributions), cgroup v1 (one
//! tree per controller) and *hybrid* (v1 trees plus a v2 mount). So the
//! engine asks what the host has, and drives it through one trait:
//!
//! ```text
//! --memory 64m --pids-limit 32 --cpus 0.5   (Docker's flags and units)
//!        │ units                         layout: /proc/self/mountinfo
//!        ▼                                      │
//!     Limits ──────────▶ CgroupManager ◀────────┘   (V2 or V1 driver)
//!                  create, apply, add(pid) … before exec …
//!                  oom_killed, stats, freeze/thaw, kill_all, remove
//! ```
//!
//! | module        | concept                                                | task |
//! |---------------|--------------------------------------------------------|------|
//! | [`units`]     | Docker's units: `64m` is 64 MiB, `--cpus 0.5`          | 04.1 |
//! | [`layout`]    | v2, v1 or hybrid: read from the mount table            | 04.2 |
//! | [`v2`]        | the v2 driver: `memory.max`, `cpu.max`, `cpu.weight`…  | 04.3, 04.7–04.9 |
//! | [`v1`]        | the v1 driver: `memory.limit_in_bytes`, `cpu.cfs_*`…   | 04.4, 04.7–04.9 |
//! | [`cgroupfs`]  | cgroup files, and removing a cgroup                    | 04.5 |
//! | [`spawn`]     | the container in its cgroup *before* exec              | 04.6 |
//! | [`container`] | the running container: wait, OOM, stats, freeze, kill  | 04.7 |
//! | [`manager`]   | the trait both drivers implement                       |      |
//! | [`limits`]    | what a container may use, checked                      |      |
//! | [`namespace`] | a cgroup namespace, and the cgroup mounts inside       |      |
//! | [`cli`]       | `dockyard run --memory … --pids-limit … --cpus …`      |      |

pub mod cgroupfs;
pub mod cli;
pub mod container;
pub mod error;
pub mod layout;
pub mod limits;
pub mod manager;
pub mod namespace;
pub mod spawn;
pub mod units;
pub mod v1;
pub mod v2;

pub use container::{Container, Outcome};
pub use error::{CgroupError, Error};
pub use layout::Layout;
pub use limits::{CpuQuota, Limits, Swap};
pub use manager::{CgroupManager, Stats};
pub use spawn::spawn;
