//! Policy errors that name the file, the line and the key, so an officer editing the
//! file can go straight to the mistake.

use std::fmt;
use std::ops::Range;

/// One mistake in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyIssue {
    /// 1-based line, when the mistake has a place in the text.
    pub line: Option<usize>,
    /// Dotted key path, such as `purposes.service.categories`.
    pub key: String,
    /// What is wrong, for a person.
    pub message: String,
}

/// Every mistake found in one policy file. Never empty.
#[derive(Debug, Clone, thiserror::Error)]
pub struct PolicyErrors {
    /// The file's path or name as given.
    pub origin: String,
    /// The mistakes, in the order they appear in the file.
    pub issues: Vec<PolicyIssue>,
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match issue.line {
                Some(line) => write!(f, "{}:{line}: ", self.origin)?,
                None => write!(f, "{}: ", self.origin)?,
            }
            if !issue.key.is_empty() {
                write!(f, "{}: ", issue.key)?;
            }
            f.write_str(&issue.message)?;
        }
        Ok(())
    }
}

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    #[error("cannot read policy file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] PolicyErrors),
}

/// Collects issues while validating, turning byte spans into lines and keys.
pub(crate) struct Issues<'a> {
    text: &'a str,
    found: Vec<PolicyIssue>,
}

impl<'a> Issues<'a> {
    pub fn new(text: &'a str) -> Self {
        Issues {
            text,
            found: Vec::new(),
        }
    }

    /// Records an issue at a span of the text; the key is the given one, or read from
    /// the text at that place when `key` is empty.
    pub fn at(&mut self, span: Option<Range<usize>>, key: &str, message: impl Into<String>) {
        let line = span
            .as_ref()
            .map(|s| line_of(self.text, s.start.min(self.text.len())));
        let key = if key.is_empty() {
            span.map(|s| key_at(self.text, s.start)).unwrap_or_default()
        } else {
            key.to_owned()
        };
        self.found.push(PolicyIssue {
            line,
            key,
            message: message.into(),
        });
    }

    /// Records an issue about a missing or incomplete section, placed at the nearest
    /// header of that section (or of its parent) in the text.
    pub fn at_section(&mut self, key: &str, message: impl Into<String>) {
        let mut prefix = key;
        let offset = loop {
            let found = self
                .text
                .find(&format!("[{prefix}]"))
                .or_else(|| self.text.find(&format!("[{prefix}.")));
            match (found, prefix.rfind('.')) {
                (Some(at), _) => break Some(at),
                (None, Some(dot)) => prefix = &prefix[..dot],
                (None, None) => break None,
            }
        };
        self.at(offset.map(|o| o..o + 1), key, message);
    }

    pub fn finish(mut self, origin: &str) -> Result<(), PolicyErrors> {
        if self.found.is_empty() {
            return Ok(());
        }
        self.found.sort_by_key(|i| i.line.unwrap_or(usize::MAX));
        Err(PolicyErrors {
            origin: origin.to_owned(),
            issues: self.found,
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The dotted key at `offset`: the nearest `[table]` header above it joined with the
/// bare key at the start of the line, if the line holds `key = value`.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = text[line_start..line_end].trim();
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    if line.starts_with('[') {
        return line
            .trim_matches(|c| c == '[' || c == ']')
            .trim()
            .to_owned();
    }
    let key = line.split('=').next().unwrap_or("").trim();
    match (table, key.is_empty() || line.is_empty()) {
        (Some(t), false) => format!("{t}.{key}"),
        (Some(t), true) => t,
        (None, false) => key.to_owned(),
        (None, true) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_at_joins_the_table_header_and_the_line_key() {
        let text = "[a]\nx = 1\n[b.c]\ny = [\"z\"]\n";
        let offset = text.find("[\"z").expect("present");
        assert_eq!(key_at(text, offset), "b.c.y");
        assert_eq!(line_of(text, offset), 4);
    }
}
