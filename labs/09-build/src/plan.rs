//! From the syntax tree to a build plan: stages, the stages the target
//! needs, and every instruction with its variables substituted — which
//! needs the ARG and ENV values at that point of the file.
//!
//! ARG's scoping, as Docker does it:
//!
//! - An ARG **before the first FROM** is global, and usable *only in FROM
//!   lines*. It does not leak into any stage.
//! - Inside a stage, `ARG NAME` without a default brings the global's
//!   value in; `ARG NAME=default` has its own default. Either way a
//!   `--build-arg NAME=value` wins. An ARG is in scope from its line to
//!   the end of its stage; a new FROM starts with none.
//! - ENV wins over an ARG of the same name. ENV persists in the image,
//!   so `FROM earlier-stage` starts with that stage's ENV; ARG does not.
//! - A `--build-arg` no ARG declares is not used (Docker warns).
//! - RUN sees the ARGs in scope as environment variables: they are part
//!   of its cache key even when the command does not name them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ast::{Command, Containerfile, Instruction};
use crate::error::{PlanError, PlanErrorKind as Kind, Pos};
use crate::subst::expand;

/// What `docker build` takes besides the file and the context.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `--build-arg NAME=VALUE`.
    pub build_args: BTreeMap<String, String>,
    /// `--target NAME`: build up to that stage (default: the last).
    pub target: Option<String>,
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Base {
    Scratch,
    /// An image reference, to be found in the image store (lab 08).
    Image(String),
    /// An earlier stage, by index.
    Stage(usize),
}

/// Where COPY takes its sources from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Source {
    /// The build context.
    Context,
    Stage(usize),
    Image(String),
}

/// One instruction, substituted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `env`: the ARGs in scope that have a value, in declaration order.
    Run {
        command: Command,
        env: Vec<(String, String)>,
    },
    Copy {
        add: bool,
        from: Source,
        chown: Option<String>,
        chmod: Option<String>,
        sources: Vec<String>,
        dest: String,
    },
    Env(Vec<(String, String)>),
    Arg(Vec<(String, Option<String>)>),
    Workdir(String),
    Expose(Vec<String>),
    Cmd(Command),
    Entrypoint(Command),
    User(String),
    Label(Vec<(String, String)>),
    Volume(Vec<String>),
}

/// A step of a stage: where it is, its text as written, what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub pos: Pos,
    pub text: String,
    pub op: Op,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub name: Option<String>,
    pub pos: Pos,
    /// The FROM line as written.
    pub text: String,
    pub base: Base,
    pub steps: Vec<Step>,
    /// The ENV at the end of the stage (what a `FROM this-stage` inherits).
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub stages: Vec<Stage>,
    /// The stage `--target` names (or the last).
    pub target: usize,
    /// The stages to build, each after those it needs; ends with `target`.
    pub order: Vec<usize>,
    /// `--build-arg`s no ARG declared, sorted (Docker warns about them).
    pub unused_args: Vec<String>,
}

/// The variables of the stage being planned.
#[derive(Debug, Default)]
pub struct Scope {
    /// ENV so far (inherited, then this stage's), later entries win.
    pub env: Vec<(String, String)>,
    /// ARGs declared in this stage, in order; `None`: declared, no value.
    pub args: Vec<(String, Option<String>)>,
}

impl Scope {
    /// A variable's value for substitution in this stage.
    pub fn lookup(&self, name: &str) -> Option<String> {
        // TASK 09.4: ENV wins over ARG; only this stage's ARGs are visible
        todo!("09.4: ENV wins over ARG; only this stage's ARGs are visible")
        // END TASK 09.4
    }

    /// The ARGs with a value, as RUN's environment.
    pub fn run_env(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (name, value) in &self.args {
            let Some(value) = value else { continue };
            match out.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value.clone(),
                None => out.push((name.clone(), value.clone())),
            }
        }
        out
    }
}

/// The value an `ARG name[=default]` line gives `name`. `default` is
/// already substituted; `globals` are the ARGs before the first FROM
/// (empty when this *is* such an ARG).
pub fn arg_value(
    name: &str,
    default: Option<String>,
    build_args: &BTreeMap<String, String>,
    globals: &BTreeMap<String, Option<String>>,
) -> Option<String> {
    // TASK 09.4: --build-arg, else the default, else the global
    todo!("09.4: --build-arg, else the default, else the global")
    // END TASK 09.4
}

