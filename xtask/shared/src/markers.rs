//! Solution markers: how a reference solution becomes a starter.
//!
//! In `solutions/`, the code a learner writes sits between two comments:
//!
//! ```text
//! // TASK 01.3: block until the parent writes its byte
//! …reference code…
//! // END TASK 01.3
//! ```
//!
//! In the starter the markers stay (they show where to write, and let
//! `check` tie a compiler error to its task) and the code between them
//! becomes `todo!("01.3: block until the parent writes its byte")`.
//! mdBook's `ANCHOR` comments, used by the book to include code, are
//! dropped from starters.

use std::fmt;

/// A malformed or mismatched marker, with the file (and line) it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerError {
    /// `file:line: problem` or `file: problem`, ready to print.
    message: String,
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MarkerError {}

pub type Result<T, E = MarkerError> = std::result::Result<T, E>;

/// `return Err(…)` with a formatted message, as `anyhow::bail!` would.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(MarkerError { message: format!($($arg)*) })
    };
}

/// One task region of a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// `01.3`
    pub id: String,
    /// The one-line task.
    pub text: String,
    /// 1-based line numbers of the two markers.
    pub begin: usize,
    pub end: usize,
    /// The lines between the markers.
    pub body: Vec<String>,
}

/// `// TASK 01.3: text` → `("01.3", "text")`
pub fn begin_marker(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim_start().strip_prefix("// TASK ")?;
    let (id, text) = rest.split_once(": ")?;
    is_task_id(id).then_some((id, text.trim()))
}

/// `// END TASK 01.3` → `"01.3"`
pub fn end_marker(line: &str) -> Option<&str> {
    let id = line.trim().strip_prefix("// END TASK ")?;
    is_task_id(id).then_some(id)
}

