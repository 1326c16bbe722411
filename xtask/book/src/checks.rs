//! The book's own checks, as small pure functions over text.
//!
//! mdBook itself only *logs* a broken `{{#include}}` (and leaves the raw
//! directive in the page), renders a link to a missing chapter as a dead
//! link, and happily builds a book whose lab chapter forgot a task. These
//! functions find such problems; `main` feeds them the files and turns what
//! they return into `file:line: problem` lines.
//!
//! Everything here works on strings and returns values: no file system,
//! so each rule has a unit test below. Markdown is read by `markdown`,
//! with mdBook's own parser.

use crate::markdown;
use shared::markers;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// One problem found in the book, at a place a reader can jump to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// A path relative to the repository root, with `/` separators.
    pub file: String,
    /// 1-based; 0 when the problem has no line (mdBook's own errors).
    pub line: usize,
    pub message: String,
}

impl Problem {
    pub fn new(file: impl Into<String>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

// ------------------------------------------------------------ includes

/// A `{{#include PATH[:SPEC]}}` or `{{#rustdoc_include PATH[:SPEC]}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include<'a> {
    /// 1-based line of the chapter.
    pub line: usize,
    /// `include` or `rustdoc_include`.
    pub kind: &'a str,
    /// The file, relative to the chapter's directory.
    pub path: &'a str,
    /// What follows the first `:` — an anchor or a line range — if any.
    pub spec: Option<&'a str>,
}

/// The include directives of a chapter, in order. Like mdBook, a directive
/// preceded by a backslash (`\{{#include …}}`) is escaped and not included;
/// and like mdBook, directives inside code blocks *are* expanded.
pub fn includes(markdown: &str) -> Vec<Include<'_>> {
    let mut found = Vec::new();
    for (index, line) in markdown.lines().enumerate() {
        for (at, _) in line.match_indices("{{") {
            if at > 0 && line.as_bytes()[at - 1] == b'\\' {
                continue;
            }
            let after = &line[at + 2..];
            let Some(directive) = after.trim_start().strip_prefix('#') else {
                continue;
            };
            let Some(close) = directive.find("}}") else {
                continue;
            };
            let inner = &directive[..close];
            let name_len = inner
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inner.len());
            let (kind, args) = inner.split_at(name_len);
            if kind != "include" && kind != "rustdoc_include"
                || !args.starts_with(char::is_whitespace)
            {
                continue;
            }
            let Some(target) = args.split_whitespace().next() else {
                continue;
            };
            let (path, spec) = match target.split_once(':') {
                Some((path, spec)) => (path, Some(spec)),
                None => (target, None),
            };
            found.push(Include {
                line: index + 1,
                kind,
                path,
                spec,
            });
        }
    }
    found
}

/// Which part of a file an include takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection<'a> {
    /// The whole file.
    All,
    /// Lines `first..=last`, 1-based; `None` is the file's start or end.
    Lines {
        first: Option<usize>,
        last: Option<usize>,
    },
    /// The lines between `ANCHOR: name` and `ANCHOR_END: name`.
    Anchor(&'a str),
}

/// Read an include's spec the way mdBook does: `10:20`, `10:`, `:20`, `10`
/// (that one line), or an anchor name.
pub fn selection(spec: Option<&str>) -> Selection<'_> {
    let Some(spec) = spec else {
        return Selection::All;
    };
    let mut parts = spec.splitn(3, ':');
    let first = match parts.next() {
        None | Some("") => None,
        Some(word) => match word.parse::<usize>() {
            Ok(n) => Some(n),
            Err(_) => return Selection::Anchor(word),
        },
    };
    let last = match parts.next() {
        // `PATH:10` is the single line 10.
        None => first,
        Some(word) => word.parse::<usize>().ok(),
    };
    if first.is_none() && last.is_none() {
        Selection::All
    } else {
        Selection::Lines { first, last }
    }
}

