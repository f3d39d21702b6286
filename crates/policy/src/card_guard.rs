//! The card-number guard (P4): "We never record or store credit card information".
//! Every input path (forms, API, profile updates, contact messages, log lines) asks
//! [`contains_card_number`] before anything is stored, and refuses the whole input if it
//! answers yes. The number itself is never echoed, logged or stored.
//!
//! A card number here is a run of 13 to 19 digits, optionally grouped by single spaces
//! or dashes, that passes the Luhn check and starts like a payment card (2–6). A run
//! right after `+` is a phone number in international form, not a card. Written here
//! because no maintained crate does this detection on free text.

/// Whether `text` holds something that looks like a payment card number.
///
/// Works on bytes: digits, spaces and dashes are ASCII, and no byte of a multi-byte
/// UTF-8 character is an ASCII letter or digit, so this equals a scan over characters.
/// It allocates nothing: every access-log line passes through it.
pub fn contains_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i..].iter().position(u8::is_ascii_digit) {
            Some(skip) => i += skip,
            None => return false,
        }
        let after_plus = i > 0 && bytes[i - 1] == b'+';
        let after_digitish = i > 0 && bytes[i - 1].is_ascii_alphanumeric();
        let mut digits = [0u8; 19];
        let mut count = 0usize;
        let mut j = i;
        while j < bytes.len() {
            let c = bytes[j];
            if c.is_ascii_digit() {
                if count < digits.len() {
                    digits[count] = c - b'0';
                }
                count += 1;
                j += 1;
            } else if (c == b' ' || c == b'-')
                && j + 1 < bytes.len()
                && bytes[j + 1].is_ascii_digit()
                && j > i
            {
                j += 1;
            } else {
                break;
            }
        }
        let glued_after = j < bytes.len() && bytes[j].is_ascii_alphanumeric();
        if !after_plus
            && !after_digitish
            && !glued_after
            && count <= digits.len()
            && looks_like_card(&digits[..count])
        {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

fn looks_like_card(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && (2..=6).contains(&digits[0]) && luhn(digits)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_plain_spaced_and_dashed_are_found() {
        for text in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "my card is 5555 5555 5555 4444, thanks",
            "Amex 378282246310005",
            "Discover: 6011-1111-1111-1117.",
            "4012888888881881 exp 12/29",
            "Visa 13: 4222222222222",
        ] {
            assert!(contains_card_number(text), "{text:?}");
        }
    }

    #[test]
    fn phone_numbers_dates_and_ordinary_numbers_are_not_cards() {
        for text in [
            "+4930901820123",
            "+49 30 901820 1234",
            "+4531234567",
            "Order 1234567890123",
            "4111111111111112",
            "2026-11-25",
            "DE89370400440532013000",
            "Witzlebenstrasse 6, 14057 Berlin",
            "41111111111111111111111",
            "Søren Ægidius Østergård",
        ] {
            assert!(!contains_card_number(text), "{text:?}");
        }
    }
}
