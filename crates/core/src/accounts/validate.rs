//! Validation of what people type (P1). Every rule names the field it refuses, never
//! the value. A card number anywhere refuses the whole input (P4).

use super::card_guard::contains_card_number;
use chrono::{Datelike, NaiveDate, Utc};
use datavow_policy::{CountryCode, Policy};
use serde::{Deserialize, Serialize};

/// A postal address as entered.
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    pub street: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, such as `DE` or `DK`.
    pub country: String,
}

datavow_policy::redacted_debug!(PostalAddress {
    street,
    postal_code,
    city,
    country
});

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: &'static str,
    /// Stable code such as `required`, `too_long`, `invalid_email`.
    pub code: &'static str,
    pub message: String,
}

/// Collects problems field by field.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldProblem>);

impl Problems {
    pub fn add(&mut self, field: &'static str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldProblem {
            field,
            code,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Upper bounds, in characters.
pub const MAX_NAME: usize = 200;
pub const MAX_COMPANY: usize = 200;
pub const MAX_INTEREST: usize = 2000;
pub const MAX_STREET: usize = 200;
pub const MAX_CITY: usize = 100;
pub const MAX_EMAIL: usize = 254;
pub const MAX_MESSAGE: usize = 5000;

/// Whether any of the texts holds a card number. Checked before anything else.
pub fn any_card_number<'a>(texts: impl IntoIterator<Item = &'a str>) -> bool {
    texts.into_iter().any(contains_card_number)
}

/// A trimmed text of 1..=max characters without control characters (`required`), or
/// 0..=max when optional. Returns the trimmed value.
pub fn text(
    problems: &mut Problems,
    field: &'static str,
    value: Option<&str>,
    max: usize,
    required: bool,
) -> Option<String> {
    let trimmed = value.map(str::trim).filter(|v| !v.is_empty());
    let Some(v) = trimmed else {
        if required {
            problems.add(field, "required", format!("{field} is required"));
        }
        return None;
    };
    if v.chars().count() > max {
        problems.add(
            field,
            "too_long",
            format!("{field} is longer than {max} characters"),
        );
        return None;
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        problems.add(
            field,
            "control_characters",
            format!("{field} contains control characters"),
        );
        return None;
    }
    if v.chars().any(is_bidi_control) {
        problems.add(
            field,
            "bidi_controls",
            format!("{field} contains characters that reorder text (bidi controls)"),
        );
        return None;
    }
    if field != "interest" && field != "message" && v.contains(['\n', '\r']) {
        problems.add(
            field,
            "line_breaks",
            format!("{field} must be a single line"),
        );
        return None;
    }
    Some(v.to_owned())
}

/// An email address: RFC 5322 syntax (the `email_address` crate), a domain with a dot,
/// at most 254 characters. Returned trimmed, as typed (the blind index normalises).
pub fn email(
    problems: &mut Problems,
    field: &'static str,
    value: Option<&str>,
    required: bool,
) -> Option<String> {
    let v = text(problems, field, value, MAX_EMAIL, required)?;
    let valid = email_address::EmailAddress::parse_with_options(
        &v,
        email_address::Options::default().without_display_text(),
    )
    .ok()
    .is_some_and(|e| {
        e.domain().contains('.') && !e.domain().ends_with('.') && !v.contains(char::is_whitespace)
    });
    if !valid {
        problems.add(
            field,
            "invalid_email",
            format!("{field} is not a valid email address"),
        );
        return None;
    }
    if looks_alike(&v) {
        problems.add(
            field,
            "look_alike_email",
            format!(
                "{field} has invisible characters, or mixes Latin, Greek or Cyrillic letters \
                 in one part, as addresses made to look like others do"
            ),
        );
        return None;
    }
    Some(v)
}

/// Characters that reorder the text shown around them (embeddings, overrides,
/// isolates, marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether an email address could pass for another: it holds an invisible character
/// (zero-width space, joiners, word joiner, soft hyphen, byte-order mark), or one of its
/// parts (the local part, each domain label) mixes Latin, Greek and Cyrillic letters,
/// the scripts whose letters look alike (`pаypal` with a Cyrillic `а`). Written here:
/// the maintained confusables crates judge whole strings against a skeleton table, not
/// the mixing inside one label that matters for an address.
fn looks_alike(address: &str) -> bool {
    let invisible = |c: char| matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}');
    if address.chars().any(invisible) {
        return true;
    }
    #[derive(PartialEq, Eq, Clone, Copy)]
    enum Script {
        Latin,
        Greek,
        Cyrillic,
    }
    let script = |c: char| match c {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => {
            Some(Script::Latin)
        }
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Some(Script::Greek),
        '\u{0400}'..='\u{052F}' => Some(Script::Cyrillic),
        _ => None,
    };
    address.split(['@', '.']).any(|part| {
        let mut scripts = part.chars().filter_map(script);
        let first = scripts.next();
        scripts.any(|s| Some(s) != first)
    })
}

