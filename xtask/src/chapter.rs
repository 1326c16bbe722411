//! A lab's chapter, read the way mdBook reads it: the section of a task and
//! the `<details>` blocks (nudge, hint, code) in it.
//!
//! `hint` shows those blocks one at a time and `export` removes the
//! reference solution from them. Both must agree with what the book
//! renders, so the Markdown is read with `pulldown-cmark` — the parser, the
//! version and the options of mdBook and of the book's checks
//! (`xtask/book/src/markdown.rs`) — never by guessing at lines: a `##`
//! inside a code block is not a heading, and a `<details>` inside one is
//! not a spoiler. The functions here take text and return byte ranges into
//! it, so each rule has a unit test.

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// mdBook 0.5's parser options (as in `xtask/book/src/markdown.rs`).
fn parser(markdown: &str) -> Parser<'_> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_FOOTNOTES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    options.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    options.insert(Options::ENABLE_SMART_PUNCTUATION);
    options.insert(Options::ENABLE_DEFINITION_LIST);
    options.insert(Options::ENABLE_GFM);
    Parser::new_ext(markdown, options)
}

/// A heading: its level, visible text and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Heading {
    level: usize,
    text: String,
    start: usize,
}

fn headings(markdown: &str) -> Vec<Heading> {
    let mut found = Vec::new();
    let mut current: Option<Heading> = None;
    for (event, range) in parser(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                current = Some(Heading {
                    level: level as usize,
                    text: String::new(),
                    start: range.start,
                });
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(mut h) = current.take() {
                    h.text = h.text.trim().to_owned();
                    found.push(h);
                }
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(h) = &mut current {
                    h.text.push_str(&text);
                }
            }
            _ => {}
        }
    }
    found
}

/// Whether a heading's text names task `id`: `01.3 — The sync pipe` names
/// `01.3`, not `01.30`.
fn names_task(text: &str, id: &str) -> bool {
    text.strip_prefix(id)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
}

/// The section of task `id` (`## 01.3 — …`, at level 2 or deeper): from
/// its heading to the next heading of the same or a higher level.
pub fn section(markdown: &str, id: &str) -> Option<Range<usize>> {
    let all = headings(markdown);
    let at = all
        .iter()
        .position(|h| h.level >= 2 && names_task(&h.text, id))?;
    let level = all[at].level;
    let end = all[at + 1..]
        .iter()
        .find(|h| h.level <= level)
        .map_or(markdown.len(), |h| h.start);
    Some(all[at].start..end)
}

/// A `<details>` block: `<details><summary>Hint 1</summary> … </details>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// The `<summary>`'s text, tags removed (`Hint 1`).
    pub summary: String,
    /// What is shown when opened: between `</summary>` and `</details>`.
    pub body: Range<usize>,
    /// The whole block, from `<details>` to the end of `</details>`'s line.
    pub whole: Range<usize>,
}

