//! What the metadata instructions do to the image's configuration, the
//! history entries Docker writes for every instruction, and how Docker
//! turns ENTRYPOINT and CMD into the process it runs.
//!
//! ENTRYPOINT and CMD, as Docker does it:
//!
//! - Both are stored as arrays. The shell form `CMD echo $HOME` is stored
//!   as `["/bin/sh", "-c", "echo $HOME"]`; the exec form as written.
//! - The container runs `Entrypoint ++ Cmd`: CMD gives the arguments of
//!   the ENTRYPOINT, or the whole command when there is no ENTRYPOINT.
//! - `docker run IMAGE ARGS…` replaces Cmd by ARGS; `--entrypoint X`
//!   replaces Entrypoint and clears Cmd (ARGS, if any, are the new Cmd).
//! - An ENTRYPOINT in a stage clears the CMD the stage inherited from its
//!   base (a CMD meant for another entrypoint); a CMD set in the same
//!   stage, before or after, is kept.
//! - A shell-form ENTRYPOINT runs `/bin/sh -c "…"` with Cmd as `$0`, `$1`…
//!   of that shell — which the string ignores unless it uses them: this is
//!   why `ENTRYPOINT app` with `CMD --flag` does not pass `--flag`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ast::Command;
use crate::error::Error;
use crate::ignore::clean;
use crate::plan::Op;

/// The shell the shell form runs in (Docker's default `SHELL`).
pub const SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// The image's run configuration (the `config` object of an OCI image
/// config), with Docker's field names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub exposed_ports: BTreeSet<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub volumes: BTreeSet<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One entry of the image's history, as BuildKit writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    /// RFC 3339; `SOURCE_DATE_EPOCH` when set, so the digest is reproducible.
    pub created: String,
    pub created_by: String,
    pub comment: String,
    /// True for a step that changed only the config, not the filesystem.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// The config of the stage being built, and whether this stage set CMD.
#[derive(Debug, Clone, Default)]
pub struct StageConfig {
    pub config: ImageConfig,
    pub cmd_set: bool,
    pub history: Vec<History>,
}

/// A command as the config stores it.
pub fn with_shell(command: &Command) -> Vec<String> {
    match command {
        Command::Shell(line) => SHELL
            .iter()
            .map(|s| s.to_string())
            .chain([line.clone()])
            .collect(),
        Command::Exec(args) => args.clone(),
    }
}

/// Go's `%q` of a `[]string`: `["a" "b c"]`, how BuildKit writes CMD and
/// ENTRYPOINT in history.
pub fn go_quoted(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        })
        .collect();
    format!("[{}]", quoted.join(" "))
}

/// `80` → `80/tcp`, `53/UDP` → `53/udp`, `8000-8001` → both.
pub fn port_specs(ports: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for port in ports {
        let (number, proto) = port.split_once('/').unwrap_or((port, "tcp"));
        let proto = proto.to_ascii_lowercase();
        match number
            .split_once('-')
            .map(|(a, b)| (a.parse::<u16>(), b.parse::<u16>()))
        {
            Some((Ok(a), Ok(b))) if a <= b => out.extend((a..=b).map(|p| format!("{p}/{proto}"))),
            _ => out.push(format!("{number}/{proto}")),
        }
    }
    out
}

