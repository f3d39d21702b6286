//! Credentials the server generates (P2) and the rules for chosen passwords.

use crate::operators::random_text;
use std::collections::HashSet;
use std::sync::OnceLock;

/// Letters of userIDs: no 0/O, 1/I/L, U; easy to read out over the phone.
const USER_ID_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A random userID such as `K7Q2-M9XP`: 8 letters of 30 (39 bits), not sequential.
/// Uniqueness is enforced by the blind index; a collision is retried.
pub fn generate_user_id() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    let mut id = String::with_capacity(9);
    for i in 0..USER_ID_LETTERS {
        if i == USER_ID_LETTERS / 2 {
            id.push('-');
        }
        id.push(char::from(
            USER_ID_ALPHABET[rng.gen_range(0..USER_ID_ALPHABET.len())],
        ));
    }
    id
}

/// Whether `text` could be a userID as a person types it: in any case, with or without
/// its dash or spaces (the form the userID blind index compares). Ingest looks up only
/// such users of an access log; a web server's other user names cannot be accounts.
pub fn could_be_user_id(text: &str) -> bool {
    let normal = datavow_vault::IndexKind::UserId.normalise(text);
    normal.len() == USER_ID_LETTERS && normal.bytes().all(|b| USER_ID_ALPHABET.contains(&b))
}

/// Letters in a userID.
const USER_ID_LETTERS: usize = 8;

/// A generated password: four groups of six letters of a 57-letter alphabet
/// (24 × log2(57) ≈ 140 bits of entropy), such as `x7Kp2m-...`.
pub fn generate_password() -> String {
    let raw = random_text(24);
    raw.as_bytes()
        .chunks(6)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Why a chosen password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Common,
}

/// The least length of a chosen password.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Checks a password a person chose: at least 12 characters, at most 256, and not in
/// the bundled list of common passwords.
pub fn check_chosen_password(password: &str) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > 256 {
        return Err(PasswordProblem::TooLong);
    }
    if common_passwords().contains(password.to_lowercase().as_str()) {
        return Err(PasswordProblem::Common);
    }
    Ok(())
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../data/common-passwords-12plus.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_random_readable_and_grouped() {
        let a = generate_user_id();
        assert_eq!(a.len(), 9);
        assert_eq!(&a[4..5], "-");
        assert!(a
            .chars()
            .all(|c| c == '-' || USER_ID_ALPHABET.contains(&(c as u8))));
        assert_ne!(a, generate_user_id());
    }

    #[test]
    fn a_user_id_is_recognised_however_it_is_typed_and_other_user_names_are_not() {
        let id = generate_user_id();
        for typed in [
            id.clone(),
            id.to_lowercase(),
            id.replace('-', ""),
            id.replace('-', " "),
        ] {
            assert!(could_be_user_id(&typed), "{typed}");
        }
        for other in [
            "u086036",
            "admin",
            "K7Q2-M9X",
            "K7Q2-M9XPA",
            "K7Q2-M9X0",
            "-",
            "",
        ] {
            assert!(!could_be_user_id(other), "{other}");
        }
    }

    #[test]
    fn generated_passwords_carry_at_least_128_bits() {
        let p = generate_password();
        let letters = p.chars().filter(|c| *c != '-').count();
        let bits = letters as f64 * 57f64.log2();
        assert!(bits >= 128.0, "{bits}");
        assert!(check_chosen_password(&p).is_ok());
    }

    #[test]
    fn short_and_common_chosen_passwords_are_refused() {
        assert_eq!(
            check_chosen_password("short"),
            Err(PasswordProblem::TooShort)
        );
        assert_eq!(
            check_chosen_password("1qaz2wsx3edc"),
            Err(PasswordProblem::Common)
        );
        assert_eq!(
            check_chosen_password("Passwordpassword"),
            Err(PasswordProblem::Common)
        );
        assert!(check_chosen_password("violet tractor sings at dawn").is_ok());
    }
}
