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
pub fn contains_card_number(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let after_plus = i > 0 && chars[i - 1] == '+';
        let after_digitish = i > 0 && (chars[i - 1].is_ascii_alphanumeric());
        let mut digits = Vec::new();
        let mut j = i;
        while j < chars.len() {
            let c = chars[j];
            if let Some(d) = c.to_digit(10) {
                digits.push(d);
                j += 1;
            } else if (c == ' ' || c == '-')
                && j + 1 < chars.len()
                && chars[j + 1].is_ascii_digit()
                && j > i
            {
                j += 1;
            } else {
                break;
            }
        }
        let glued_after = j < chars.len() && chars[j].is_ascii_alphanumeric();
        if !after_plus && !after_digitish && !glued_after && looks_like_card(&digits) {
            return true;
        }
        i = j.max(i + 1);
    }
    false
}

fn looks_like_card(digits: &[u32]) -> bool {
    (13..=19).contains(&digits.len()) && (2..=6).contains(&digits[0]) && luhn(digits)
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
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
