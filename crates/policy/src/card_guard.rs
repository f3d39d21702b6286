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
/// It allocates nothing and reads each byte about once: every access-log line passes
/// through it. Only a run of 13 to 19 digits is checked further.
pub fn contains_card_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut count = 0usize;
        let mut j = i;
        while j < bytes.len() {
            let c = bytes[j];
            if c.is_ascii_digit() {
                count += 1;
                j += 1;
            } else if (c == b' ' || c == b'-') && bytes.get(j + 1).is_some_and(u8::is_ascii_digit) {
                j += 1;
            } else {
                break;
            }
        }
        if (13..=19).contains(&count) && stands_alone(bytes, start, j) {
            let digits = bytes[start..j].iter().filter(|b| b.is_ascii_digit());
            if looks_like_card(digits.map(|b| b - b'0')) {
                return true;
            }
        }
        i = j;
    }
    false
}

/// Whether the run `bytes[start..end]` is a number of its own: not glued to letters
/// or digits on either side, and not an international phone number (after `+`).
fn stands_alone(bytes: &[u8], start: usize, end: usize) -> bool {
    let before = start.checked_sub(1).map(|k| bytes[k]);
    let glued_before = before.is_some_and(|b| b == b'+' || b.is_ascii_alphanumeric());
    let glued_after = bytes.get(end).is_some_and(u8::is_ascii_alphanumeric);
    !glued_before && !glued_after
}

/// A card starts with 2–6 and passes the Luhn check. `digits` holds 13–19 digits.
fn looks_like_card(digits: impl DoubleEndedIterator<Item = u8> + Clone) -> bool {
    let first = digits.clone().next().unwrap_or(0);
    (2..=6).contains(&first) && luhn(digits)
}

fn luhn(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| {
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
