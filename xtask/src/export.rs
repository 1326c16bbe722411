//! `cargo xtask export --student DIR`: the workbook as students get it.
//!
//! An instructor hands out a copy without the answers: no `solutions/`,
//! and a book whose reference solutions are gone. What is left must still
//! work on its own, and it does because of how the workbook is built:
//!
//! - the starters in `labs/` are complete crates (same tests, same
//!   snapshots) and lab NN depends on the student's *own* earlier labs;
//! - `labs::all` and `Lab::tasks` read the starters when there is no
//!   `solutions/`, and the book's checks read the task markers there;
//! - the commands that need the reference (`verify`, `sync`, `grade`,
//!   `demo`, `bench`, `mutants`, `export`, and `skip` without `--from`)
//!   say so and stop ([`require_reference`]).
//!
//! What is written: the files git tracks, except `solutions/`, `.ci/`
//! (the maintainers' CI runs `verify`) and the translations (`book/po/`,
//! which quote the reference solutions); `labs/` as `sync` makes it from
//! `solutions/` (never the instructor's edited copy); and each chapter with
//! every `<details>` block that holds a solution and every link into
//! `solutions/` replaced by a sentence. Other includes of `solutions/` show
//! code the learner is *given* (`target.rs` in lab 03): that code is the
//! same in the starter, so it is inlined — unless it overlaps a task
//! region, and then it too becomes a sentence.

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{chapter, labs};

/// What replaces a reference solution in the student edition's book.
pub const REMOVED: &str = "*The reference solution is not part of the student edition of \
    this workbook. Your instructor may hand it out later; until then, `cargo xtask hint` \
    gives the hints again and `cargo xtask check` says what is missing.*";

/// What replaces an include of reference code inside a code block.
const REMOVED_IN_CODE: &str = "// (the reference code is not part of the student edition)";

/// Stop with a message when `root` is a student edition: `what` needs the
/// reference solutions.
pub fn require_reference(root: &Path, what: &str) -> Result<()> {
    if root.join("solutions").is_dir() {
        return Ok(());
    }
    bail!(
        "`cargo xtask {what}` is for the workbook's maintainers and instructors: it needs the \
         reference solutions (solutions/), which this student edition leaves out. \
         `cargo xtask check`, `status`, `hint` and `book` work here."
    )
}