/// `NN.K`: two digits, a dot, a number.
pub fn is_task_id(id: &str) -> bool {
    match id.split_once('.') {
        Some((lab, k)) => {
            lab.len() == 2
                && lab.bytes().all(|b| b.is_ascii_digit())
                && !k.is_empty()
                && k.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// The task regions of a file, checked for well-formedness.
pub fn regions(source: &str, file: &str) -> Result<Vec<Region>> {
    let mut regions = Vec::new();
    let mut open: Option<Region> = None;
    for (i, line) in source.lines().enumerate() {
        let n = i + 1;
        if let Some((id, text)) = begin_marker(line) {
            if let Some(r) = &open {
                bail!(
                    "{file}:{n}: TASK {id} starts inside TASK {} (opened at line {})",
                    r.id,
                    r.begin
                );
            }
            open = Some(Region {
                id: id.into(),
                text: text.into(),
                begin: n,
                end: 0,
                body: Vec::new(),
            });
        } else if let Some(id) = end_marker(line) {
            match open.take() {
                Some(mut r) if r.id == id => {
                    r.end = n;
                    regions.push(r);
                }
                Some(r) => bail!(
                    "{file}:{n}: END TASK {id} closes TASK {} (opened at line {})",
                    r.id,
                    r.begin
                ),
                None => bail!("{file}:{n}: END TASK {id} without a TASK marker"),
            }
        } else if line.contains("// TASK ") || line.contains("// END TASK") {
            bail!(
                "{file}:{n}: malformed marker (expected `// TASK NN.K: text` or `// END TASK NN.K`)"
            );
        } else if let Some(r) = &mut open {
            r.body.push(line.to_owned());
        }
    }
    if let Some(r) = open {
        bail!(
            "{file}:{}: TASK {} is never closed with `// END TASK {}`",
            r.begin,
            r.id,
            r.id
        );
    }
    Ok(regions)
}

/// The `todo!` line a region becomes. The text is a format string there:
/// quotes and backslashes are escaped for the string literal, and braces
/// doubled so that `{` in a task's text is not read as a placeholder.
pub fn todo_line(indent: &str, id: &str, text: &str) -> String {
    format!(
        "{indent}todo!(\"{id}: {}\")",
        text.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('{', "{{")
            .replace('}', "}}")
    )
}

/// rustfmt's default line width: a longer `todo!` line would be re-wrapped
/// by `cargo fmt`, and the starter would no longer match `sync`'s output.
const MAX_WIDTH: usize = 100;

/// Copy `source` without its anchor lines, with each task region's body
/// replaced by what `body` returns for it (given the begin marker line).
fn replace_bodies(
    source: &str,
    mut body: impl FnMut(&str) -> Result<Vec<String>>,
) -> Result<String> {
    let mut out = String::with_capacity(source.len());
    let mut skipping = false;
    for line in source.lines().filter(|l| !is_anchor(l)) {
        if begin_marker(line).is_some() {
            out.push_str(line);
            out.push('\n');
            for body_line in body(line)? {
                out.push_str(&body_line);
                out.push('\n');
            }
            skipping = true;
        } else if end_marker(line).is_some() {
            skipping = false;
            out.push_str(line);
            out.push('\n');
        } else if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Turn a solution source file into its starter.
pub fn starter(source: &str, file: &str) -> Result<String> {
    regions(source, file)?; // reject malformed markers first
    replace_bodies(source, |marker| {
        let (id, text) = begin_marker(marker).expect("a begin marker");
        let indent = &marker[..marker.len() - marker.trim_start().len()];
        let todo = todo_line(indent, id, text);
        if todo.chars().count() > MAX_WIDTH {
            bail!(
                "{file}: the task text of {id} makes `{}` longer than {MAX_WIDTH} columns; \
                 rustfmt would wrap it in the starter. Shorten the text.",
                todo.trim()
            );
        }
        Ok(vec![todo])
    })
}

/// `lab` with the body of each task region replaced by the body of the same
/// region (same order, same id) in `solution`: the reference code, in the
/// learner's file. Code outside the regions stays as the learner has it.
pub fn fill(lab: &str, solution: &str, file: &str) -> Result<String> {
    let theirs = regions(lab, file)?;
    let ours = regions(solution, file)?;
    let ids = |r: &[Region]| r.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    if ids(&theirs) != ids(&ours) {
        bail!(
            "{file}: its task markers differ from the reference's ({:?} vs {:?})",
            ids(&theirs),
            ids(&ours)
        );
    }
    let mut bodies = ours.into_iter();
    replace_bodies(lab, |_| {
        let region = bodies.next().expect("as many regions as markers");
        Ok(region.body.into_iter().filter(|l| !is_anchor(l)).collect())
    })
}

/// mdBook's `// ANCHOR: name` and `// ANCHOR_END: name` lines.
pub fn is_anchor(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("// ANCHOR: ") || t.starts_with("// ANCHOR_END: ")
}

/// Whether a starter region still holds only its `todo!` (no learner work).
pub fn is_untouched(region: &Region) -> bool {
    let body: Vec<&str> = region
        .body
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    matches!(body.as_slice(), [only] if only.starts_with("todo!(\""))
}

/// The task region that encloses 1-based `line`, if any.
pub fn region_at(regions: &[Region], line: usize) -> Option<&Region> {
    regions.iter().find(|r| r.begin <= line && line <= r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = "fn f() -> u8 {\n    // ANCHOR: f\n    // TASK 01.2: return \"one\"\n    let x = 1;\n    x\n    // END TASK 01.2\n    // ANCHOR_END: f\n}\n";

    #[test]
    fn braces_in_a_task_text_are_not_placeholders() {
        assert_eq!(
            todo_line("", "09.1", "parse ${VAR} and \"x\""),
            "todo!(\"09.1: parse ${{VAR}} and \\\"x\\\"\")"
        );
        let args = format_args!("09.1: parse ${{VAR}}");
        assert_eq!(args.as_str(), Some("09.1: parse ${VAR}"));
    }

    #[test]
    fn a_region_becomes_todo_and_anchors_go() {
        let s = starter(SOLUTION, "f.rs").unwrap();
        assert_eq!(
            s,
            "fn f() -> u8 {\n    // TASK 01.2: return \"one\"\n    todo!(\"01.2: return \\\"one\\\"\")\n    // END TASK 01.2\n}\n"
        );
        let r = regions(&s, "f.rs").unwrap();
        assert!(is_untouched(&r[0]));
        assert!(!is_untouched(&regions(SOLUTION, "f.rs").unwrap()[0]));
    }

    #[test]
    fn malformed_markers_are_errors() {
        assert!(starter("// TASK 01.1: a\n", "x").is_err());
        assert!(starter("// END TASK 01.1\n", "x").is_err());
        assert!(starter("// TASK 01.1: a\n// END TASK 01.2\n", "x").is_err());
        assert!(starter("// TASK 1.1: a\n", "x").is_err());
    }

    #[test]
    fn fill_puts_the_reference_back_into_a_starter() {
        let lab = starter(SOLUTION, "f.rs").unwrap();
        let filled = fill(&lab, SOLUTION, "f.rs").unwrap();
        assert_eq!(
            filled,
            SOLUTION
                .replace("    // ANCHOR: f\n", "")
                .replace("    // ANCHOR_END: f\n", "")
        );
        assert!(
            fill("fn f() {}\n", SOLUTION, "f.rs").is_err(),
            "different markers"
        );
    }

    #[test]
    fn region_at_finds_the_enclosing_task() {
        let r = regions(SOLUTION, "f.rs").unwrap();
        assert_eq!(region_at(&r, 4).map(|r| r.id.as_str()), Some("01.2"));
        assert_eq!(region_at(&r, 1), None);
    }
}