/// The outermost `<details>` blocks that start in `within`, in order.
/// Blocks nested in another are part of its body.
pub fn details(markdown: &str, within: Range<usize>) -> Vec<Details> {
    struct Open {
        start: usize,
        summary: Option<String>,
        body_start: usize,
    }
    let mut found = Vec::new();
    let mut open: Option<Open> = None;
    let mut depth = 0usize;
    for (event, range) in parser(markdown).into_offset_iter() {
        let (Event::Html(html) | Event::InlineHtml(html)) = event else {
            continue;
        };
        if range.start < within.start || range.start >= within.end {
            continue;
        }
        let lower = html.to_ascii_lowercase();
        // Tags in the order they appear in this piece of HTML.
        let mut pos = 0;
        while pos < lower.len() {
            let next = ["<details", "<summary>", "</details>"]
                .iter()
                .filter_map(|tag| lower[pos..].find(tag).map(|i| (pos + i, *tag)))
                .min();
            let Some((at, tag)) = next else { break };
            match tag {
                "<details" => {
                    if depth == 0 {
                        let end = lower[at..].find('>').map_or(lower.len(), |i| at + i + 1);
                        open = Some(Open {
                            start: range.start + at,
                            summary: None,
                            body_start: range.start + end,
                        });
                    }
                    depth += 1;
                }
                "<summary>" => {
                    if let Some(o) = open.as_mut().filter(|o| depth == 1 && o.summary.is_none()) {
                        let from = at + "<summary>".len();
                        let to = lower[from..].find("</summary>").map(|i| from + i);
                        let text = &html[from..to.unwrap_or(html.len())];
                        o.summary = Some(strip_tags(text));
                        if let Some(to) = to {
                            o.body_start = range.start + to + "</summary>".len();
                        }
                    }
                }
                _ => {
                    depth = depth.saturating_sub(1);
                    if depth == 0
                        && let Some(o) = open.take()
                    {
                        let close = range.start + at;
                        let after = close + "</details>".len();
                        let line_end = markdown[after..]
                            .find('\n')
                            .map_or(markdown.len(), |i| after + i + 1);
                        found.push(Details {
                            summary: o.summary.unwrap_or_default(),
                            body: o.body_start..close,
                            whole: o.start..line_end,
                        });
                    }
                }
            }
            pos = at + 1;
        }
    }
    found
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The byte ranges of the fenced and indented code blocks.
pub fn code_blocks(markdown: &str) -> Vec<Range<usize>> {
    parser(markdown)
        .into_offset_iter()
        .filter_map(|(event, range)| {
            matches!(event, Event::Start(Tag::CodeBlock(_))).then_some(range)
        })
        .collect()
}

/// An inline link `[text](target)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The whole link, `[` to `)`.
    pub range: Range<usize>,
    pub target: String,
    /// What a reader sees (code ticks and emphasis gone).
    pub text: String,
}

/// The inline links of a text, outside code.
pub fn links(markdown: &str) -> Vec<Link> {
    let mut found = Vec::new();
    let mut current: Option<Link> = None;
    for (event, range) in parser(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::Link {
                link_type: pulldown_cmark::LinkType::Inline,
                dest_url,
                ..
            }) => {
                current = Some(Link {
                    range,
                    target: dest_url.into_string(),
                    text: String::new(),
                });
            }
            Event::End(TagEnd::Link) => {
                if let Some(link) = current.take() {
                    found.push(link);
                }
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(link) = &mut current {
                    link.text.push_str(&text);
                }
            }
            _ => {}
        }
    }
    found
}

/// An `{{#include PATH[:SPEC]}}` (or `rustdoc_include`) directive on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The directive, `{{` to `}}`, as a byte range of the text.
    pub range: Range<usize>,
    pub path: String,
    pub spec: Option<String>,
}

/// The include directives of a text, as mdBook finds them (also inside
/// code blocks; `\{{#include …}}` is escaped and left alone).
pub fn includes(text: &str) -> Vec<Include> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("{{") {
        if at > 0 && text.as_bytes()[at - 1] == b'\\' {
            continue;
        }
        let Some(close) = text[at..].find("}}").map(|i| at + i) else {
            continue;
        };
        let inner = text[at + 2..close].trim();
        let Some(rest) = inner
            .strip_prefix("#include")
            .or_else(|| inner.strip_prefix("#rustdoc_include"))
        else {
            continue;
        };
        if !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let Some(target) = rest.split_whitespace().next() else {
            continue;
        };
        let (path, spec) = match target.split_once(':') {
            Some((p, s)) => (p.to_owned(), Some(s.to_owned())),
            None => (target.to_owned(), None),
        };
        found.push(Include {
            range: at..close + 2,
            path,
            spec,
        });
    }
    found
}