pub fn run(root: &Path, dest: &Path) -> Result<()> {
    require_reference(root, "export")?;
    if dest.exists()
        && fs::read_dir(dest)
            .with_context(|| format!("reading {}", dest.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: export writes a whole workbook, into a new or empty directory",
            dest.display()
        );
    }
    let real_root = fs::canonicalize(root)?;
    fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    if fs::canonicalize(dest)?.starts_with(&real_root) {
        bail!(
            "{} is inside this workbook; export to a directory outside it",
            dest.display()
        );
    }
    let untracked = git_paths(root, &["ls-files", "-z", "--others", "--exclude-standard"])?;
    if !untracked.is_empty() {
        eprintln!(
            "note: {} files are not tracked by git and are left out (export copies the files \
             git tracks), e.g. {}",
            untracked.len(),
            untracked[0].display()
        );
    }
    let mut written = 0usize;
    let mut chapters = 0usize;
    let mut removed = 0usize;
    for rel in tracked(root)? {
        let first = rel.components().next().map(|c| c.as_os_str().to_owned());
        if first
            .as_deref()
            .is_some_and(|f| f == "solutions" || f == "labs" || f == ".ci" || f == ".github")
        {
            continue;
        }
        // Translations carry the reference solutions' comments and strings
        // (the code blocks are messages too): the student edition is
        // English only.
        if rel.starts_with("book/po") {
            continue;
        }
        let from = root.join(&rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let bytes = fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        let bytes = if rel == Path::new("README.md") {
            student_readme(&String::from_utf8_lossy(&bytes)).into_bytes()
        } else if rel.starts_with("book/src") && rel.extension().is_some_and(|e| e == "md") {
            let text = String::from_utf8(bytes)
                .with_context(|| format!("{} is not UTF-8", rel.display()))?;
            let dir = from
                .parent()
                .expect("a chapter is in a directory")
                .to_path_buf();
            let (student, n) = student_chapter(&text, &|inc| given_code(&dir, inc));
            if n > 0 {
                chapters += 1;
                removed += n;
            }
            student.into_bytes()
        } else {
            bytes
        };
        write(&dest.join(&rel), &bytes)?;
        written += 1;
    }
    // The starters as `sync` makes them: never the instructor's own edits.
    for lab in labs::all(root)? {
        for (rel, bytes) in crate::sync::expected(root, &lab)? {
            write(&lab.lab_dir(dest).join(rel), &bytes)?;
            written += 1;
        }
    }
    println!(
        "Student edition written to {}: {written} files, without solutions/; \
         {removed} reference solutions removed from {chapters} chapters.\n\
         Next: cd {} && git init && git add . && git commit -m 'Dockyard, student edition'\n\
         then hand it out (a GitHub Classroom template repository, an archive, …).",
        dest.display(),
        dest.display()
    );
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::create_dir_all(path.parent().expect("a file has a parent"))?;
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The files git tracks, relative to the root.
fn tracked(root: &Path) -> Result<Vec<PathBuf>> {
    git_paths(root, &["ls-files", "-z", "--cached"])
}

/// The paths a `git ls-files -z …` lists.
fn git_paths(root: &Path, args: &[&str]) -> Result<Vec<PathBuf>> {
    let out = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .context("running git ls-files (export copies the files git tracks)")?;
    if !out.status.success() {
        bail!(
            "git ls-files failed: export copies the files git tracks, so run it in a git checkout\n{}",
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .collect())
}

/// The README with a note under its title: this copy has no solutions.
fn student_readme(text: &str) -> String {
    let note = "> **Student edition.** This copy of the workbook has no reference solutions: \
        `solutions/` and the book's reference code are left out. `cargo xtask check`, `status`, \
        `hint` and `book` work as described below; `skip NN` needs `--from DIR`, the reference \
        crate of lab NN if your instructor hands it out; `verify` and the other maintainers' \
        commands need the full workbook.\n\n";
    match text.split_once('\n') {
        Some((title, rest)) if title.starts_with("# ") => {
            format!("{title}\n\n{note}{}", rest.trim_start_matches('\n'))
        }
        _ => format!("{note}{text}"),
    }
}

/// The code an include of `solutions/` selects, if it holds no line of a
/// task region: code that is *given* (the same in the starter, where mdBook
/// anchors are gone, so it cannot be included from `labs/`).
fn given_code(chapter_dir: &Path, include: &chapter::Include) -> Option<String> {
    let file = chapter_dir.join(&include.path);
    let source = fs::read_to_string(&file).ok()?;
    let lines = chapter::select_lines(&source, include.spec.as_deref()).ok()?;
    let regions = crate::markers::regions(&source, &file.display().to_string()).ok()?;
    // Regions' marker lines are 1-based and inclusive.
    let outside = regions
        .iter()
        .all(|r| r.end <= lines.start || r.begin > lines.end);
    if !outside {
        return None;
    }
    chapter::select(&source, include.spec.as_deref()).ok()
}

/// Whether a `<details>` block is a reference solution: its summary says
/// so, or it includes code from `solutions/`.
fn is_solution(summary: &str, body: &str) -> bool {
    summary.to_lowercase().contains("solution")
        || chapter::includes(body)
            .iter()
            .any(|i| points_into_solutions(&i.path))
}

fn points_into_solutions(path: &str) -> bool {
    path.split('/').any(|part| part == "solutions")
}

/// A chapter as the student edition has it, and how many reference
/// solutions were removed from it. `given` returns the text of an include
/// of `solutions/` that selects only code the starter has too (outside
/// every task region): that code is inlined, not removed.
pub fn student_chapter(
    text: &str,
    given: &dyn Fn(&chapter::Include) -> Option<String>,
) -> (String, usize) {
    // First the solution blocks, whole.
    let mut edits: Vec<(Range<usize>, String)> = chapter::details(text, 0..text.len())
        .into_iter()
        .filter(|d| is_solution(&d.summary, &text[d.body.clone()]))
        .map(|d| (d.whole, format!("{REMOVED}\n")))
        .collect();
    let removed = edits.len();
    let text = apply(text, &mut edits);
    // Then whatever else reaches into solutions/: includes, links.
    let code = chapter::code_blocks(&text);
    let mut edits: Vec<(Range<usize>, String)> = chapter::includes(&text)
        .into_iter()
        .filter(|i| points_into_solutions(&i.path))
        .map(|i| {
            if let Some(code) = given(&i) {
                return (i.range, code);
            }
            let in_code = code.iter().any(|c| c.contains(&i.range.start));
            let by = if in_code { REMOVED_IN_CODE } else { REMOVED };
            (i.range, by.to_owned())
        })
        .collect();
    let inlined = edits
        .iter()
        .filter(|(_, by)| by != REMOVED && by != REMOVED_IN_CODE)
        .count();
    edits.extend(
        chapter::links(&text)
            .into_iter()
            .filter(|l| points_into_solutions(&l.target))
            .map(|l| (l.range, l.text)),
    );
    let more = edits.len() - inlined;
    (apply(&text, &mut edits), removed + more)
}

/// Apply non-overlapping replacements (any order given).
fn apply(text: &str, edits: &mut [(Range<usize>, String)]) -> String {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (range, by) in edits.iter() {
        if range.start < last {
            continue; // inside an earlier edit
        }
        out.push_str(&text[last..range.start]);
        out.push_str(by);
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAPTER: &str = "## 01.1 — Prepare\n\n<details>\n<summary>Hint 1</summary>\n\nA question?\n\n</details>\n\n\
        <details>\n<summary>Reference solution</summary>\n\n```rust,ignore\n\
        {{#include ../../solutions/01-process/src/command.rs:prepare}}\n```\n\n</details>\n\n\
        <details>\n<summary>Code</summary>\n\n{{#include ../../solutions/01-process/src/a.rs:x}}\n\n</details>\n\n\
        ```rust,ignore\n{{#include ../../solutions/01-process/src/b.rs:y}}\n```\n\n\
        See [the code](../../solutions/01-process/src/lib.rs) and [the intro](introduction.md).\n\
        {{#include ../../labs/01-process/src/lib.rs:z}}\n";

    #[test]
    fn the_student_chapter_has_no_solution_left() {
        let (out, removed) = student_chapter(CHAPTER, &|_| None);
        assert_eq!(removed, 4, "{out}");
        assert!(!out.contains("solutions/"), "{out}");
        assert!(out.contains("A question?"));
        assert!(!out.contains("Reference solution</summary>"));
        assert!(!out.contains("<summary>Code</summary>"));
        assert_eq!(out.matches(REMOVED).count(), 2);
        assert!(out.contains(&format!("```rust,ignore\n{REMOVED_IN_CODE}\n```")));
        assert!(out.contains("See the code and [the intro](introduction.md)."));
        // Includes of anything else stay.
        assert!(out.contains("{{#include ../../labs/01-process/src/lib.rs:z}}"));
        // Exporting twice changes nothing more.
        assert_eq!(student_chapter(&out, &|_| None), (out.clone(), 0));
    }

    #[test]
    fn given_code_is_inlined_not_removed() {
        let given = |inc: &chapter::Include| {
            (inc.spec.as_deref() == Some("y")).then(|| "fn given() {}".to_owned())
        };
        let (out, removed) = student_chapter(CHAPTER, &given);
        assert_eq!(removed, 3, "{out}");
        assert!(out.contains("```rust,ignore\nfn given() {}\n```"), "{out}");
    }

    #[test]
    fn only_code_outside_task_regions_is_given() {
        let dir = std::env::temp_dir().join(format!("xtask-export-given-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("a.rs"),
            "// ANCHOR: given\nfn a() {}\n// ANCHOR_END: given\n// ANCHOR: task\nfn b() {\n    // TASK 01.1: do\n    done()\n    // END TASK 01.1\n}\n// ANCHOR_END: task\n",
        )
        .unwrap();
        let inc = |spec: &str| chapter::Include {
            range: 0..0,
            path: "a.rs".into(),
            spec: Some(spec.into()),
        };
        assert_eq!(
            given_code(&dir, &inc("given")).as_deref(),
            Some("fn a() {}")
        );
        assert_eq!(given_code(&dir, &inc("task")), None);
        assert_eq!(given_code(&dir, &inc("1:2")).as_deref(), Some("fn a() {}"));
        assert_eq!(given_code(&dir, &inc("5:6")), None);
        assert_eq!(given_code(&dir, &inc("nope")), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_readme_says_it_is_the_student_edition() {
        let out = student_readme("# Dockyard\n\nText.\n");
        assert!(
            out.starts_with("# Dockyard\n\n> **Student edition.**"),
            "{out}"
        );
        assert!(
            out.ends_with("commands need the full workbook.\n\nText.\n"),
            "{out}"
        );
        assert!(student_readme("no title").starts_with("> **Student edition.**"));
    }

    #[test]
    fn replacements_apply_in_order() {
        let mut edits = vec![(4..5, "E".to_owned()), (0..1, "A".to_owned())];
        assert_eq!(apply("abcdef", &mut edits), "AbcdEf");
    }
}
