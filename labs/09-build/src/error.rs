//! Errors of the builder. A Containerfile error names the line and the
//! column it is about, as `Containerfile:LINE:COL: what`, because the
//! person reading it has the file open in an editor.

use std::fmt;
use std::path::PathBuf;

/// A place in the Containerfile: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A Containerfile that cannot be read: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Containerfile:{pos}: {kind}")]
pub struct ParseError {
    pub pos: Pos,
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub fn new(pos: Pos, kind: ParseErrorKind) -> ParseError {
        ParseError { pos, kind }
    }
}

/// What is wrong. The texts follow BuildKit's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("only one {0} parser directive can be used")]
    DuplicateDirective(String),
    #[error("invalid escape token {0:?}: it must be \\ or `")]
    BadEscape(String),
    #[error("file with no instructions")]
    Empty,
    #[error("unknown instruction: {word}{}", did_you_mean(.suggestion))]
    UnknownInstruction {
        word: String,
        suggestion: Option<&'static str>,
    },
    #[error("{0} is a Dockerfile instruction this builder does not support")]
    Unsupported(&'static str),
    #[error("no build stage in current context: {0} comes before the first FROM (only ARG may)")]
    NoStage(&'static str),
    #[error("{0} requires at least one argument")]
    NoArguments(&'static str),
    #[error("{0} requires exactly one argument")]
    ExactlyOne(&'static str),
    #[error("{0} requires at least two arguments: one or more sources, then the destination")]
    TwoArguments(&'static str),
    #[error("FROM requires either one or three arguments: FROM image [AS name]")]
    FromArguments,
    #[error(
        "invalid name for build stage: {0:?}, a name starts with a letter and holds only letters, digits, '-', '_' and '.'"
    )]
    StageName(String),
    #[error("unknown flag for {instruction}: --{flag}")]
    UnknownFlag {
        instruction: &'static str,
        flag: String,
    },
    #[error("--{0} needs a value: --{0}=VALUE")]
    FlagValue(String),
    #[error("--{0} given twice")]
    DuplicateFlag(String),
    #[error(
        "RUN {0}: RUN's flags (--mount, --network, --security) are not supported by this builder"
    )]
    RunFlag(String),
    #[error(
        "heredocs (<<EOF) are not supported by this builder: use a script file, COPY it and RUN it"
    )]
    Heredoc,
    #[error("when using JSON array syntax, arrays must be comprised of strings only")]
    NotStringArray,
    #[error("Syntax error - can't find = in {0:?}. Must be of the form: name=value")]
    NoEquals(String),
    #[error("{0} names can not be blank")]
    BlankName(&'static str),
    #[error("{0} must have two arguments: {0} name value")]
    LegacyPair(&'static str),
    #[error(
        "ADD from a URL is not supported ({0}): this builder has no network; download it and COPY it, or ADD a local archive"
    )]
    AddUrl(String),
    #[error("COPY cannot take a URL ({0}); only ADD could, and this builder refuses it too")]
    CopyUrl(String),
}

fn did_you_mean(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {s}?)"),
        None => String::new(),
    }
}

/// A word that cannot be expanded (`${A`, an unmatched quote…): where in
/// the word (0-based, in bytes) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at offset {offset} of {word:?})")]
pub struct SubstError {
    pub word: String,
    pub offset: usize,
    pub kind: SubstErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstErrorKind {
    #[error("missing '}}' in a ${{…}} substitution")]
    MissingBrace,
    #[error("bad substitution: a ${{…}} needs a variable name")]
    NoName,
    #[error("unsupported modifier {0:?} in substitution (this builder knows :- :+ - +)")]
    Modifier(String),
    #[error("unexpected end of statement while looking for matching {0}")]
    Unterminated(&'static str),
}

/// A Containerfile that parses but cannot be planned: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Containerfile:{pos}: {kind}")]
pub struct PlanError {
    pub pos: Pos,
    pub kind: PlanErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanErrorKind {
    #[error(transparent)]
    Subst(#[from] SubstError),
    #[error("duplicate stage name {0:?}")]
    DuplicateStage(String),
    #[error("target stage {0:?} could not be found")]
    NoTarget(String),
    #[error("circular dependency detected on stage: {0}")]
    Circular(String),
    #[error("--from={0}: a stage index must name an earlier stage")]
    StageIndex(String),
    #[error("base name ({0:?}) should not be blank")]
    BlankBase(String),
}

/// The build context: a file that is not there, a path that leaves it.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("{0:?}: forbidden path outside the build context")]
    Outside(String),
    #[error("{0:?}: no such file or directory in the build context (or excluded by .dockerignore)")]
    NotFound(String),
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ContextError {
    pub fn io(
        what: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> ContextError {
        let path = path.to_path_buf();
        move |source| ContextError::Io { what, path, source }
    }
}

/// Whatever a command of this lab can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error("{step}: {source}")]
    Step { step: String, source: ContextError },
    #[error(transparent)]
    Build(crate::builder::BuildError),
    #[error("no command specified: the image has neither ENTRYPOINT nor CMD")]
    NoCommand,
    /// `SOURCE_DATE_EPOCH` is set to something that is not a time.
    #[error(
        "SOURCE_DATE_EPOCH={value:?} is not a number of seconds since 1970-01-01 UTC \
         (unset it for 0, or set it to e.g. `$(git log -1 --format=%ct)`)"
    )]
    Epoch { value: String },
    /// The image store of `--state-dir` cannot be opened.
    #[error("cannot open the image store in {}: {source}", dir.display())]
    Store {
        dir: std::path::PathBuf,
        source: images::Error,
    },
}