/// The part of `source` an include's spec selects, as mdBook does: an
/// anchor (`name`: the lines between `ANCHOR: name` and `ANCHOR_END:
/// name`, without any anchor line), a line range (`3:9`, `3:`, `:9`, `7`,
/// 1-based and inclusive) or the whole file; anchor lines never show.
pub fn select(source: &str, spec: Option<&str>) -> Result<String> {
    let lines: Vec<&str> = source.lines().collect();
    let range = select_lines(source, spec)?;
    let is_anchor_line = |l: &&str| l.contains("ANCHOR:") || l.contains("ANCHOR_END:");
    let mut out: Vec<&str> = lines[range]
        .iter()
        .copied()
        .filter(|l| !is_anchor_line(l))
        .collect();
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    Ok(out.join("\n"))
}

/// The lines (0-based, end excluded) an include's spec selects from
/// `source`; see [`select`].
pub fn select_lines(source: &str, spec: Option<&str>) -> Result<Range<usize>> {
    let lines: Vec<&str> = source.lines().collect();
    let Some(spec) = spec.filter(|s| !s.is_empty()) else {
        return Ok(0..lines.len());
    };
    let number = |s: &str| -> Result<Option<usize>> {
        if s.is_empty() {
            return Ok(None);
        }
        s.parse()
            .map(Some)
            .with_context(|| format!("not a line number: {s}"))
    };
    if spec.starts_with(|c: char| c.is_ascii_digit() || c == ':') {
        let (first, last) = match spec.split_once(':') {
            Some((a, b)) => (number(a)?, number(b)?),
            None => (number(spec)?, number(spec)?),
        };
        let last = last.unwrap_or(lines.len()).min(lines.len());
        let first = (first.unwrap_or(1).max(1) - 1).min(last);
        return Ok(first..last);
    }
    let name_of = |l: &str, marker: &str| {
        l.split_once(marker)
            .map(|(_, r)| r.trim().trim_end_matches("*/").trim().to_owned())
    };
    let start = lines
        .iter()
        .position(|l| name_of(l, "ANCHOR:").as_deref() == Some(spec))
        .with_context(|| format!("no `ANCHOR: {spec}`"))?;
    let end = lines[start..]
        .iter()
        .position(|l| name_of(l, "ANCHOR_END:").as_deref() == Some(spec))
        .with_context(|| format!("no `ANCHOR_END: {spec}`"))?;
    Ok(start + 1..start + end)
}

/// `text` with every include directive replaced by what it includes,
/// paths taken relative to `dir` (the chapter's directory).
pub fn expand_includes(text: &str, dir: &Path) -> Result<String> {
    let mut out = String::new();
    let mut last = 0;
    for inc in includes(text) {
        let path = dir.join(&inc.path);
        let source = std::fs::read_to_string(&path)
            .with_context(|| format!("the book includes {}, which cannot be read", inc.path))?;
        let selected = select(&source, inc.spec.as_deref())
            .with_context(|| format!("in the include of {}", inc.path))?;
        out.push_str(&text[last..inc.range.start]);
        out.push_str(&selected);
        last = inc.range.end;
    }
    out.push_str(&text[last..]);
    Ok(out)
}

/// The chapter of lab directory `dir` (`01-process` → `book/src/lab01-process.md`).
pub fn path(root: &Path, lab_dir: &str) -> std::path::PathBuf {
    root.join("book/src").join(format!("lab{lab_dir}.md"))
}

