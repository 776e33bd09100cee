//! Free text from a client (`reason`, `actor`, `idempotency_key`) ends up in logs, the
//! audit trail and CLI tables: it must not be able to spoof them.
//!
//! Refused: control characters (general category Cc), Unicode format characters
//! (category Cf: bidi overrides such as U+202E, zero-width U+200B/U+200D, U+FEFF, tags
//! U+E0001..) and the line/paragraph separators U+2028/U+2029.

/// Is `c` a character free text must not carry?
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Does `s` hold any character [`is_unsafe`] refuses?
pub(crate) fn has_unsafe(s: &str) -> bool {
    s.chars().any(is_unsafe)
}

/// General category Cf (Unicode 15.1), as ranges of code points.
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

fn is_format(c: char) -> bool {
    let c = c as u32;
    FORMAT.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_and_zero_width_characters_are_refused() {
        for s in [
            "a\u{202E}b",
            "a\u{200B}",
            "\u{FEFF}x",
            "x\u{2066}",
            "\u{E0041}",
            "a\nb",
        ] {
            assert!(has_unsafe(s), "{s:?}");
        }
    }

    #[test]
    fn ordinary_text_in_any_script_passes() {
        for s in ["manual halt", "déjà vu", "Übung 1", "止损", "ops@desk-1"] {
            assert!(!has_unsafe(s), "{s:?}");
        }
    }
}
