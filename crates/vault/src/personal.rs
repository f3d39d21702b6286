//! Plaintext personal values. They exist only in memory, are wiped on drop, and print
//! as `[personal]` in every `Debug` output, so a log line or panic cannot leak them.

use datavow_policy::Field;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::fmt;

/// One plaintext personal value.
#[derive(Clone)]
pub struct Personal(SecretString);

impl Personal {
    pub fn new(value: impl Into<String>) -> Self {
        Personal(SecretString::from(value.into()))
    }

    /// The value in clear. Callers name the use by calling this explicitly.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[personal]")
    }
}

impl From<&str> for Personal {
    fn from(value: &str) -> Self {
        Personal::new(value)
    }
}

impl From<String> for Personal {
    fn from(value: String) -> Self {
        Personal::new(value)
    }
}

/// The fields of one person returned by a purpose-checked read.
#[derive(Debug, Clone, Default)]
pub struct PersonalRecord {
    fields: BTreeMap<Field, Personal>,
}

impl PersonalRecord {
    pub(crate) fn insert(&mut self, field: Field, value: Personal) {
        self.fields.insert(field, value);
    }

    /// The value of a field, if the person has one.
    pub fn get(&self, field: Field) -> Option<&Personal> {
        self.fields.get(&field)
    }

    /// Every field read, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &Personal)> {
        self.fields.iter().map(|(f, v)| (*f, v))
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_values_never_appear_in_debug_output() {
        let mut record = PersonalRecord::default();
        record.insert(Field::Email, Personal::new("anna@example.dk"));
        let shown = format!("{record:?} {:?}", Personal::new("Anna"));
        assert!(
            !shown.contains("anna@example.dk") && !shown.contains("Anna"),
            "{shown}"
        );
    }
}
