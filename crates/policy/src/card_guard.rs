//! The card-number guard (P4): "We never record or store credit card information".
//! Every input path (forms, API, profile updates, contact messages, log lines) asks
//! [`contains_card_number`] before anything is stored, and refuses the whole input if it
//! answers yes. The number itself is never echoed, logged or stored.
//!
//! The guard reads a normalised view of the text, so writing a number differently does
//! not hide it:
//! - every Unicode decimal digit counts as its value (fullwidth `４`, Arabic-Indic `٤`, …);
//! - between two digits, up to [`MAX_GAP`] separator characters are skipped: any
//!   whitespace (tabs, newlines, no-break spaces), zero-width and soft-hyphen characters,
//!   dashes, `.`, `_`, `/`, `\`, `,`, `|`, `:`, `*`;
//! - digits glued to letters still count (`card4111…`).
//!
//! A *run* is digits joined by such gaps. Its groups (digits without a gap) are tried in
//! every consecutive span of 13 to 19 digits, so a number stays visible next to other
//! numbers (`order 12, card 4111 1111 1111 1111`). A span is a card if it starts with 2–6
//! and passes the Luhn check. A single group of more than 19 digits is an identifier,
//! not a card. The one exception to "digits are digits" is an international phone number:
//! 13 to 15 digits right after `+` are read as a phone number (E.164 allows at most 15),
//! while 16 or more after `+` are a card (`+4111111111111111`); `+` between digits is a
//! separator like the others. The price is that a
//! list of short numbers can, about one time in ten, add up to a Luhn-valid 13–19 digit
//! span and be refused; refusing a harmless input is the safe side of P4.
//!
//! Written here because no maintained crate detects card numbers in free text, nor
//! exposes the decimal value of a Unicode digit (the table below is Unicode 15's `Nd`).

/// Most separator characters skipped between two digits of one run.
pub const MAX_GAP: usize = 3;
/// Card numbers have 13 to 19 digits.
const SHORTEST: usize = 13;
const LONGEST: usize = 19;
/// E.164: an international phone number has at most 15 digits.
const LONGEST_PHONE: usize = 15;

/// Whether `text` holds something that looks like a payment card number.
///
/// One pass over the characters, no allocation: every access-log field passes through
/// it. Text with fewer than 13 digits (the usual case) is answered from a byte count.
pub fn contains_card_number(text: &str) -> bool {
    if text.is_ascii() && !ascii_run_reaches_card_length(text.as_bytes()) {
        return false;
    }
    let mut run = Run::default();
    let mut after_plus = false;
    for c in text.chars() {
        let class = classify(c);
        match class {
            Class::Digit(d) => {
                if run.gap > 0 && run.end_group() {
                    return true;
                }
                if after_plus && run.current_group_is_empty() {
                    run.phone_start = Some(run.position());
                }
                run.push(d);
            }
            Class::Gap | Class::Plus if !run.is_empty() => {
                run.gap += 1;
                if run.gap > MAX_GAP && run.finish() {
                    return true;
                }
            }
            _ => {
                if !run.is_empty() && run.finish() {
                    return true;
                }
            }
        }
        after_plus = matches!(class, Class::Plus);
    }
    !run.is_empty() && run.finish()
}

/// Whether ASCII `bytes` hold a run of at least 13 digits joined by short gaps: the
/// only place a card can be. One table look-up per byte; most log fields (user agents
/// with version numbers, paths, dates) have no such run and end here.
fn ascii_run_reaches_card_length(bytes: &[u8]) -> bool {
    let mut digits = 0;
    let mut gap = 0;
    for &b in bytes {
        match ASCII_CLASSES[usize::from(b)] {
            b'd' => {
                digits += 1;
                gap = 0;
                if digits >= SHORTEST {
                    return true;
                }
            }
            b'g' if digits > 0 => {
                gap += 1;
                if gap > MAX_GAP {
                    digits = 0;
                    gap = 0;
                }
            }
            _ => {
                digits = 0;
                gap = 0;
            }
        }
    }
    false
}

/// The class of each ASCII byte, for [`classify`] and the pre-pass: `d` digit, `g`
/// separator (or `+`, which also marks a phone number), `o` other.
const ASCII_CLASSES: [u8; 256] = {
    let mut table = [b'o'; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'0'..=b'9' => b'd',
            b'+' | b'-' | b'.' | b'_' | b'/' | b'\\' | b',' | b'|' | b':' | b'*' => b'g',
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => b'g',
            _ => b'o',
        };
        b += 1;
    }
    table
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit(u8),
    Gap,
    Plus,
    Other,
}