/// The anchors of a file: for each name, whether it has an `ANCHOR:` and an
/// `ANCHOR_END:` line. Names are what mdBook accepts: letters, digits, `_`, `-`.
pub fn anchors(text: &str) -> BTreeMap<&str, (bool, bool)> {
    let mut found: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for line in text.lines() {
        for (marker, is_end) in [("ANCHOR:", false), ("ANCHOR_END:", true)] {
            if let Some(at) = line.find(marker) {
                let rest = line[at + marker.len()..].trim_start();
                let len = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(rest.len());
                if len > 0 {
                    let entry = found.entry(&rest[..len]).or_default();
                    if is_end {
                        entry.1 = true;
                    } else {
                        entry.0 = true;
                    }
                }
            }
        }
    }
    found
}

/// What is wrong with taking `selection` from the file `path` whose text is
/// `text`, if anything.
pub fn check_selection(selection: &Selection<'_>, path: &str, text: &str) -> Option<String> {
    match *selection {
        Selection::All => None,
        Selection::Lines { first, last } => {
            let count = text.lines().count();
            if first == Some(0) || last == Some(0) {
                return Some(format!(
                    "line numbers start at 1 (in the include of {path})"
                ));
            }
            for line in [first, last].into_iter().flatten() {
                if line > count {
                    return Some(format!(
                        "line {line} is past the end of {path}, which has {count} lines"
                    ));
                }
            }
            match (first, last) {
                (Some(first), Some(last)) if first > last => Some(format!(
                    "empty line range {first}:{last} in the include of {path}"
                )),
                _ => None,
            }
        }
        Selection::Anchor(name) => match anchors(text).get(name) {
            Some((true, true)) => None,
            Some((true, false)) => Some(format!(
                "anchor `{name}` in {path} has no `ANCHOR_END: {name}`"
            )),
            Some((false, _)) => Some(format!(
                "anchor `{name}` in {path} has an `ANCHOR_END` but no `ANCHOR: {name}`"
            )),
            None => {
                let known: Vec<&str> = anchors(text).into_keys().collect();
                let known = if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                };
                Some(format!(
                    "no anchor `{name}` in {path} (its anchors: {known})"
                ))
            }
        },
    }
}

// ------------------------------------------------------------ links

// Headings, links and code blocks are read by `markdown` (pulldown-cmark,
// as mdBook reads them). Includes are not Markdown: mdBook expands them in
// the raw text before parsing — inside code blocks too — so they are found
// in the raw text above.
pub use crate::markdown::{Link, heading_ids, links};

/// Links that point outside the book's files: `https:`, `mailto:` and the
/// like, and pure `#fragment` links within the page.
pub fn is_external(target: &str) -> bool {
    let scheme = target.split_once(':').map(|(scheme, _)| scheme);
    target.is_empty()
        || target.starts_with('#')
        || scheme.is_some_and(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
}

/// `path#fragment` → `("path", Some("fragment"))`.
pub fn split_fragment(target: &str) -> (&str, Option<&str>) {
    match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    }
}

// ------------------------------------------------------------ SUMMARY.md

/// The chapter files SUMMARY.md lists, with their lines. Draft chapters
/// (`[Title]()`) have no file and are left out.
pub fn summary_chapters(summary: &str) -> Vec<Link> {
    links(summary)
        .into_iter()
        .filter(|link| !link.target.is_empty() && !is_external(&link.target))
        .map(|link| Link {
            target: split_fragment(&link.target).0.to_owned(),
            ..link
        })
        .collect()
}

/// The chapter files (relative to `book/src`) that SUMMARY.md does not list.
pub fn unlisted<'a>(chapters: &'a [String], listed: &BTreeSet<String>) -> Vec<&'a str> {
    chapters
        .iter()
        .map(String::as_str)
        .filter(|chapter| *chapter != "SUMMARY.md" && !listed.contains(*chapter))
        .collect()
}

/// `a/./b/../c.md` → `a/c.md`; `None` if it climbs above its start.
pub fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

// ------------------------------------------------------------ tasks