/// A phone number parsed with libphonenumber's rules (the `phonenumber` crate), with the
/// address country as the region for numbers written without `+`. Returned in E.164.
pub fn phone(
    problems: &mut Problems,
    field: &'static str,
    value: Option<&str>,
    region: Option<CountryCode>,
) -> Option<String> {
    let v = text(problems, field, value, 40, false)?;
    let region = region.and_then(|c| c.as_str().parse::<phonenumber::country::Id>().ok());
    match phonenumber::parse(region, &v) {
        Ok(number) if phonenumber::is_valid(&number) => {
            Some(number.format().mode(phonenumber::Mode::E164).to_string())
        }
        _ => {
            problems.add(
                field,
                "invalid_phone",
                format!("{field} is not a valid phone number; write it with the country code, such as +49 30 901820"),
            );
            None
        }
    }
}

/// An ISO 3166-1 alpha-2 country that exists.
pub fn country(problems: &mut Problems, field: &'static str, value: &str) -> Option<CountryCode> {
    let code = CountryCode::parse(value.trim());
    match code {
        Some(code) if isocountry::CountryCode::for_alpha2(code.as_str()).is_ok() => Some(code),
        _ => {
            problems.add(
                field,
                "invalid_country",
                format!("{field} is not an ISO 3166 country code such as DE or DK"),
            );
            None
        }
    }
}

/// Whether a postal code has the shape of the country's codes.
fn postal_code_fits(country: CountryCode, code: &str) -> bool {
    let digits = |n: usize, s: &str| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    match country.as_str() {
        "DE" | "FR" | "IT" | "ES" | "FI" => digits(5, code),
        "DK" => digits(4, code.strip_prefix("DK-").unwrap_or(code)),
        "AT" | "CH" | "BE" | "NO" | "LU" => digits(4, code),
        "SE" => digits(5, &code.replace(' ', "")),
        "NL" => {
            let c = code.replace(' ', "");
            c.len() == 6 && digits(4, &c[..4]) && c[4..].chars().all(|ch| ch.is_ascii_alphabetic())
        }
        "PL" => {
            code.len() == 6 && digits(2, &code[..2]) && &code[2..3] == "-" && digits(3, &code[3..])
        }
        "US" => {
            digits(5, code)
                || (code.len() == 10
                    && digits(5, &code[..5])
                    && &code[5..6] == "-"
                    && digits(4, &code[6..]))
        }
        _ => {
            (2..=12).contains(&code.len())
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        }
    }
}

/// A postal address with every part, a real country and a postal code of its shape.
/// Returns the normalised address and its country.
pub fn postal_address(
    problems: &mut Problems,
    value: Option<&PostalAddress>,
) -> Option<(PostalAddress, CountryCode)> {
    let a = value?;
    let street = text(
        problems,
        "postal_address.street",
        Some(&a.street),
        MAX_STREET,
        true,
    );
    let city = text(
        problems,
        "postal_address.city",
        Some(&a.city),
        MAX_CITY,
        true,
    );
    let code = text(
        problems,
        "postal_address.postal_code",
        Some(&a.postal_code),
        12,
        true,
    );
    let country = country(problems, "postal_address.country", &a.country);
    let (street, city, code, country) = (street?, city?, code?, country?);
    let code = code.to_uppercase();
    if !postal_code_fits(country, &code) {
        problems.add(
            "postal_address.postal_code",
            "invalid_postal_code",
            format!("postal_address.postal_code is not a postal code of {country}"),
        );
        return None;
    }
    Some((
        PostalAddress {
            street,
            postal_code: code,
            city,
            country: country.to_string(),
        },
        country,
    ))
}