struct Planner<'a> {
    escape: char,
    options: &'a BuildOptions,
    globals: BTreeMap<String, Option<String>>,
    consumed: BTreeSet<String>,
    stages: Vec<Stage>,
    scope: Scope,
    /// Edges "stage i needs stage j", for the order.
    needs: Vec<BTreeSet<usize>>,
}

impl Planner<'_> {
    fn expand_with(
        &self,
        pos: Pos,
        word: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, PlanError> {
        expand(word, self.escape, lookup)
            .map(|e| e.value)
            .map_err(|e| PlanError {
                pos,
                kind: e.into(),
            })
    }

    fn expand(&self, pos: Pos, word: &str) -> Result<String, PlanError> {
        self.expand_with(pos, word, &|name| self.scope.lookup(name))
    }

    fn all(&self, pos: Pos, words: &[String]) -> Result<Vec<String>, PlanError> {
        words.iter().map(|w| self.expand(pos, w)).collect()
    }

    fn pairs(
        &self,
        pos: Pos,
        pairs: &[(String, String)],
    ) -> Result<Vec<(String, String)>, PlanError> {
        pairs
            .iter()
            .map(|(k, v)| Ok((self.expand(pos, k)?, self.expand(pos, v)?)))
            .collect()
    }

    fn stage_named(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
    }

    fn finish_stage(&mut self) {
        if let Some(stage) = self.stages.last_mut() {
            stage.env = std::mem::take(&mut self.scope.env);
        }
    }

    fn from(&mut self, pos: Pos, text: &str, from: &crate::ast::From) -> Result<(), PlanError> {
        self.finish_stage();
        // FROM sees the global ARGs, and only them.
        let globals = self.globals.clone();
        let image = self.expand_with(pos, &from.image, &|name| {
            globals.get(name).cloned().flatten()
        })?;
        if image.is_empty() {
            return Err(PlanError {
                pos,
                kind: Kind::BlankBase(from.image.clone()),
            });
        }
        if let Some(alias) = &from.alias
            && self.stage_named(alias).is_some()
        {
            return Err(PlanError {
                pos,
                kind: Kind::DuplicateStage(alias.clone()),
            });
        }
        let mut needs = BTreeSet::new();
        let (base, env) = if image.eq_ignore_ascii_case("scratch") {
            (Base::Scratch, Vec::new())
        } else if let Some(i) = self.stage_named(&image) {
            needs.insert(i);
            (Base::Stage(i), self.stages[i].env.clone())
        } else {
            (Base::Image(image), Vec::new())
        };
        self.stages.push(Stage {
            name: from.alias.clone(),
            pos,
            text: text.to_owned(),
            base,
            steps: Vec::new(),
            env: Vec::new(),
        });
        self.needs.push(needs);
        self.scope = Scope {
            env,
            args: Vec::new(),
        };
        Ok(())
    }

    fn global_arg(&mut self, pos: Pos, args: &[(String, Option<String>)]) -> Result<(), PlanError> {
        for (name, default) in args {
            let default = match default {
                Some(d) => {
                    Some(self.expand_with(pos, d, &|n| self.globals.get(n).cloned().flatten())?)
                }
                None => None,
            };
            if self.options.build_args.contains_key(name) {
                self.consumed.insert(name.clone());
            }
            let value = arg_value(name, default, &self.options.build_args, &BTreeMap::new());
            self.globals.insert(name.clone(), value);
        }
        Ok(())
    }

    fn step(&mut self, pos: Pos, text: &str, instruction: &Instruction) -> Result<(), PlanError> {
        let current = self.stages.len() - 1;
        let op = match instruction {
            Instruction::From(_) => unreachable!("FROM starts a stage"),
            Instruction::Run(command) => Op::Run {
                command: command.clone(),
                env: self.scope.run_env(),
            },
            Instruction::Copy(copy) | Instruction::Add(copy) => {
                let from = match &copy.from {
                    None => Source::Context,
                    Some(from) => {
                        let from = self.expand(pos, from)?;
                        let source = if let Ok(index) = from.parse::<usize>() {
                            if index >= current {
                                let kind = if index == current {
                                    Kind::Circular(from)
                                } else {
                                    Kind::StageIndex(from)
                                };
                                return Err(PlanError { pos, kind });
                            }
                            Source::Stage(index)
                        } else if let Some(i) = self.stage_named(&from) {
                            if i == current {
                                return Err(PlanError {
                                    pos,
                                    kind: Kind::Circular(from),
                                });
                            }
                            Source::Stage(i)
                        } else {
                            Source::Image(from)
                        };
                        if let Source::Stage(i) = source {
                            self.needs[current].insert(i);
                        }
                        source
                    }
                };
                Op::Copy {
                    add: matches!(instruction, Instruction::Add(_)),
                    from,
                    chown: copy
                        .chown
                        .as_deref()
                        .map(|c| self.expand(pos, c))
                        .transpose()?,
                    chmod: copy
                        .chmod
                        .as_deref()
                        .map(|c| self.expand(pos, c))
                        .transpose()?,
                    sources: self.all(pos, &copy.sources)?,
                    dest: self.expand(pos, &copy.dest)?,
                }
            }
            Instruction::Env(pairs) => {
                // Every pair sees the ENV from before the line, not its neighbours.
                let pairs = self.pairs(pos, pairs)?;
                self.scope.env.extend(pairs.iter().cloned());
                Op::Env(pairs)
            }
            Instruction::Arg(args) => {
                let mut resolved = Vec::with_capacity(args.len());
                for (name, default) in args {
                    let default = default
                        .as_deref()
                        .map(|d| self.expand(pos, d))
                        .transpose()?;
                    if self.options.build_args.contains_key(name) {
                        self.consumed.insert(name.clone());
                    }
                    let value = arg_value(name, default, &self.options.build_args, &self.globals);
                    self.scope.args.push((name.clone(), value.clone()));
                    resolved.push((name.clone(), value));
                }
                Op::Arg(resolved)
            }
            Instruction::Workdir(dir) => Op::Workdir(self.expand(pos, dir)?),
            Instruction::Expose(ports) => Op::Expose(self.all(pos, ports)?),
            Instruction::Cmd(command) => Op::Cmd(command.clone()),
            Instruction::Entrypoint(command) => Op::Entrypoint(command.clone()),
            Instruction::User(user) => Op::User(self.expand(pos, user)?),
            Instruction::Label(pairs) => Op::Label(self.pairs(pos, pairs)?),
            Instruction::Volume(paths) => Op::Volume(self.all(pos, paths)?),
        };
        self.stages[current].steps.push(Step {
            pos,
            text: text.to_owned(),
            op,
        });
        Ok(())
    }
}