/// Read the chapter of a lab, with a message that says which file.
pub fn read(root: &Path, lab_dir: &str) -> Result<String> {
    let file = path(root, lab_dir);
    if !file.is_file() {
        bail!("the lab's chapter {} does not exist", file.display());
    }
    std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAPTER: &str = "# Lab 01\n\n## 01.1 — Prepare\n\nText.\n\n\
        <details>\n<summary>Hint 1</summary>\n\nWhy a `CString`?\n\n</details>\n\n\
        <details><summary>Hint <em>2</em></summary>\n\nUse `c_string`.\n\n\
        <details>\n<summary>nested</summary>\ninner\n</details>\n\n</details>\n\n\
        <details>\n<summary>Reference solution</summary>\n\n```rust,ignore\n\
        {{#include ../../solutions/01-process/src/command.rs:prepare}}\n```\n\n</details>\n\n\
        ### 01.1 notes\n\n```\n## 01.2 — not a heading\n<details>\n```\n\n\
        ## 01.10 — Ten\n\n<details>\n<summary>Only</summary>\nten\n</details>\n\n\
        ## 01.2 — Wait\n\nNo hints here.\n";

    #[test]
    fn a_task_section_runs_to_the_next_heading_of_its_level() {
        let s = section(CHAPTER, "01.1").unwrap();
        assert!(CHAPTER[s.clone()].starts_with("## 01.1 — Prepare"));
        assert!(CHAPTER[s.clone()].contains("### 01.1 notes"));
        assert!(CHAPTER[s.clone()].contains("## 01.2 — not a heading"));
        assert!(CHAPTER[s.end..].starts_with("## 01.10 — Ten"));
        let ten = section(CHAPTER, "01.10").unwrap();
        assert!(CHAPTER[ten.end..].starts_with("## 01.2 — Wait"));
        assert!(section(CHAPTER, "01.3").is_none());
        assert!(section(CHAPTER, "01").is_none());
        // A level-1 heading is a chapter title, not a task.
        assert!(section("# 01.1 — x\n", "01.1").is_none());
    }

    #[test]
    fn details_blocks_are_read_in_order_with_their_summaries() {
        let s = section(CHAPTER, "01.1").unwrap();
        let found = details(CHAPTER, s);
        let summaries: Vec<&str> = found.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(summaries, ["Hint 1", "Hint 2", "Reference solution"]);
        assert_eq!(CHAPTER[found[0].body.clone()].trim(), "Why a `CString`?");
        let second = &CHAPTER[found[1].body.clone()];
        assert!(second.contains("Use `c_string`.") && second.contains("inner"));
        assert!(CHAPTER[found[2].whole.clone()].starts_with("<details>"));
        assert!(CHAPTER[found[2].whole.clone()].ends_with("</details>\n"));
        // The `<details>` in a code block is text, not a block.
        let ten = details(CHAPTER, section(CHAPTER, "01.10").unwrap());
        assert_eq!(ten.len(), 1);
        assert_eq!(CHAPTER[ten[0].body.clone()].trim(), "ten");
        assert!(details(CHAPTER, section(CHAPTER, "01.2").unwrap()).is_empty());
    }

    #[test]
    fn includes_and_their_selections() {
        let found = includes(
            "a {{#include ../x.rs:name}} b \\{{#include no.rs}} {{#rustdoc_include y.rs}}",
        );
        let paths: Vec<(&str, Option<&str>)> = found
            .iter()
            .map(|i| (i.path.as_str(), i.spec.as_deref()))
            .collect();
        assert_eq!(paths, [("../x.rs", Some("name")), ("y.rs", None)]);
        let source = "a\n// ANCHOR: f\nfn f() {\n    // ANCHOR: inner\n    1\n    // ANCHOR_END: inner\n}\n// ANCHOR_END: f\nz\n";
        assert_eq!(select(source, Some("f")).unwrap(), "fn f() {\n    1\n}");
        assert_eq!(select(source, Some("inner")).unwrap(), "    1");
        assert!(select(source, Some("nope")).is_err());
        assert_eq!(select(source, Some("1:1")).unwrap(), "a");
        assert_eq!(select(source, Some("9")).unwrap(), "z");
        assert_eq!(select(source, Some(":1")).unwrap(), "a");
        assert_eq!(select("a\nb\n", None).unwrap(), "a\nb");
    }

    #[test]
    fn code_blocks_are_found() {
        let md = "x\n```rust\nfn a() {}\n```\ny\n";
        let blocks = code_blocks(md);
        assert_eq!(blocks.len(), 1);
        assert!(md[blocks[0].clone()].starts_with("```rust"));
    }
}
