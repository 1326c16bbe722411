//! Variable substitution, where Docker applies it: in the words of FROM,
//! COPY, ADD, ENV, ARG, WORKDIR, EXPOSE, USER, LABEL and VOLUME — never
//! in RUN, CMD or ENTRYPOINT, whose `$VAR` the shell (or nobody, in exec
//! form) expands when the container runs.
//!
//! The rules of BuildKit's `shell.Lex.ProcessWord`, which follows the
//! POSIX shell in small:
//!
//! | in the word            | gives                                                  |
//! |------------------------|--------------------------------------------------------|
//! | `$NAME`, `${NAME}`     | its value, `""` if unset                                |
//! | `${NAME:-word}`        | `word` if unset *or empty*, else the value              |
//! | `${NAME-word}`         | `word` only if unset                                    |
//! | `${NAME:+word}`        | `word` if set and not empty, else `""`                  |
//! | `${NAME+word}`         | `word` if set (even empty), else `""`                   |
//! | `'…'`                  | literal, quotes removed                                 |
//! | `"…"`                  | substituted, quotes removed; `\"` `\$` `\\` escaped     |
//! | `\c` (the escape char) | `c`, literally                                          |
//! | `$` not followed by a name | a `$`                                              |
//!
//! `word` is itself substituted. The result also lists which variables
//! were looked up: what the build cache must take into account.

use std::collections::BTreeSet;

use crate::error::{SubstError, SubstErrorKind as Kind};

/// A word after substitution, and the names it looked up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expanded {
    pub value: String,
    pub used: BTreeSet<String>,
}

/// Substitute the variables of `word`; `lookup` gives a variable's value
/// (`None`: unset).
pub fn expand(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Expanded, SubstError> {
    let mut lexer = Lexer {
        chars: word.char_indices().collect(),
        at: 0,
        escape,
        lookup,
        used: BTreeSet::new(),
        word,
    };
    let value = lexer.word(None)?;
    Ok(Expanded {
        value,
        used: lexer.used,
    })
}

struct Lexer<'a> {
    chars: Vec<(usize, char)>,
    at: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    used: BTreeSet<String>,
    word: &'a str,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).map(|&(_, c)| c)
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.at).map_or(self.word.len(), |&(i, _)| i)
    }

    fn error(&self, kind: Kind) -> SubstError {
        SubstError {
            word: self.word.to_owned(),
            offset: self.offset(),
            kind,
        }
    }

    fn get(&mut self, name: &str) -> Option<String> {
        self.used.insert(name.to_owned());
        (self.lookup)(name)
    }

    /// Characters up to `stop` (not consumed) or the end.
    fn word(&mut self, stop: Option<char>) -> Result<String, SubstError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                break;
            }
            self.next();
            match c {
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => out.push_str(&self.double_quoted()?),
                '$' => out.push_str(&self.dollar()?),
                c if c == self.escape => {
                    // An escape at the very end is dropped.
                    if let Some(next) = self.next() {
                        out.push(next);
                    }
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }

    fn single_quoted(&mut self) -> Result<String, SubstError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => return Err(self.error(Kind::Unterminated("single-quote"))),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, SubstError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(out),
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) if c == self.escape => match self.peek() {
                    None => {}
                    Some(next) if next == '"' || next == '$' || next == self.escape => {
                        self.next();
                        out.push(next);
                    }
                    // Other escapes are kept as written, inside double quotes.
                    Some(_) => out.push(c),
                },
                Some(c) => out.push(c),
                None => return Err(self.error(Kind::Unterminated("double-quote"))),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            name.push(c);
            self.next();
        }
        name
    }

    /// After a `$`.
    // ANCHOR: dollar
    fn dollar(&mut self) -> Result<String, SubstError> {
        // TASK 09.3: $NAME, braced names, and the modifiers :- - :+ +
        match self.peek() {
            Some('{') => {
                self.next();
                let name = self.name();
                if name.is_empty() {
                    return Err(self.error(Kind::NoName));
                }
                match self.next() {
                    Some('}') => Ok(self.get(&name).unwrap_or_default()),
                    Some(c @ (':' | '-' | '+')) => {
                        let (colon, modifier) = if c == ':' {
                            (true, self.next())
                        } else {
                            (false, Some(c))
                        };
                        if !matches!(modifier, Some('-' | '+')) {
                            let shown = modifier.map_or(String::from(":"), |m| {
                                format!("{}{m}", if colon { ":" } else { "" })
                            });
                            return Err(self.error(Kind::Modifier(shown)));
                        }
                        let word = self.word(Some('}'))?;
                        if self.next() != Some('}') {
                            return Err(self.error(Kind::MissingBrace));
                        }
                        let value = self.get(&name);
                        // With a colon, empty counts as unset.
                        let set = match &value {
                            Some(v) => !(colon && v.is_empty()),
                            None => false,
                        };
                        Ok(match (modifier, set) {
                            (Some('-'), true) => value.unwrap_or_default(),
                            (Some('-'), false) => word,
                            (_, true) => word,
                            (_, false) => String::new(),
                        })
                    }
                    Some(other) => Err(self.error(Kind::Modifier(other.to_string()))),
                    None => Err(self.error(Kind::MissingBrace)),
                }
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let name = self.name();
                Ok(self.get(&name).unwrap_or_default())
            }
            _ => Ok(String::from("$")),
        }
        // END TASK 09.3
    }
    // ANCHOR_END: dollar
}