fn classify(c: char) -> Class {
    if c.is_ascii() {
        let b = c as u8;
        return match ASCII_CLASSES[usize::from(b)] {
            b'd' => Class::Digit(b - b'0'),
            b'g' if b == b'+' => Class::Plus,
            b'g' => Class::Gap,
            _ => Class::Other,
        };
    }
    if let Some(d) = unicode_digit(c) {
        return Class::Digit(d);
    }
    match c {
        '\u{FF0B}' => Class::Plus,
        c if c.is_whitespace() => Class::Gap,
        // zero-width space, non-joiner, joiner; word joiner; BOM; soft hyphen;
        // Mongolian vowel separator; dashes and minus; fullwidth and small punctuation;
        // ideographic comma and full stop; middle dots and bullets.
        '\u{200B}'..='\u{200D}'
        | '\u{2060}'
        | '\u{FEFF}'
        | '\u{00AD}'
        | '\u{180E}'
        | '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{FE50}'..='\u{FE52}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0C}'..='\u{FF0F}'
        | '\u{FF3F}'
        | '\u{3001}'
        | '\u{3002}'
        | '\u{00B7}'
        | '\u{2022}'
        | '\u{2027}'
        | '\u{30FB}' => Class::Gap,
        _ => Class::Other,
    }
}

/// The first code point of each range of ten decimal digits (`Nd`) in Unicode 15.
const DIGIT_ZEROS: [u32; 68] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x11F50, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E4F0, 0x1E950,
    0x1FBF0,
];

/// The value of a Unicode decimal digit, such as 4 for `٤` or `４`.
fn unicode_digit(c: char) -> Option<u8> {
    let cp = u32::from(c);
    let i = DIGIT_ZEROS
        .partition_point(|&zero| zero <= cp)
        .checked_sub(1)?;
    let value = cp - DIGIT_ZEROS[i];
    (value < 10).then_some(value as u8)
}

/// The digits seen since the run began, kept only as far back as a card could reach.
///
/// Groups are digits without a gap between them. Only the trailing groups that hold
/// together at most 19 digits are kept, plus the group being read; a group longer than
/// 19 digits can be part of no card and clears what is kept.
struct Run {
    digits: [u8; 2 * LONGEST],
    len: usize,
    /// Lengths of the kept groups, the last one being read.
    groups: [u8; LONGEST + 1],
    group_count: usize,
    /// Digits of the run that came before `digits[0]`.
    dropped: usize,
    /// The current group is longer than any card.
    too_long: bool,
    /// Separator characters read since the last digit.
    gap: usize,
    /// Where (in digits since the run began) the last group written right after `+`
    /// began: up to 15 digits from there are a phone number.
    phone_start: Option<usize>,
}

impl Default for Run {
    fn default() -> Self {
        Run {
            digits: [0; 2 * LONGEST],
            len: 0,
            groups: [0; LONGEST + 1],
            group_count: 0,
            dropped: 0,
            too_long: false,
            gap: 0,
            phone_start: None,
        }
    }
}

impl Run {
    fn is_empty(&self) -> bool {
        self.group_count == 0
    }

    fn current_group_is_empty(&self) -> bool {
        self.group_count == 0 || self.groups[self.group_count - 1] == 0
    }

    /// Digits of the run read so far.
    fn position(&self) -> usize {
        self.dropped + self.len
    }

    fn push(&mut self, d: u8) {
        self.gap = 0;
        if self.group_count == 0 {
            self.group_count = 1;
            self.groups[0] = 0;
        }
        if self.too_long {
            self.dropped += 1;
            return;
        }
        let current = &mut self.groups[self.group_count - 1];
        if usize::from(*current) == LONGEST {
            // Past 19 digits without a gap: an identifier. Nothing kept can join it.
            self.too_long = true;
            self.dropped += self.len + 1;
            self.len = 0;
            self.group_count = 1;
            self.groups[0] = 0;
            return;
        }
        *current += 1;
        self.digits[self.len] = d;
        self.len += 1;
    }

    /// Closes the group being read; whether a span ending with it is a card. Then
    /// keeps only what a later span could still use and opens a new group.
    fn end_group(&mut self) -> bool {
        let found = !self.too_long && self.card_ends_here();
        if self.too_long {
            self.too_long = false;
            self.group_count = 0;
        }
        // Drop leading groups until what is kept holds fewer than 19 digits.
        let mut keep_from = 0;
        let mut kept = self.len;
        while kept >= LONGEST && keep_from < self.group_count {
            kept -= usize::from(self.groups[keep_from]);
            keep_from += 1;
        }
        if keep_from > 0 {
            let drop = self.len - kept;
            self.digits.copy_within(drop..self.len, 0);
            self.groups.copy_within(keep_from..self.group_count, 0);
            self.group_count -= keep_from;
            self.dropped += drop;
            self.len = kept;
        }
        self.groups[self.group_count] = 0;
        self.group_count += 1;
        found
    }