/// The task ids of a solution file's `// TASK NN.K: text` markers, with
/// their lines.
pub fn task_markers(source: &str) -> Vec<(usize, &str)> {
    source
        .lines()
        .enumerate()
        .filter_map(|(index, line)| markers::begin_marker(line).map(|(id, _)| (index + 1, id)))
        .collect()
}

/// The headings of a chapter that name a task: `## 01.3 — The sync pipe`.
/// Any heading level from 2 down counts; the id is the first word.
pub fn task_headings(markdown: &str) -> Vec<(usize, String)> {
    markdown::headings(markdown)
        .into_iter()
        .filter(|heading| heading.level >= 2)
        .filter_map(|heading| {
            let first = heading.text.split_whitespace().next()?.to_owned();
            markers::is_task_id(&first).then_some((heading.line, first))
        })
        .collect()
}

/// The lab chapter of the solution crate in `solutions/<dir>/`: `NN-name`
/// → `labNN-name.md`. `None` for a directory that is not a lab (`NN-…`).
pub fn lab_chapter(dir: &str) -> Option<String> {
    let (number, name) = dir.split_once('-')?;
    (number.len() == 2 && number.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
        .then(|| format!("lab{dir}.md"))
}

/// A `// TASK` marker found in `solutions/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// `solutions/01-process/src/spawn.rs`
    pub file: String,
    pub line: usize,
    pub id: String,
    /// The chapter that must explain it, relative to the repository root:
    /// `book/src/lab01-process.md`.
    pub chapter: String,
}

/// A task section found in a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// `book/src/lab01-process.md`
    pub file: String,
    pub line: usize,
    pub id: String,
}

