//! Lab 09 — build: from a Containerfile to the steps of a build.
//!
//! `docker build` reads a Containerfile (a Dockerfile), plans its stages,
//! and runs each step — or skips it when the build cache holds a step
//! with the same *key*. This crate has the parser, ARG and ENV scoping,
//! `.dockerignore` and the context, the cache keys, what each instruction
//! does to the image config (ENTRYPOINT/CMD as Docker runs them, history
//! entries), and the builder.
//!
//! The builder proper: RUN in the lab-05 runtime on a lab-06 overlay, its
//! diff a layer ([`step`]); a COPY layer from the context ([`copy`]); the
//! loop with its cache and an OCI image layout out ([`builder`]); FROM an
//! image of lab 08's store and the commit into it ([`base`]); `COPY
//! --from` a stage or an image, ADD's unpacking with lab 08's safe
//! unpacker, `--chown` by name ([`from`]).
//!
//! | module        | concept                                                  | task |
//! |---------------|----------------------------------------------------------|------|
//! | [`lines`]     | parser directives, comments, continuation lines          | 09.1 |
//! | [`parse`]     | typed instructions: exec/shell forms, flags, pairs       | 09.2 |
//! | [`subst`]     | `$VAR`, `${VAR:-x}`, `${VAR:+x}`, quotes, escapes         | 09.3 |
//! | [`plan`]      | stages, ARG/ENV scoping, `--build-arg`, `--target`       | 09.4 |
//! | [`ignore`]    | `.dockerignore` with Docker's semantics                  | 09.5 |
//! | [`context`], [`cache`] | the build context; cache keys (content, not mtimes) | 09.6 |
//! | [`config`]    | ENTRYPOINT/CMD, the image config, history entries        | 09.7 |
//! | [`runspec`]   | the process a RUN step runs: argv, env, cwd, user        | 09.8 |
//! | [`step`]      | a RUN step: container on a lab-06 overlay, upper → layer | 09.9 |
//! | [`copy`]      | a COPY layer from the context: contents, owner, modes    | 09.10 |
//! | [`builder`]   | the build loop with its cache; the OCI image layout      | 09.11 |
//! | [`base`]      | FROM an image of lab 08's store (keyed by digest); commit  | 09.12 |
//! | [`from`]      | `COPY --from` a stage; ADD unpacks; `--chown=name`         | 09.13, 09.14 |
//! | [`ast`]       | the syntax tree                                          |      |
//! | [`output`]    | `docker build`'s progress lines                          |      |
//! | [`cli`]       | `dockyard-09 parse`, `dockyard-09 plan`                  |      |

pub mod ast;
pub mod base;
pub mod builder;
pub mod cache;
pub mod cli;
pub mod config;
pub mod context;
pub mod copy;
pub mod error;
pub mod from;
pub mod ignore;
pub mod lines;
pub mod output;
pub mod parse;
pub mod plan;
pub mod runspec;
pub mod step;
pub mod subst;

pub use error::{Error, ParseError, PlanError, Pos};
pub use parse::parse;
pub use plan::{BuildOptions, plan};