    /// Whether a span of whole groups ending with the last one is a card.
    fn card_ends_here(&self) -> bool {
        let end = self.len;
        let mut start = end;
        for &group in self.groups[..self.group_count].iter().rev() {
            start -= usize::from(group);
            let span = end - start;
            if span > LONGEST {
                break;
            }
            let phone = self.phone_start.is_some_and(|p| {
                p <= self.dropped + start && self.dropped + end - p <= LONGEST_PHONE
            });
            if span >= SHORTEST && !phone && looks_like_card(&self.digits[start..end]) {
                return true;
            }
        }
        false
    }

    /// Ends the run; whether its last spans hold a card.
    fn finish(&mut self) -> bool {
        let found = !self.too_long && self.card_ends_here();
        *self = Run::default();
        found
    }
}

/// A card starts with 2–6 and passes the Luhn check.
fn looks_like_card(digits: &[u8]) -> bool {
    (2..=6).contains(&digits[0]) && luhn(digits)
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

    /// The bypasses a hostile tester found: every separator, digit script and glue.
    #[test]
    fn card_numbers_written_with_other_separators_scripts_or_glue_are_found() {
        let groups = ["4111", "1111", "1111", "1111"];
        let separators = [
            ".", "_", "/", ",", "\t", "\n", "\r\n", "\u{a0}", "\u{202f}", "\u{200b}", "\u{200c}",
            "\u{200d}", "\u{2060}", "\u{feff}", "\u{ad}", "\u{2013}", "\u{2212}", " - ", ". ", "+",
            "\u{3000}", "|", ":", "*",
        ];
        for sep in separators {
            let text = format!("pay {}", groups.join(sep));
            assert!(contains_card_number(&text), "separator {sep:?}");
        }
        let fold = |zero: char| -> String {
            "4111111111111111"
                .chars()
                .map(|c| char::from_u32(u32::from(zero) + (c as u32 - 0x30)).unwrap())
                .collect()
        };
        for zero in ['\u{ff10}', '\u{660}', '\u{6f0}', '\u{966}', '\u{1d7ce}'] {
            assert!(contains_card_number(&fold(zero)), "digits from {zero:?}");
        }
        let fullwidth: String = fold('\u{ff10}').chars().skip(4).collect();
        let mixed = format!("4111{fullwidth}");
        assert!(contains_card_number(&mixed), "mixed scripts");
        for text in [
            "card4111111111111111",
            "4111111111111111x",
            "+4111111111111111",
            "+4111 1111 1111 1111",
            "order 12, card 4111 1111 1111 1111",
            "call +49 30 901820 1234, card 4111 1111 1111 1111",
            "1234567890123456789012345 4111111111111111",
            "ref 4111\u{200b}1111\u{200b}1111\u{200b}1111",
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
            "+49 1511 2345 6789 0",
            "\u{ff0b}4930901820123",
            "Order 1234567890123",
            "4111111111111112",
            "2026-11-25",
            "DE89370400440532013000",
            "Witzlebenstrasse 6, 14057 Berlin",
            "41111111111111111111111",
            "Søren Ægidius Østergård",
            "4111 1111 1111 1111 is not a card when written    4111",
        ] {
            let card = text.starts_with("4111 1111");
            assert_eq!(contains_card_number(text), card, "{text:?}");
        }
        // Separated by more than a short gap, numbers do not join.
        assert!(!contains_card_number("4111 1111    1111 1111"));
        assert!(!contains_card_number("4111111111111111111114111"));
    }

    #[test]
    fn a_long_identifier_next_to_a_card_does_not_hide_it() {
        let id = "9".repeat(40);
        assert!(contains_card_number(&format!("{id} 4111 1111 1111 1111")));
        assert!(contains_card_number(&format!("4111 1111 1111 1111 {id}")));
        assert!(!contains_card_number(&id));
    }

    /// The digit table agrees with Python's `unicodedata` (Debian's Python 3) for every
    /// code point that Python's Unicode version assigns.
    #[test]
    #[allow(clippy::print_stderr)]
    fn unicode_digits_fold_like_pythons_unicodedata() {
        let script = "import sys,unicodedata\n\
            for c in range(sys.maxunicode+1):\n\
            \x20   ch=chr(c)\n\
            \x20   cat=unicodedata.category(ch)\n\
            \x20   if cat!='Cn': print(c, unicodedata.decimal(ch,-1) if cat=='Nd' else -1)\n";
        let Ok(out) = std::process::Command::new("/usr/bin/python3")
            .args(["-c", script])
            .output()
        else {
            eprintln!("skipped: /usr/bin/python3 is not installed");
            return;
        };
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let mut digits = 0;
        for line in text.lines() {
            let (cp, value) = line.split_once(' ').unwrap();
            let Some(c) = char::from_u32(cp.parse().unwrap()) else {
                continue;
            };
            let expected: i32 = value.parse().unwrap();
            let ours = unicode_digit(c).map_or(-1, i32::from);
            assert_eq!(ours, expected, "U+{:04X}", u32::from(c));
            digits += usize::from(expected >= 0);
        }
        assert!(digits >= 650, "only {digits} digits compared");
    }
}