/// A business sector from the policy's list.
pub fn business_sector(
    problems: &mut Problems,
    policy: &Policy,
    value: Option<&str>,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if policy.business_sectors.iter().any(|s| s == v) {
        Some(v.to_owned())
    } else {
        problems.add(
            "business_sector",
            "unknown_business_sector",
            format!(
                "business_sector must be one of: {}",
                policy.business_sectors.join(", ")
            ),
        );
        None
    }
}

/// A birth date `YYYY-MM-DD` in the past 130 years.
pub fn birth_date(problems: &mut Problems, value: Option<&str>) -> Option<NaiveDate> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    let today = Utc::now().date_naive();
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(date) if date <= today && today.year() - date.year() <= 130 => Some(date),
        _ => {
            problems.add(
                "birth_date",
                "invalid_birth_date",
                "birth_date must be a past date written YYYY-MM-DD",
            );
            None
        }
    }
}

/// Whether `token` has the shape of a payment processor's opaque reference: a prefix
/// of 2–8 lower-case letters, `_`, then 8–64 letters or digits (`cus_Q2x9LmT7`,
/// `pm_1NvR…`). Card numbers never have this shape, so only references get in (P4).
pub fn is_payment_reference(token: &str) -> bool {
    let Some((prefix, body)) = token.split_once('_') else {
        return false;
    };
    (2..=8).contains(&prefix.len())
        && prefix.chars().all(|c| c.is_ascii_lowercase())
        && (8..=64).contains(&body.len())
        && body.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Age in whole years on `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    #[test]
    fn look_alike_emails_and_bidi_controls_are_refused() {
        for address in [
            "p\u{0430}ypal@example.com",
            "anna@ex\u{0430}mple.com",
            "an\u{200B}na@example.com",
            "anna\u{200D}@example.com",
            "an\u{00AD}na@example.com",
        ] {
            let mut problems = Problems::default();
            assert_eq!(
                email(&mut problems, "email", Some(address), true),
                None,
                "{address:?}"
            );
            assert_eq!(problems.0[0].code, "look_alike_email", "{address:?}");
        }
        for address in [
            "søren@østergård.dk",
            "ivan@пример.рф",
            "zoë@example.de",
            "a.b@sub.example.com",
        ] {
            let mut problems = Problems::default();
            assert!(
                email(&mut problems, "email", Some(address), true).is_some(),
                "{address:?}: {problems:?}"
            );
        }
        let mut problems = Problems::default();
        assert_eq!(
            text(&mut problems, "name", Some("Anna \u{202E}nnA"), 200, true),
            None
        );
        assert_eq!(problems.0[0].code, "bidi_controls");
        let mut problems = Problems::default();
        assert!(text(&mut problems, "name", Some("Søren Østergård"), 200, true).is_some());
    }

    use super::*;

    #[test]
    fn postal_codes_follow_their_country() {
        let c = |s| CountryCode::parse(s).expect("code");
        assert!(postal_code_fits(c("DE"), "14057"));
        assert!(!postal_code_fits(c("DE"), "1405"));
        assert!(postal_code_fits(c("DK"), "2970"));
        assert!(postal_code_fits(c("DK"), "DK-2970"));
        assert!(!postal_code_fits(c("DK"), "29700"));
        assert!(postal_code_fits(c("NL"), "1012 AB"));
        assert!(postal_code_fits(c("GB"), "SW1A 1AA"));
    }

    #[test]
    fn only_processor_references_are_payment_references() {
        assert!(is_payment_reference("cus_Q2x9LmT7"));
        assert!(is_payment_reference("pm_1NvR8sK2eZvKYlo2CxYz"));
        for bad in [
            "4111111111111111",
            "cus_",
            "CUS_Q2x9LmT7",
            "cus_Q2x9 LmT7",
            "x_12345678",
            "cus_4111-1111-1111-1111",
            "",
        ] {
            assert!(!is_payment_reference(bad), "{bad:?}");
        }
    }

    #[test]
    fn age_counts_whole_years_to_the_birthday() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(age_on(d("2010-11-26"), d("2026-11-25")), 15);
        assert_eq!(age_on(d("2010-11-25"), d("2026-11-25")), 16);
    }
}
