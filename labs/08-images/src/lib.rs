//! Lab 08 — immutable images: an OCI image store.
//!
//! | module        | concept                                                        | task |
//! |---------------|----------------------------------------------------------------|------|
//! | [`store`]     | the OCI image layout: blobs named by digest, verified as written | 08.1 |
//! | [`unpack`]    | a layer (hostile input) unpacked safely, whiteouts for overlay   | 08.2 |
//! | [`archive`]   | `load` (docker save and OCI archives), `save`, `import`          | 08.3 |
//! | [`config`]    | the image config turned into the process a lab-05 bundle runs    | 08.4 |
//! | [`digest`]    | sha256 digests, hashed while bytes stream                        |      |
//! | [`cli`]       | `dockyard-08 image ls|inspect|history|tag|rm|prune`, load, save… |      |

pub mod archive;
pub mod cli;
pub mod config;
pub mod digest;
pub mod error;
pub mod store;
pub mod unpack;

pub use error::{Error, Result};
pub use store::{Image, Store};
