//! `dockyard-09 parse` and `dockyard-09 plan`: the parser's tree, and the
//! steps a build would run with their cache keys; `dockyard-09 build`,
//! into lab 08's image store (`-t`) and, with `-o`, an OCI image layout.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cache::keys;
use crate::config::{ImageConfig, StageConfig, rfc3339};
use crate::context::Context;
use crate::error::Error;
use crate::output;
use crate::plan::{Base, BuildOptions, Plan, plan};

#[derive(Debug, Parser)]
#[command(
    name = "dockyard",
    about = "Lab 09: a Containerfile, parsed and planned"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Print the syntax tree of a Containerfile as JSON.
    Parse {
        /// The Containerfile.
        #[arg(short = 'f', long = "file", default_value = "Containerfile")]
        file: PathBuf,
    },
    /// Print the steps a build of CONTEXT would run, each with its cache key.
    Plan {
        /// The Containerfile (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile).
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// NAME=VALUE for an ARG.
        #[arg(long = "build-arg", value_name = "NAME=VALUE")]
        build_args: Vec<String>,
        /// Plan up to this stage.
        #[arg(long)]
        target: Option<String>,
        /// Also print the target stage's image config and history (JSON),
        /// dated SOURCE_DATE_EPOCH (default 0). A base image's own config
        /// is not known yet (lab 08).
        #[arg(long)]
        config: bool,
        context: PathBuf,
    },
    /// Build CONTEXT's Containerfile into lab 08's image store (FROM an
    /// image of that store, or scratch), and/or into an OCI image layout
    /// (`-o`). Needs root.
    Build {
        #[arg(short = 'f', long = "file")]
        file: Option<PathBuf>,
        /// The image's name (and tag) in the store, and in the layout's index.json.
        #[arg(short = 't', long = "tag")]
        tag: Option<String>,
        /// The engine's state directory: lab 08's image store is STATE/images.
        #[arg(long, default_value = images::cli::DEFAULT_STATE)]
        state_dir: PathBuf,
        #[arg(long = "build-arg", value_name = "NAME=VALUE")]
        build_args: Vec<String>,
        #[arg(long)]
        target: Option<String>,
        /// Run every step, even those the cache holds.
        #[arg(long)]
        no_cache: bool,
        /// The builder's state: cache, layers.
        #[arg(long, default_value = "/var/lib/dockyard/build")]
        state: PathBuf,
        /// Also write the image as an OCI image layout there.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        context: PathBuf,
    },
}

/// Run the command; the exit code.
pub fn main(cli: Cli) -> i32 {
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dockyard: {e}");
            1
        }
    }
}

fn read(path: &PathBuf) -> Result<String, Error> {
    fs::read_to_string(path)
        .map_err(|e| Error::Context(crate::error::ContextError::io("read", path)(e)))
}

/// The runtime root of a command that makes containers (`build`: its RUN
/// steps), or `None`: `main` re-executes from a sealed copy of the binary
/// there first (`runtime::exe::reexec_sealed_or_exit`, CVE-2019-5736).
pub fn sealed_root(cli: &Cli) -> Option<PathBuf> {
    match &cli.command {
        Cmd::Build { state, .. } => Some(state.join("runtime")),
        _ => None,
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Cmd::Parse { file } => {
            let tree = crate::parse(&read(&file)?)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&tree).expect("the tree serializes")
            );
        }
        Cmd::Build {
            file,
            tag,
            state_dir,
            build_args,
            target,
            no_cache,
            state,
            output,
            context,
        } => {
            let (planned, ctx) = plan_in(file, &context, build_args, target)?;
            let epoch = source_date_epoch(std::env::var_os("SOURCE_DATE_EPOCH"))?;
            let request = crate::builder::Request {
                plan: &planned,
                context: &ctx,
                work: state,
                no_cache,
                epoch,
            };
            let store = images::Store::open(&state_dir).map_err(|source| Error::Store {
                dir: state_dir.clone(),
                source,
            })?;
            let built = crate::builder::build_with(&request, Some(&store), &mut std::io::stderr())
                .map_err(Error::Build)?;
            if let Some(output) = output {
                let digest = crate::builder::write_layout(&built, &output, tag.as_deref(), epoch)
                    .map_err(Error::Build)?;
                eprintln!("written to {}: {digest}", output.display());
            }
            let digest =
                crate::base::commit(&built, &store, tag.as_deref(), epoch).map_err(Error::Build)?;
            println!("{digest}");
        }
        Cmd::Plan {
            file,
            build_args,
            target,
            config,
            context,
        } => {
            let (planned, ctx) = plan_in(file, &context, build_args, target)?;
            let keys = keys(&planned, &ctx)?;
            print_plan(&planned, &keys);
            if !planned.unused_args.is_empty() {
                eprintln!(
                    "[Warning] One or more build-args {:?} were not consumed",
                    planned.unused_args
                );
            }
            if config {
                let epoch = source_date_epoch(std::env::var_os("SOURCE_DATE_EPOCH"))?;
                let created = rfc3339(epoch);
                let stage_config = stage_configs(&planned, &created);
                let json = serde_json::json!({
                    "config": stage_config.config,
                    "history": stage_config.history,
                });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).expect("serializes")
                );
            }
        }
    }
    Ok(())
}

