//! `cargo xtask interop CLIENT`: real clients drive lab 05's reference
//! runtime, so the OCI contract is proven against the tools learners know,
//! not only against our own checks. One module per client.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;

pub(crate) mod docker;
mod oci;

/// The clients.
#[derive(Debug, Subcommand)]
pub enum Client {
    /// Docker (dockerd → containerd → containerd-shim-runc-v2 → dockyard-runtime),
    /// with a dockerd of its own in namespaces of its own.
    Docker,
    /// skopeo and umoci read lab 08's image store and archives, and lab 08
    /// loads what skopeo writes.
    Oci,
}

/// Run one client's interop; `Ok(false)` when a step failed.
pub fn run(root: &Path, client: &Client) -> Result<bool> {
    match client {
        Client::Docker => docker::run(root),
        Client::Oci => oci::run(root),
    }
}
