//! Property tests of the card-number guard (P4): however a card number is written
//! (digit scripts, separators, surrounding text), it is found; no input makes it panic.

use datavow_policy::card_guard::contains_card_number;
use proptest::prelude::*;

/// Test card numbers of the major schemes (Visa, Mastercard, Amex, Discover, JCB).
const CARDS: [&str; 6] = [
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "3530111333300000",
    "4012888888881881",
];

const ZEROS: [char; 6] = ['0', '\u{ff10}', '\u{660}', '\u{6f0}', '\u{966}', '\u{e50}'];

const SEPARATORS: [&str; 14] = [
    " ", "-", ".", "_", "/", ",", "\t", "\n", "\u{a0}", "\u{200b}", "\u{2060}", "\u{2013}",
    "\u{3000}", "\u{ad}",
];

fn written(card: &str, scripts: &[usize], gaps: &[(bool, usize, usize)]) -> String {
    let mut out = String::new();
    for (i, c) in card.chars().enumerate() {
        if i > 0 {
            let (split, sep, repeat) = gaps[i % gaps.len()];
            if split {
                out.push_str(&SEPARATORS[sep].repeat(repeat));
            }
        }
        let zero = ZEROS[scripts[i % scripts.len()]];
        out.push(char::from_u32(u32::from(zero) + (c as u32 - 0x30)).unwrap());
    }
    out
}

proptest! {
    #[test]
    fn a_card_number_is_found_however_it_is_written(
        card in 0..CARDS.len(),
        scripts in prop::collection::vec(0..ZEROS.len(), 1..20),
        gaps in prop::collection::vec((any::<bool>(), 0..SEPARATORS.len(), 1usize..=3), 1..20),
        before in "[a-zA-Zäöüß :;!?()]{0,20}",
        after in "[a-zA-Zäöüß :;!?()]{0,20}",
    ) {
        let text = format!("{before}{}{after}", written(CARDS[card], &scripts, &gaps));
        prop_assert!(contains_card_number(&text));
    }

    /// Any text at all (the guard must not panic), and the same text in fullwidth digits.
    #[test]
    fn fullwidth_digits_are_judged_like_ascii_digits(text in "[0-9a-z +.,_-]{0,60}|\\PC{0,40}") {
        let fullwidth: String = text
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) if c.is_ascii_digit() => char::from_u32(0xff10 + d).unwrap(),
                _ => c,
            })
            .collect();
        prop_assert_eq!(contains_card_number(&text), contains_card_number(&fullwidth));
    }

    #[test]
    fn numbers_of_fewer_than_thirteen_digits_are_never_cards(text in "[0-9 .\\-]{0,12}") {
        prop_assert!(!contains_card_number(&text));
    }
}
