//! Lab 05 — the OCI runtime contract.
//!
//! Labs 01–04 start a container; this lab puts them behind the interface
//! that runc, crun and youki share, so real tools can drive them: Docker
//! asks containerd, containerd asks a shim, and the shim runs
//! `RUNTIME create --bundle DIR ID`, then `start ID`, `state ID`,
//! `kill ID SIG`, `delete ID`. A *bundle* is a directory with a
//! `config.json` (what to run and how) and a root filesystem.
//!
//! | module         | concept                                                     | task |
//! |----------------|-------------------------------------------------------------|------|
//! | [`state`]      | the state JSON, and a status derived from the process       | 05.1 |
//! | [`container`]  | create (held at the exec FIFO), start, kill, delete          | 05.2 |
//! | [`mounts`]     | config.json's mounts, masked and read-only paths, sysctls    | 05.3 |
//! | [`identity`]   | rlimits, user and groups, the five capability sets, no_new_privs | 05.3 |
//! | [`seccomp`]    | linux.seccomp compiled to BPF (`seccompiler`), loaded in the child | 05.4 |
//! | [`hooks`]      | config.json's hooks, at the points the spec names          | 05.5 |
//! | [`console`]    | process.terminal: a pty, its master sent to --console-socket | 05.6 |
//! | [`devices`]    | linux.devices, and the device cgroup (v1 files, v2 [`devfilter`]) |      |
//! | [`birth`]      | born in its cgroups: clone3 into v2, a thread's round trip on v1 |      |
//! | [`exec`]       | `exec`: one more process, joining a running container  |      |
//! | [`exe`]        | CVE-2019-5736: re-exec from a read-only overlay (or sealed memfd) |      |
//! | [`bundle`]     | config.json parsed with `oci-spec`; what is refused and why  |      |
//! | [`plan`]       | config.json turned into what the child needs, before clone   |      |
//! | [`cli`]        | the command line real callers use                            |      |

pub mod birth;
pub mod bundle;
pub mod cli;
pub mod console;
pub mod container;
pub mod devfilter;
pub mod devices;
pub mod error;
pub mod exe;
pub mod exec;
pub mod hooks;
pub mod identity;
pub mod mounts;
pub mod netns;
pub mod plan;
pub mod seccomp;
pub mod state;
pub mod update;

pub use error::Error;
pub use state::{State, Status};