/// Plan the build of `file`.
pub fn plan(file: &Containerfile, options: &BuildOptions) -> Result<Plan, PlanError> {
    let mut planner = Planner {
        escape: file.directives.escape,
        options,
        globals: BTreeMap::new(),
        consumed: BTreeSet::new(),
        stages: Vec::new(),
        scope: Scope::default(),
        needs: Vec::new(),
    };
    for located in &file.instructions {
        let pos = located.pos;
        match &located.instruction {
            Instruction::From(from) => planner.from(pos, &located.text, from)?,
            Instruction::Arg(args) if planner.stages.is_empty() => planner.global_arg(pos, args)?,
            other => planner.step(pos, &located.text, other)?,
        }
    }
    planner.finish_stage();
    let last = planner.stages.len().saturating_sub(1);
    let target = match &options.target {
        None => last,
        Some(name) => planner.stage_named(name).ok_or_else(|| PlanError {
            pos: Pos { line: 1, col: 1 },
            kind: Kind::NoTarget(name.clone()),
        })?,
    };
    // Post-order from the target: each stage after the stages it needs.
    let mut order = Vec::new();
    let mut stack = vec![(target, false)];
    while let Some((stage, expanded)) = stack.pop() {
        if order.contains(&stage) {
            continue;
        }
        if expanded {
            order.push(stage);
        } else {
            stack.push((stage, true));
            for &need in planner.needs[stage].iter().rev() {
                if !order.contains(&need) {
                    stack.push((need, false));
                }
            }
        }
    }
    let unused_args = options
        .build_args
        .keys()
        .filter(|k| !planner.consumed.contains(*k))
        .cloned()
        .collect();
    Ok(Plan {
        stages: planner.stages,
        target,
        order,
        unused_args,
    })
}
