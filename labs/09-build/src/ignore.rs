//! `.dockerignore`: which files of the build context the build sees.
//!
//! Docker's semantics (moby/patternmatcher, and its `ignorefile` reader),
//! which this follows exactly for the syntax it supports:
//!
//! - One pattern per line. A line *starting* with `#` is a comment; then
//!   the line is trimmed, blank lines are skipped. `!` in front makes an
//!   exception (re-includes). Each pattern is cleaned like Go's
//!   `filepath.Clean` (`./a//b/` is `a/b`) and a leading `/` dropped: all
//!   paths are relative to the context's root.
//! - `*` is any run of characters but `/`; `?` one character but `/`;
//!   `[a-z]`, `[^a-z]` a class; `\` escapes the next character; `**` any
//!   number of directories, zero included (`**/x` matches `x` and `a/b/x`).
//!   A pattern matches the *whole* path — `*.go` does not match `a/b.go`.
//! - A path is excluded if a pattern matches it **or one of its parent
//!   directories** (`build` excludes `build/x/y`).
//! - **Order matters: the last pattern that matches decides.** `*.md`
//!   then `!README.md` keeps README.md; the other way round excludes it.
//!
//! Why not a crate: the well-kept one, `ignore` (ripgrep's), implements
//! gitignore's rules, which differ (unanchored patterns, `dir/` meaning
//! directories only, no "a parent matches" rule in this form) — a builder
//! using it would send another context than Docker from the same file. So
//! this is a small matcher of our own, tested against Docker's cases.

use std::fmt;

/// One piece of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    One,
    /// `[...]`: ranges, maybe negated.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**` followed by more: any number of whole directories, `(.*/)?`.
    Dirs,
    /// `**` at the end: anything, `.*`.
    Rest,
}

/// A compiled pattern.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    pub text: String,
    pub exception: bool,
    tokens: Vec<Token>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", if self.exception { "!" } else { "" }, self.text)
    }
}

/// Go's `path.Clean` on a slash-separated path.
pub fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

impl Pattern {
    /// Compile one line's pattern (already trimmed, `!` removed).
    pub fn new(text: &str, exception: bool) -> Pattern {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    if chars.peek() == Some(&'/') {
                        chars.next();
                    }
                    tokens.push(if chars.peek().is_none() {
                        Token::Rest
                    } else {
                        Token::Dirs
                    });
                }
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::One),
                '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
                '[' => {
                    let mut negated = false;
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    if chars.peek() == Some(&'^') {
                        chars.next();
                        negated = true;
                    }
                    while let Some(c) = chars.next() {
                        let lo = match c {
                            ']' => {
                                closed = true;
                                break;
                            }
                            '\\' => chars.next().unwrap_or('\\'),
                            c => c,
                        };
                        let hi = if chars.peek() == Some(&'-') {
                            chars.next();
                            match chars.next() {
                                Some('\\') => chars.next().unwrap_or('\\'),
                                Some(']') => {
                                    ranges.push((lo, lo));
                                    ranges.push(('-', '-'));
                                    closed = true;
                                    break;
                                }
                                Some(hi) => hi,
                                None => lo,
                            }
                        } else {
                            lo
                        };
                        ranges.push((lo, hi));
                    }
                    if closed {
                        tokens.push(Token::Class { negated, ranges });
                    } else {
                        // An unclosed class never matches (Go: ErrBadPattern).
                        tokens.push(Token::Class {
                            negated: false,
                            ranges: Vec::new(),
                        });
                    }
                }
                c => tokens.push(Token::Char(c)),
            }
        }
        Pattern {
            text: text.to_owned(),
            exception,
            tokens,
        }
    }

    /// Whether the pattern matches the whole of `path`.
    pub fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        matches_at(&self.tokens, &chars)
    }
}

/// Backtracking match of `tokens` against all of `path`.
fn matches_at(tokens: &[Token], path: &[char]) -> bool {
    // TASK 09.5: * ? never cross /; ** spans dirs; classes; whole path
    todo!("09.5: * ? never cross /; ** spans dirs; classes; whole path")
    // END TASK 09.5
}

/// The patterns of a `.dockerignore`, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    pub patterns: Vec<Pattern>,
}

impl Matcher {
    /// Read a `.dockerignore` the way Docker's `ignorefile.ReadAll` does.
    pub fn parse(text: &str) -> Matcher {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for line in text.lines() {
            // Only a '#' in the first column starts a comment.
            if line.starts_with('#') {
                continue;
            }
            let mut pattern = line.trim();
            if pattern.is_empty() {
                continue;
            }
            let exception = pattern.starts_with('!');
            if exception {
                pattern = pattern[1..].trim();
            }
            let mut cleaned = if pattern.is_empty() {
                String::new()
            } else {
                clean(pattern)
            };
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
            patterns.push(Pattern::new(&cleaned, exception));
        }
        Matcher { patterns }
    }

    /// Whether `path` (relative to the context, `/`-separated, clean) is
    /// left out of the build context.
    pub fn excluded(&self, path: &str) -> bool {
        // TASK 09.5: path or a parent matches; the last match decides
        todo!("09.5: path or a parent matches; the last match decides")
        // END TASK 09.5
    }
}
