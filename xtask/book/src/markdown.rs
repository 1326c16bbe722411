//! Reading a chapter's Markdown with the parser mdBook itself uses
//! (`pulldown-cmark`, same version, same options), so that what counts as
//! a heading, a link or a code block is what mdBook renders — not what a
//! hand-written scanner guesses. Every function takes text and returns
//! values, with 1-based line numbers for the problems `checks` reports.

use std::collections::HashSet;
use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// A link in a chapter: `[text](target)`, `![alt](target)` or a reference
/// definition `[label]: target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub line: usize,
    pub target: String,
}

/// A heading (`## Title`, or `Title` underlined) outside code blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heading {
    pub line: usize,
    pub level: usize,
    /// What a reader sees: code ticks, emphasis and HTML gone, links
    /// reduced to their text.
    pub text: String,
    /// An id given explicitly: `## Title {#my-id}`.
    pub id: Option<String>,
}

/// The options mdBook 0.5 parses chapters with (`mdbook-markdown`'s
/// `new_cmark_parser`, with its defaults): smart punctuation changes the
/// text, and so the ids, of some headings.
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

/// Turns byte offsets into 1-based line numbers.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines(starts)
    }

    fn of(&self, range: &Range<usize>) -> usize {
        // The number of line starts at or before the offset.
        self.0.partition_point(|&start| start <= range.start)
    }
}

/// The links of a chapter that point somewhere by themselves: inline links
/// and images, and reference definitions (a `[text][label]` link is
/// checked once, at its definition). Code blocks and code spans hold none.
pub fn links(markdown: &str) -> Vec<Link> {
    let lines = Lines::new(markdown);
    let mut parser = parser(markdown).into_offset_iter();
    let mut found = Vec::new();
    for (event, range) in parser.by_ref() {
        let (Event::Start(Tag::Link {
            link_type,
            dest_url,
            ..
        })
        | Event::Start(Tag::Image {
            link_type,
            dest_url,
            ..
        })) = event
        else {
            continue;
        };
        if link_type == LinkType::Inline {
            found.push(Link {
                line: lines.of(&range),
                target: dest_url.into_string(),
            });
        }
    }
    for (_, definition) in parser.reference_definitions().iter() {
        found.push(Link {
            line: lines.of(&definition.span),
            target: definition.dest.to_string(),
        });
    }
    found.sort_by_key(|link| link.line);
    found
}

/// The headings of a chapter, in order.
pub fn headings(markdown: &str) -> Vec<Heading> {
    let lines = Lines::new(markdown);
    let mut found = Vec::new();
    let mut current: Option<Heading> = None;
    // Inside an inline HTML element of a heading: its text still counts
    // (`<em>now</em>` reads "now"), its tags do not.
    for (event, range) in parser(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, id, .. }) => {
                current = Some(Heading {
                    line: lines.of(&range),
                    level: level_number(level),
                    text: String::new(),
                    id: id.map(|id| id.into_string()),
                });
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(mut heading) = current.take() {
                    heading.text = heading.text.trim().to_owned();
                    found.push(heading);
                }
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(heading) = &mut current {
                    heading.text.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(heading) = &mut current {
                    heading.text.push(' ');
                }
            }
            _ => {}
        }
    }
    found
}

fn level_number(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// mdBook's id for a heading whose visible text is `text`: lowercase, each
/// whitespace character becomes `-`, and any other character that is not
/// alphanumeric, `-` or `_` is dropped.
pub fn heading_id(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

/// The ids mdBook gives the headings of a chapter: the explicit one if
/// any, else made from the text, then made unique the way it does (`id`,
/// `id-1`, `id-2`, …).
pub fn heading_ids(markdown: &str) -> HashSet<String> {
    let mut used = HashSet::new();
    for heading in headings(markdown) {
        let id = heading
            .id
            .clone()
            .unwrap_or_else(|| heading_id(&heading.text));
        if !used.insert(id.clone()) {
            let mut n = 1;
            while !used.insert(format!("{id}-{n}")) {
                n += 1;
            }
        }
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_outside_code() {
        let md = "See [one](one.md#part), [two](<two words.md>) and [w](https://x.y/(z)).\n\
                  `[no](no.md)`\n```\n[no](no.md)\n```\n[ref]: ../solutions/a.rs \"title\"\n[t](f(1).md \"t\")\n\
                  ![img](pic.png) and [used][ref]\n";
        let targets: Vec<(usize, String)> =
            links(md).into_iter().map(|l| (l.line, l.target)).collect();
        assert_eq!(
            targets,
            [
                (1, "one.md#part".to_owned()),
                (1, "two words.md".to_owned()),
                (1, "https://x.y/(z)".to_owned()),
                (6, "../solutions/a.rs".to_owned()),
                (7, "f(1).md".to_owned()),
                (8, "pic.png".to_owned()),
            ]
        );
    }

    #[test]
    fn code_blocks_hold_no_links_or_headings() {
        let md = "a\n````console\n[x](gone.md)\n# no\n```\nstill code\n````\nb\n~~~\n[y](gone.md)\n~~~\n\n    [z](indented.md)\nc";
        assert!(links(md).is_empty(), "{:?}", links(md));
        assert!(headings(md).is_empty());
    }

    #[test]
    fn headings_read_as_a_reader_sees_them() {
        let md = "# Title\n## Hints\n### Hints ###\n```\n# not a heading\n```\n#not either\n\
                  ## `code` here\n## The `128 + N` [rule](x.md) <em>now</em>\n\
                  Set-up\n------\n## Custom {#mine}\n";
        let found = headings(md);
        let found: Vec<(usize, usize, &str)> = found
            .iter()
            .map(|h| (h.line, h.level, h.text.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (1, 1, "Title"),
                (2, 2, "Hints"),
                (3, 3, "Hints"),
                (8, 2, "code here"),
                (9, 2, "The 128 + N rule now"),
                (10, 2, "Set-up"),
                (12, 2, "Custom"),
            ]
        );
        let mut ids: Vec<String> = heading_ids(md).into_iter().collect();
        ids.sort();
        assert_eq!(
            ids,
            [
                "code-here",
                "hints",
                "hints-1",
                "mine",
                "set-up",
                "the-128--n-rule-now",
                "title"
            ]
        );
    }

    #[test]
    fn heading_ids_follow_mdbook() {
        assert_eq!(heading_id("01.3 — The sync pipe"), "013--the-sync-pipe");
        assert_eq!(heading_id("How to check"), "how-to-check");
        assert_eq!(heading_id("fork, exec & wait_pid()"), "fork-exec--wait_pid");
    }
}