/// The config and history of the target stage, each stage applied on its
/// base's. An image's own config is not known yet (lab 08's store): such
/// a base counts as empty.
fn stage_configs(plan: &Plan, created: &str) -> StageConfig {
    let mut done: Vec<Option<StageConfig>> = vec![None; plan.stages.len()];
    for &index in &plan.order {
        let stage = &plan.stages[index];
        let mut config = match &stage.base {
            Base::Scratch => StageConfig::from_base(ImageConfig::scratch()),
            Base::Image(_) => StageConfig::from_base(ImageConfig::default()),
            Base::Stage(i) => {
                let base = done[*i].clone().unwrap_or_default();
                StageConfig {
                    config: base.config,
                    cmd_set: false,
                    history: base.history,
                }
            }
        };
        for step in &stage.steps {
            config.apply(&step.op, created);
        }
        done[index] = Some(config);
    }
    done[plan.target].take().unwrap_or_default()
}

/// CONTEXT/Containerfile, else CONTEXT/Dockerfile.
/// The Containerfile (`-f`, or the context's), parsed and planned with
/// the build args and target, and the context it builds from: what `build`
/// and `plan` both start with.
/// The build's time: `SOURCE_DATE_EPOCH` (the reproducible-builds
/// convention: seconds since 1970 UTC, digits only), 0 when unset. Anything
/// else is an error: a typo must not quietly make every date 1970.
fn source_date_epoch(value: Option<std::ffi::OsString>) -> Result<u64, Error> {
    let Some(value) = value else {
        return Ok(0);
    };
    let text = value.to_string_lossy();
    match text.parse::<u64>() {
        Ok(seconds) if !text.starts_with('+') => Ok(seconds),
        _ => Err(Error::Epoch {
            value: text.into_owned(),
        }),
    }
}

fn plan_in(
    file: Option<PathBuf>,
    context: &std::path::Path,
    build_args: Vec<String>,
    target: Option<String>,
) -> Result<(crate::plan::Plan, Context), Error> {
    let file = file.unwrap_or_else(|| default_file(context));
    let tree = crate::parse(&read(&file)?)?;
    let options = BuildOptions {
        build_args: build_args_map(build_args),
        target,
    };
    let planned = plan(&tree, &options)?;
    let ctx = Context::open(context, Some(&file))?;
    Ok((planned, ctx))
}

fn default_file(context: &std::path::Path) -> PathBuf {
    let containerfile = context.join("Containerfile");
    if containerfile.exists() {
        containerfile
    } else {
        context.join("Dockerfile")
    }
}

/// `--build-arg NAME=VALUE`; `NAME` alone takes it from the environment, as Docker does.
fn build_args_map(build_args: Vec<String>) -> BTreeMap<String, String> {
    let mut args = BTreeMap::new();
    for arg in build_args {
        match arg.split_once('=') {
            Some((k, v)) => args.insert(k.to_owned(), v.to_owned()),
            None => std::env::var(&arg).ok().and_then(|v| args.insert(arg, v)),
        };
    }
    args
}

fn print_plan(plan: &Plan, keys: &[Vec<crate::cache::Digest>]) {
    let mut n = 0;
    for &index in &plan.order {
        let stage = &plan.stages[index];
        let m = stage.steps.len() + 1;
        let texts =
            std::iter::once(stage.text.as_str()).chain(stage.steps.iter().map(|s| s.text.as_str()));
        for (k, (text, key)) in texts.zip(&keys[index]).enumerate() {
            n += 1;
            let label = output::label(stage.name.as_deref(), index, plan.stages.len(), k + 1, m);
            println!("{}", output::step(n, &label, text));
            println!("#{n} key {key}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_is_digits_or_unset() {
        assert_eq!(source_date_epoch(None).unwrap(), 0);
        assert_eq!(
            source_date_epoch(Some("1700000000".into())).unwrap(),
            1_700_000_000
        );
        for bad in ["", "yesterday", "-1", "+5", "1.5", "17e8", " 1"] {
            let err = source_date_epoch(Some(bad.into())).unwrap_err().to_string();
            assert!(
                err.contains("SOURCE_DATE_EPOCH") && err.contains(&format!("{bad:?}")),
                "{bad:?}: {err}"
            );
        }
    }
}
