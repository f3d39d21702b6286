//! Blind indexes: HMAC-SHA256 of a normalised value under a key kept for that index
//! alone, so a person can be found by email or userID without storing either in clear,
//! and a digest of one index says nothing about another.

use crate::cipher::SymmetricKey;
use datavow_policy::Field;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A look-up that a blind index serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexKind {
    /// Sign-up uniqueness and operator search by email.
    Email,
    /// Sign-in and operator search by userID.
    UserId,
}

impl IndexKind {
    pub const ALL: &'static [IndexKind] = &[IndexKind::Email, IndexKind::UserId];

    /// The name stored beside each digest.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Email => "email",
            IndexKind::UserId => "user_id",
        }
    }

    /// The name of this index's HMAC key in the keystore.
    pub(crate) fn key_name(self) -> &'static str {
        match self {
            IndexKind::Email => "index:email",
            IndexKind::UserId => "index:user_id",
        }
    }

    /// The index a field feeds, if any.
    pub fn for_field(field: Field) -> Option<IndexKind> {
        match field {
            Field::Email => Some(IndexKind::Email),
            Field::UserId => Some(IndexKind::UserId),
            _ => None,
        }
    }

    /// The form two equal values share: emails trimmed and lower-cased; userIDs
    /// upper-cased without spaces or dashes (they are read out over the phone).
    pub fn normalise(self, value: &str) -> String {
        match self {
            IndexKind::Email => value.trim().to_lowercase(),
            IndexKind::UserId => value
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .flat_map(char::to_uppercase)
                .collect(),
        }
    }

    /// The digest of `value` under this index's key.
    pub(crate) fn digest(self, key: &SymmetricKey, value: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(self.normalise(value).as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_differing_only_in_case_and_spaces_share_a_digest() {
        let key = SymmetricKey::generate();
        assert_eq!(
            IndexKind::Email.digest(&key, " Søren@Example.DK "),
            IndexKind::Email.digest(&key, "søren@example.dk")
        );
        assert_ne!(
            IndexKind::Email.digest(&key, "soren@example.dk"),
            IndexKind::Email.digest(&key, "søren@example.dk")
        );
    }

    #[test]
    fn a_user_id_read_out_with_dashes_matches_the_stored_one() {
        let key = SymmetricKey::generate();
        assert_eq!(
            IndexKind::UserId.digest(&key, "k7q2-m9xp"),
            IndexKind::UserId.digest(&key, "K7Q2M9XP")
        );
    }

    #[test]
    fn the_same_value_has_unrelated_digests_under_different_index_keys() {
        let (a, b) = (SymmetricKey::generate(), SymmetricKey::generate());
        assert_ne!(
            IndexKind::Email.digest(&a, "x@y.z"),
            IndexKind::Email.digest(&b, "x@y.z")
        );
    }
}
