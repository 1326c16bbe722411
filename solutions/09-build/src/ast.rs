//! The typed syntax tree of a Containerfile: what each instruction says,
//! *before* variables are substituted (that needs the build's ARG and ENV
//! values, see [`crate::plan`]). Words keep their quotes and escapes.

use serde::Serialize;

use crate::error::Pos;
use crate::lines::Directives;

/// A parsed Containerfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Containerfile {
    pub directives: Directives,
    pub instructions: Vec<Located>,
}

/// An instruction, where it starts, and its logical line as written
/// (continuations joined): what `docker build` prints for the step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Located {
    pub pos: Pos,
    pub text: String,
    pub instruction: Instruction,
}

/// RUN, CMD and ENTRYPOINT take a command in one of two forms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Command {
    /// `RUN echo $HOME`: a string for the shell, run as `/bin/sh -c STRING`.
    Shell(String),
    /// `RUN ["echo", "$HOME"]`: a JSON array of strings, run as is (no
    /// shell, so no `$HOME` expansion).
    Exec(Vec<String>),
}

/// `FROM [--platform=P] IMAGE [AS NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct From {
    /// `scratch`, an image reference, or an earlier stage's name.
    pub image: String,
    /// The stage's name, lowercased (stage names are case-insensitive).
    pub alias: Option<String>,
    pub platform: Option<String>,
}

/// COPY and ADD: sources, a destination, and their flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    /// `--from=STAGE|IMAGE` (COPY only).
    pub from: Option<String>,
    /// `--chown=USER[:GROUP]`.
    pub chown: Option<String>,
    /// `--chmod=MODE`.
    pub chmod: Option<String>,
    pub sources: Vec<String>,
    pub dest: String,
}

/// One instruction. Pairs keep their order (a later one wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Instruction {
    From(From),
    Run(Command),
    Copy(Copy),
    /// ADD: like COPY, and a local tar archive is unpacked. URLs are refused.
    Add(Copy),
    Env(Vec<(String, String)>),
    /// `ARG NAME[=DEFAULT] …`
    Arg(Vec<(String, Option<String>)>),
    Workdir(String),
    Expose(Vec<String>),
    Cmd(Command),
    Entrypoint(Command),
    User(String),
    Label(Vec<(String, String)>),
    Volume(Vec<String>),
}

impl Instruction {
    /// The keyword, as Docker prints it.
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::From(_) => "FROM",
            Instruction::Run(_) => "RUN",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Env(_) => "ENV",
            Instruction::Arg(_) => "ARG",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::User(_) => "USER",
            Instruction::Label(_) => "LABEL",
            Instruction::Volume(_) => "VOLUME",
        }
    }
}
