//! Setup steps: named data that each lab adds to.
//!
//! Between clone and exec the child sets itself up: lab 02 sets a
//! hostname and brings up `lo`, lab 03 mounts a root filesystem, and so on.
//! Each lab appends its steps to one list, in the order they must run; the
//! parent builds the list *before* the child exists (building it
//! allocates), and the child only walks it.
//!
//! A failure must reach the parent with the step's name, but the child may
//! not allocate, let alone format a message (see [`crate::child`]). So the
//! child sends only the step's *number* — its place in the list, plus one —
//! and the errno; the parent, which holds the same list, turns the number
//! back into the name.

use nix::errno::Errno;

/// What a step does; it runs in the child.
pub type Action<'a> = Box<dyn FnMut() -> Result<(), Errno> + 'a>;

/// The ordered setup steps of a container.
pub struct Steps<'a> {
    list: Vec<(&'static str, Action<'a>)>,
    fail_at: Option<usize>,
}

impl std::fmt::Debug for Steps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Default for Steps<'_> {
    fn default() -> Self {
        Steps::new()
    }
}

impl<'a> Steps<'a> {
    /// No steps (lab 01's container has none).
    pub fn new() -> Steps<'a> {
        Steps {
            list: Vec::new(),
            fail_at: None,
        }
    }

    /// Append a step. `name` completes "cannot … in the container".
    pub fn add(
        &mut self,
        name: &'static str,
        action: impl FnMut() -> Result<(), Errno> + 'a,
    ) -> &mut Steps<'a> {
        self.list.push((name, Box::new(action)));
        self
    }

    /// Append `other`'s steps after these.
    pub fn append(&mut self, other: Steps<'a>) -> &mut Steps<'a> {
        self.list.extend(other.list);
        self
    }

    /// The steps' names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.list.iter().map(|(name, _)| *name).collect()
    }

    /// For the checks: make the step called `name` fail with `ECANCELED`
    /// instead of running, to prove that a failure at any step leaves
    /// nothing behind. An unknown name is an error, so a renamed step
    /// cannot silently turn a check into a no-op.
    pub fn fail_at(&mut self, name: &str) -> Result<(), String> {
        match self.list.iter().position(|(n, _)| *n == name) {
            Some(i) => {
                self.fail_at = Some(i);
                Ok(())
            }
            None => Err(format!(
                "no setup step is called {name:?}; the steps are {:?}",
                self.names()
            )),
        }
    }

    /// In the child: run every step in order. The first failure comes back
    /// as (its number, errno). Allocates nothing.
    pub fn run(&mut self) -> Result<(), (u32, Errno)> {
        for (i, (_, action)) in self.list.iter_mut().enumerate() {
            let number = i as u32 + 1;
            if self.fail_at == Some(i) {
                return Err((number, Errno::ECANCELED));
            }
            action().map_err(|errno| (number, errno))?;
        }
        Ok(())
    }
}

/// The step names as the parent keeps them, to decode a child's report.
#[derive(Debug, Clone, Default)]
pub struct StepNames(Vec<&'static str>);

impl StepNames {
    /// The names of `steps`.
    pub fn of(steps: &Steps<'_>) -> StepNames {
        StepNames(steps.names())
    }

    /// The name of step `number` (1-based, as the child reports it).
    pub fn name(&self, number: u32) -> &'static str {
        (number as usize)
            .checked_sub(1)
            .and_then(|i| self.0.get(i))
            .copied()
            .unwrap_or("set up")
    }
}