fn set_env(env: &mut Vec<String>, name: &str, value: &str) {
    let entry = format!("{name}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) == name)
    {
        Some(slot) => *slot = entry,
        None => env.push(entry),
    }
}

impl ImageConfig {
    /// The config of `FROM scratch`: empty but for BuildKit's default PATH.
    pub fn scratch() -> ImageConfig {
        ImageConfig {
            env: vec![crate::runspec::DEFAULT_PATH.to_owned()],
            ..ImageConfig::default()
        }
    }
}

impl StageConfig {
    /// A stage starting from a base image's config (its CMD not "set" here).
    pub fn from_base(config: ImageConfig) -> StageConfig {
        StageConfig {
            config,
            cmd_set: false,
            history: Vec::new(),
        }
    }

    /// Apply ENTRYPOINT or CMD.
    pub fn command(&mut self, op: &Op) {
        // TASK 09.7: store shell form wrapped; ENTRYPOINT clears a CMD not set here
        todo!("09.7: store shell form wrapped; ENTRYPOINT clears a CMD not set here")
        // END TASK 09.7
    }

    /// Apply one step to the config and record its history entry.
    /// `created` is the entry's time (RFC 3339).
    pub fn apply(&mut self, op: &Op, created: &str) {
        let c = &mut self.config;
        let (created_by, layer) = match op {
            Op::Run { command, env } => {
                let mut words: Vec<String> = Vec::new();
                if !env.is_empty() {
                    words.push(format!("|{}", env.len()));
                    words.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
                }
                words.extend(with_shell(command));
                (format!("RUN {} # buildkit", words.join(" ")), true)
            }
            Op::Copy {
                add,
                chown,
                chmod,
                sources,
                dest,
                ..
            } => {
                let mut words = vec![if *add { "ADD" } else { "COPY" }.to_owned()];
                words.extend(chown.iter().map(|o| format!("--chown={o}")));
                words.extend(chmod.iter().map(|m| format!("--chmod={m}")));
                words.extend(sources.iter().cloned());
                words.push(dest.clone());
                (format!("{} # buildkit", words.join(" ")), true)
            }
            Op::Env(pairs) => {
                for (k, v) in pairs {
                    set_env(&mut c.env, k, v);
                }
                let shown: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                (format!("ENV {}", shown.join(" ")), false)
            }
            Op::Arg(args) => {
                let shown: Vec<String> = args
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("{k}={v}"),
                        None => k.clone(),
                    })
                    .collect();
                (format!("ARG {}", shown.join(" ")), false)
            }
            Op::Workdir(dir) => {
                let base = if c.working_dir.is_empty() {
                    "/"
                } else {
                    c.working_dir.as_str()
                };
                let joined = if dir.starts_with('/') {
                    dir.clone()
                } else {
                    format!("{base}/{dir}")
                };
                c.working_dir = clean(&joined);
                // BuildKit makes the directory: a layer, unless it is "/".
                (format!("WORKDIR {}", c.working_dir), c.working_dir != "/")
            }
            Op::Expose(ports) => {
                let specs = port_specs(ports);
                c.exposed_ports.extend(specs.iter().cloned());
                let set: BTreeSet<&String> = specs.iter().collect();
                let shown: Vec<String> = set.iter().map(|p| format!("{p}:{{}}")).collect();
                (format!("EXPOSE map[{}]", shown.join(" ")), false)
            }
            Op::Cmd(_) | Op::Entrypoint(_) => {
                self.command(op);
                let c = &self.config;
                let (name, value) = match op {
                    Op::Cmd(_) => ("CMD", c.cmd.clone().unwrap_or_default()),
                    _ => ("ENTRYPOINT", c.entrypoint.clone().unwrap_or_default()),
                };
                (format!("{name} {}", go_quoted(&value)), false)
            }
            Op::User(user) => {
                c.user = user.clone();
                (format!("USER {user}"), false)
            }
            Op::Label(pairs) => {
                let mut shown = Vec::new();
                for (k, v) in pairs {
                    c.labels.insert(k.clone(), v.clone());
                    shown.push(format!("{k}={v}"));
                }
                (format!("LABEL {}", shown.join(" ")), false)
            }
            Op::Volume(paths) => {
                c.volumes.extend(paths.iter().cloned());
                (format!("VOLUME [{}]", paths.join(" ")), false)
            }
        };
        self.history.push(History {
            created: created.to_owned(),
            created_by,
            comment: "buildkit.dockerfile.v0".to_owned(),
            empty_layer: !layer,
        });
    }
}

/// The process `docker run` starts: `entrypoint` is `--entrypoint`
/// (`Some(vec![])` for `--entrypoint ""`), `args` what follows the image.
pub fn argv(
    config: &ImageConfig,
    entrypoint: Option<Vec<String>>,
    args: &[String],
) -> Result<Vec<String>, Error> {
    // TASK 09.7: Entrypoint ++ Cmd; args replace Cmd; --entrypoint clears Cmd
    todo!("09.7: Entrypoint ++ Cmd; args replace Cmd; --entrypoint clears Cmd")
    // END TASK 09.7
}

/// RFC 3339 for seconds since the epoch (UTC), for `SOURCE_DATE_EPOCH`:
/// lab 05's.
pub use runtime::cli::rfc3339;