/// Tie task sections and task markers together: every section names a task
/// that exists, and every task has a section in its lab's chapter. A task
/// with several markers is reported once, at its first; a lab whose chapter
/// does not exist at all is one problem, at its first marker.
pub fn task_problems(
    markers: &[Marker],
    sections: &[Section],
    existing_chapters: &BTreeSet<String>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let ids: BTreeSet<&str> = markers.iter().map(|m| m.id.as_str()).collect();
    for section in sections {
        if !ids.contains(section.id.as_str()) {
            problems.push(Problem::new(
                &section.file,
                section.line,
                format!(
                    "section for task {} but solutions/ has no `// TASK {}:` marker",
                    section.id, section.id
                ),
            ));
        }
    }
    let explained: BTreeSet<(&str, &str)> = sections
        .iter()
        .map(|s| (s.file.as_str(), s.id.as_str()))
        .collect();
    // A lab without a chapter is one problem, not one per task.
    let mut missing: BTreeMap<&str, (&Marker, BTreeSet<&str>)> = BTreeMap::new();
    let mut reported = BTreeSet::new();
    for marker in markers {
        if !existing_chapters.contains(&marker.chapter) {
            missing
                .entry(&marker.chapter)
                .or_insert((marker, BTreeSet::new()))
                .1
                .insert(&marker.id);
            continue;
        }
        if explained.contains(&(marker.chapter.as_str(), marker.id.as_str()))
            || !reported.insert(&marker.id)
        {
            continue;
        }
        problems.push(Problem::new(
            &marker.file,
            marker.line,
            format!(
                "task {} has no section `## {} — …` in {}",
                marker.id, marker.id, marker.chapter
            ),
        ));
    }
    for (chapter, (first, ids)) in missing {
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort_by_key(|id| {
            id.split_once('.')
                .map(|(_, k)| k.parse::<u32>().unwrap_or(0))
        });
        problems.push(Problem::new(
            &first.file,
            first.line,
            format!(
                "the lab's chapter {chapter} does not exist (it needs a section for each of the tasks {})",
                ids.join(", ")
            ),
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_print_as_file_line_message() {
        assert_eq!(
            Problem::new("book/src/a.md", 3, "bad").to_string(),
            "book/src/a.md:3: bad"
        );
        assert_eq!(
            Problem::new("book", 0, "mdBook: bad").to_string(),
            "book: mdBook: bad"
        );
    }

    #[test]
    fn includes_are_found_with_their_spec_and_line() {
        let md = "text\n```rust,ignore\n{{#include ../../a/b.rs:exec}}\n```\n{{ #rustdoc_include x.rs:10:20 }} and {{#include y.rs}}\n";
        let found = includes(md);
        assert_eq!(
            found,
            [
                Include {
                    line: 3,
                    kind: "include",
                    path: "../../a/b.rs",
                    spec: Some("exec")
                },
                Include {
                    line: 5,
                    kind: "rustdoc_include",
                    path: "x.rs",
                    spec: Some("10:20")
                },
                Include {
                    line: 5,
                    kind: "include",
                    path: "y.rs",
                    spec: None
                },
            ]
        );
    }

    #[test]
    fn escaped_and_other_directives_are_not_includes() {
        assert!(
            includes(r"\{{#include a.rs}} {{#title T}} {{#playground p.rs}} {{#includes x}}")
                .is_empty()
        );
    }

    #[test]
    fn selections_follow_mdbook() {
        assert_eq!(selection(None), Selection::All);
        assert_eq!(selection(Some("exec")), Selection::Anchor("exec"));
        assert_eq!(
            selection(Some("10:20")),
            Selection::Lines {
                first: Some(10),
                last: Some(20)
            }
        );
        assert_eq!(
            selection(Some("10:")),
            Selection::Lines {
                first: Some(10),
                last: None
            }
        );
        assert_eq!(
            selection(Some(":20")),
            Selection::Lines {
                first: None,
                last: Some(20)
            }
        );
        assert_eq!(
            selection(Some("7")),
            Selection::Lines {
                first: Some(7),
                last: Some(7)
            }
        );
        assert_eq!(selection(Some("")), Selection::All);
    }

    const SOURCE: &str = "fn a() {}\n// ANCHOR: good\nfn b() {}\n// ANCHOR_END: good\n// ANCHOR: open\n/* ANCHOR_END: lonely-one */\n";

    #[test]
    fn anchors_record_start_and_end() {
        let found = anchors(SOURCE);
        assert_eq!(found.get("good"), Some(&(true, true)));
        assert_eq!(found.get("open"), Some(&(true, false)));
        assert_eq!(found.get("lonely-one"), Some(&(false, true)));
    }

    #[test]
    fn selections_are_checked_against_the_file() {
        assert_eq!(
            check_selection(&Selection::Anchor("good"), "f.rs", SOURCE),
            None
        );
        assert!(
            check_selection(&Selection::Anchor("open"), "f.rs", SOURCE)
                .unwrap()
                .contains("no `ANCHOR_END: open`")
        );
        let missing = check_selection(&Selection::Anchor("nope"), "f.rs", SOURCE).unwrap();
        assert!(missing.contains("no anchor `nope` in f.rs"), "{missing}");
        assert!(missing.contains("good, lonely-one, open"), "{missing}");
        let lines = |first, last| Selection::Lines { first, last };
        assert_eq!(
            check_selection(&lines(Some(1), Some(6)), "f.rs", SOURCE),
            None
        );
        assert_eq!(check_selection(&lines(Some(3), None), "f.rs", SOURCE), None);
        assert!(
            check_selection(&lines(Some(2), Some(7)), "f.rs", SOURCE)
                .unwrap()
                .contains("line 7 is past the end")
        );
        assert!(
            check_selection(&lines(Some(5), Some(4)), "f.rs", SOURCE)
                .unwrap()
                .contains("empty")
        );
        assert!(
            check_selection(&lines(Some(0), Some(4)), "f.rs", SOURCE)
                .unwrap()
                .contains("start at 1")
        );
    }

    #[test]
    fn external_links_are_skipped() {
        for target in ["https://example.org", "http://a", "mailto:a@b", "#frag", ""] {
            assert!(is_external(target), "{target}");
        }
        for target in ["a.md", "../x/y.rs", "a.md#b", "./c.md"] {
            assert!(!is_external(target), "{target}");
        }
        assert_eq!(split_fragment("a.md#b"), ("a.md", Some("b")));
        assert_eq!(split_fragment("a.md"), ("a.md", None));
    }

    #[test]
    fn summary_lists_chapters_and_skips_drafts() {
        let summary = "# Summary\n\n[Introduction](introduction.md)\n\n- [Lab 01](lab01-process.md)\n  - [Draft]()\n";
        let listed: Vec<(usize, String)> = summary_chapters(summary)
            .into_iter()
            .map(|l| (l.line, l.target))
            .collect();
        assert_eq!(
            listed,
            [
                (3, "introduction.md".to_owned()),
                (5, "lab01-process.md".to_owned())
            ]
        );
        let chapters = vec![
            "SUMMARY.md".to_owned(),
            "introduction.md".to_owned(),
            "stray.md".to_owned(),
        ];
        let set: BTreeSet<String> = listed.into_iter().map(|(_, t)| t).collect();
        assert_eq!(unlisted(&chapters, &set), ["stray.md"]);
    }

    #[test]
    fn paths_normalize() {
        assert_eq!(normalize("a/./b/../c.md").as_deref(), Some("a/c.md"));
        assert_eq!(normalize("../x").as_deref(), None);
    }

    #[test]
    fn task_markers_and_headings_are_read() {
        let source = "fn f() {\n    // TASK 01.3: block until released\n    todo!()\n    // END TASK 01.3\n}\n// TASK 1.2: not an id\n";
        assert_eq!(task_markers(source), [(2, "01.3")]);
        let md = "# Lab\n## 01.3 — The sync pipe\n## Going further\n### 01.10 Ten\n# 01.4 top level is not a task\n";
        assert_eq!(
            task_headings(md),
            [(2, "01.3".to_owned()), (4, "01.10".to_owned())]
        );
    }

    #[test]
    fn lab_chapters_are_named_after_the_solution_dir() {
        assert_eq!(
            lab_chapter("01-process").as_deref(),
            Some("lab01-process.md")
        );
        assert_eq!(
            lab_chapter("13-compose").as_deref(),
            Some("lab13-compose.md")
        );
        assert_eq!(lab_chapter("target"), None);
        assert_eq!(lab_chapter("1-x"), None);
    }

    #[test]
    fn tasks_and_sections_must_match() {
        let chapter = "book/src/lab01-process.md".to_owned();
        let marker = |file: &str, line, id: &str| Marker {
            file: file.to_owned(),
            line,
            id: id.to_owned(),
            chapter: chapter.clone(),
        };
        let markers = [
            marker("s/a.rs", 3, "01.1"),
            marker("s/b.rs", 5, "01.2"),
            marker("s/c.rs", 9, "01.2"),
        ];
        let sections = [
            Section {
                file: chapter.clone(),
                line: 10,
                id: "01.1".to_owned(),
            },
            Section {
                file: chapter.clone(),
                line: 20,
                id: "01.9".to_owned(),
            },
        ];
        let existing: BTreeSet<String> = [chapter.clone()].into();
        let problems: Vec<String> = task_problems(&markers, &sections, &existing)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            problems,
            [
                "book/src/lab01-process.md:20: section for task 01.9 but solutions/ has no `// TASK 01.9:` marker",
                "s/b.rs:5: task 01.2 has no section `## 01.2 — …` in book/src/lab01-process.md",
            ]
        );
        let none = task_problems(&markers[..1], &sections[..1], &existing);
        assert!(none.is_empty());
        let missing_chapter = task_problems(&markers, &[], &BTreeSet::new());
        assert_eq!(missing_chapter.len(), 1, "one problem per missing chapter");
        assert_eq!(
            missing_chapter[0].to_string(),
            "s/a.rs:3: the lab's chapter book/src/lab01-process.md does not exist \
             (it needs a section for each of the tasks 01.1, 01.2)"
        );
    }
}
