//! What to run: a program, its arguments and its environment.
//!
//! `execve(2)` takes C strings: NUL-terminated bytes, and arrays of pointers
//! to them ending in a null pointer. All of that is built here, in the
//! parent, *before* `fork`. After `fork` the child is a copy of one thread
//! of a possibly multi-threaded parent: if another thread held the
//! allocator's lock at that moment, the lock stays held forever in the
//! child, and a `malloc` there would hang. So the child must not allocate —
//! it only uses what [`Prepared`] already holds.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_char;

use crate::error::SpawnError;

/// The `PATH` a container gets when its environment sets none (Docker's).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A command to run. Its environment is exactly what [`Command::env`] sets:
/// a container does not inherit the host's variables.
#[derive(Debug, Clone, Default)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
}

impl Command {
    /// A command that runs `program` (a path, or a name looked up on `PATH`).
    pub fn new(program: impl Into<OsString>) -> Command {
        Command {
            program: program.into(),
            ..Command::default()
        }
    }

    /// Add one argument.
    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Command {
        self.args.push(arg.into());
        self
    }

    /// Add several arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(&mut self, args: I) -> &mut Command {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Set an environment variable (a later value for the same key wins).
    pub fn env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Command {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
        self
    }

    /// The program as given.
    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments after the program.
    pub fn get_args(&self) -> &[OsString] {
        &self.args
    }

    /// The value of an environment variable of the command.
    pub fn get_env(&self, key: &str) -> Option<&OsStr> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_os_str())
    }

    /// Turn the command into what `execve` needs, and list the paths to try:
    /// the program itself if it contains a `/`, otherwise `dir/program` for
    /// each non-empty `dir` of the command's `PATH` (or [`DEFAULT_PATH`]).
    /// (POSIX reads an empty entry as the current directory; we skip it, so
    /// that a container never runs whatever happens to be in its cwd.)
    pub fn prepare(&self) -> Result<Prepared, SpawnError> {
        // TASK 01.1: turn the command into C strings and list the paths exec will try
        todo!("01.1: turn the command into C strings and list the paths exec will try")
        // END TASK 01.1
    }
}

/// `s` as a C string, or an error saying which part of the command held a NUL.
pub fn c_string(what: &'static str, s: &OsStr) -> Result<CString, SpawnError> {
    CString::new(s.as_bytes()).map_err(|_| SpawnError::Nul {
        what,
        value: s.to_string_lossy().into_owned(),
    })
}

/// A command made ready for `execve`: C strings, and the null-terminated
/// pointer arrays that point into them.
#[derive(Debug)]
pub struct Prepared {
    candidates: Vec<CString>,
    argv: Vec<CString>,
    envp: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    envp_ptrs: Vec<*const c_char>,
}

// SAFETY: the raw pointers point into the `CString`s owned by the same
// value, which are never changed after construction; moving a `Vec<CString>`
// does not move the strings' heap buffers.
unsafe impl Send for Prepared {}
// SAFETY: as above; nothing is mutated through a shared reference.
unsafe impl Sync for Prepared {}

impl Prepared {
    /// Build the pointer arrays for `execve`.
    pub fn new(candidates: Vec<CString>, argv: Vec<CString>, envp: Vec<CString>) -> Prepared {
        let pointers = |strings: &[CString]| {
            strings
                .iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        let argv_ptrs = pointers(&argv);
        let envp_ptrs = pointers(&envp);
        Prepared {
            candidates,
            argv,
            envp,
            argv_ptrs,
            envp_ptrs,
        }
    }

    /// The paths `exec` tries, in order.
    pub fn candidates(&self) -> &[CString] {
        &self.candidates
    }

    /// `argv[0]` is the program as given, then the arguments.
    pub fn argv(&self) -> &[CString] {
        &self.argv
    }

    /// `KEY=VALUE` strings.
    pub fn envp(&self) -> &[CString] {
        &self.envp
    }

    /// The null-terminated `argv` array for `execve`.
    pub fn argv_ptr(&self) -> *const *const c_char {
        self.argv_ptrs.as_ptr()
    }

    /// The null-terminated `envp` array for `execve`.
    pub fn envp_ptr(&self) -> *const *const c_char {
        self.envp_ptrs.as_ptr()
    }
}
