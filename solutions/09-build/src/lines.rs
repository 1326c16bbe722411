//! From the bytes of a Containerfile to its *logical lines*: parser
//! directives read, comments and blank lines dropped, continuation lines
//! joined — before any instruction is looked at.
//!
//! BuildKit's rules (frontend/dockerfile/parser), which this follows:
//!
//! - **Parser directives** (`# escape=\``, `# syntax=…`, `# check=…`) are
//!   comments of the form `# name=value` at the very top. The first line
//!   that is not one — a comment, a blank line, an instruction, or a
//!   directive this parser does not know — ends them. Names are
//!   case-insensitive; each may appear once.
//! - **The escape character** (`\` unless the directive says `` ` ``)
//!   at the end of a line, optionally followed by spaces or tabs, joins
//!   the next line. The character and what follows it are removed, and
//!   the next line is appended *as is*: no space is added, the next
//!   line's indentation is kept. `RUN echo a\` + `b` is `RUN echo ab`.
//! - A line whose first non-blank character is `#` is a comment, also in
//!   the middle of a continued instruction; blank lines in the middle of
//!   one are skipped too. A `#` elsewhere is not a comment.

use crate::error::{ParseError, ParseErrorKind, Pos};

/// The parser directives of a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Directives {
    /// The escape character: `\` or `` ` ``.
    pub escape: char,
    /// `# syntax=…`, kept but not acted on (BuildKit would fetch that frontend).
    pub syntax: Option<String>,
}

impl Default for Directives {
    fn default() -> Directives {
        Directives {
            escape: '\\',
            syntax: None,
        }
    }
}

/// One logical line: the instruction's text and where each piece of it
/// came from, so an error found later can name the line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The joined text, leading whitespace of the first line removed.
    pub text: String,
    /// `(byte offset in text, position in the file)` of each physical
    /// line's first character that made it into `text`.
    pub pieces: Vec<(usize, Pos)>,
}

impl Line {
    /// Where the character at byte `offset` of `text` is in the file.
    pub fn pos_at(&self, offset: usize) -> Pos {
        let mut found = self.pieces[0];
        for &(start, pos) in &self.pieces {
            if start <= offset {
                found = (start, pos);
            }
        }
        let (start, pos) = found;
        let chars = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(0, |s| s.chars().count());
        Pos {
            line: pos.line,
            col: pos.col + chars,
        }
    }

    /// Where the instruction starts.
    pub fn start(&self) -> Pos {
        self.pieces[0].1
    }
}

/// The directives this parser knows.
const DIRECTIVES: [&str; 3] = ["escape", "syntax", "check"];

/// `# name = value` → `(name, value, column of name, column of value)`,
/// or `None` if the line is not shaped like a directive.
fn directive(line: &str) -> Option<(&str, &str, usize, usize)> {
    let trimmed = line.trim_start();
    let rest = trimmed.strip_prefix('#')?;
    let after_hash = rest.trim_start();
    let name_len = after_hash
        .char_indices()
        .find(|(i, c)| !(c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_digit())))
        .map_or(after_hash.len(), |(i, _)| i);
    if name_len == 0 {
        return None;
    }
    let name = &after_hash[..name_len];
    let value = after_hash[name_len..].trim_start().strip_prefix('=')?;
    let value_trimmed = value.trim();
    if value_trimmed.is_empty() {
        return None;
    }
    let name_at = line.len() - after_hash.len();
    let value_at = line.len() - value.trim_start().len();
    let col = |byte: usize| line[..byte].chars().count() + 1;
    Some((name, value_trimmed, col(name_at), col(value_at)))
}

/// The line without its continuation (escape character, then only spaces
/// or tabs, at the end), and whether there was one.
pub fn strip_continuation(line: &str, escape: char) -> (&str, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    match body.strip_suffix(escape) {
        Some(joined) => (joined, true),
        None => (line, false),
    }
}

/// The directives and the logical lines of `source`.
// ANCHOR: logical_lines
pub fn logical_lines(source: &str) -> Result<(Directives, Vec<Line>), ParseError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let physical: Vec<&str> = source
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    // TASK 09.1: directives first; skip comments, blanks; join continuations
    let mut directives = Directives::default();
    let mut seen: Vec<String> = Vec::new();
    let mut at_top = true;
    let mut lines = Vec::new();
    let mut i = 0;
    while i < physical.len() {
        let raw = physical[i];
        let number = i + 1;
        i += 1;
        if at_top {
            if let Some((name, value, name_col, value_col)) = directive(raw) {
                let name = name.to_ascii_lowercase();
                if DIRECTIVES.contains(&name.as_str()) {
                    let pos = |col| Pos { line: number, col };
                    if seen.contains(&name) {
                        return Err(ParseError::new(
                            pos(name_col),
                            ParseErrorKind::DuplicateDirective(name),
                        ));
                    }
                    match name.as_str() {
                        "escape" => match value {
                            "\\" => directives.escape = '\\',
                            "`" => directives.escape = '`',
                            other => {
                                return Err(ParseError::new(
                                    pos(value_col),
                                    ParseErrorKind::BadEscape(other.to_owned()),
                                ));
                            }
                        },
                        "syntax" => directives.syntax = Some(value.to_owned()),
                        _ => {}
                    }
                    seen.push(name);
                    continue;
                }
            }
            // Anything else — a directive we do not know included — ends them.
            at_top = false;
        }
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let col = raw[..raw.len() - trimmed.len()].chars().count() + 1;
        let mut line = Line {
            text: String::new(),
            pieces: vec![(0, Pos { line: number, col })],
        };
        let (text, mut continued) = strip_continuation(trimmed, directives.escape);
        line.text.push_str(text);
        while continued && i < physical.len() {
            let raw = physical[i];
            let number = i + 1;
            i += 1;
            // Comments and blank lines inside an instruction are skipped,
            // and do not end it.
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            line.pieces.push((
                line.text.len(),
                Pos {
                    line: number,
                    col: 1,
                },
            ));
            let (text, more) = strip_continuation(raw, directives.escape);
            line.text.push_str(text);
            continued = more;
        }
        lines.push(line);
    }
    Ok((directives, lines))
    // END TASK 09.1
}
// ANCHOR_END: logical_lines
