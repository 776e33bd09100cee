//! Text in the picture: how wide a string will be, and how to make it fit (wrap at
//! spaces, or shorten with an ellipsis), plus XML escaping.
//!
//! Invariant: the width estimate never under-measures the fonts the SVG asks for
//! ([`FONT_FAMILY`]): it uses DejaVu Sans advance widths (the first and widest family
//! of the list; Arial and Helvetica are narrower), rounded up to 1/1000 em, ignores
//! kerning (which only narrows), and counts any other character as a full em (CJK is
//! 1 em; most other scripts are narrower). Layout built on it therefore leaves text
//! inside its box whichever of those fonts renders it.

/// The fonts the SVG asks for, widest first.
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";

/// Share of the font size above the baseline (DejaVu Sans' ascender, 1901 of 2048
/// units, rounded up); the descender (483 units, 0.24 em) fits in each line's spacing.
pub(super) const ASCENT: f64 = 0.93;

/// DejaVu Sans advance widths of U+0020..=U+007E in 1/1000 em, rounded up.
#[rustfmt::skip]
const ASCII_ADVANCE: [u16; 95] = [
    318, 401, 460, 838, 637, 951, 780, 275, 391, 391, 500, 838, 318, 361, 318, 337,
    637, 637, 637, 637, 637, 637, 637, 637, 637, 637, 337, 337, 838, 838, 838, 531,
    1000, 685, 687, 699, 771, 632, 576, 775, 752, 295, 295, 656, 558, 863, 749, 788,
    604, 788, 695, 635, 611, 732, 685, 989, 686, 611, 686, 391, 337, 391, 838, 500,
    500, 613, 635, 550, 635, 616, 353, 635, 634, 278, 278, 580, 278, 975, 634, 612,
    635, 635, 412, 521, 393, 634, 592, 818, 592, 592, 525, 637, 337, 637, 838,
];

fn advance(c: char) -> u64 {
    match c as u32 {
        0x20..=0x7e => u64::from(ASCII_ADVANCE[(c as u32 - 0x20) as usize]),
        0xb7 => 318,          // ·
        0x2013 => 500,        // –
        0x2192 | 0xd7 => 838, // → ×
        _ => 1000,
    }
}

/// Width in whole pixels (rounded up) of `s` at `size` px.
pub(super) fn width(s: &str, size: i64) -> i64 {
    let milli: u64 = s.chars().map(advance).sum();
    (milli * size as u64).div_ceil(1000) as i64
}

/// `s` shortened with `…` so that it is at most `max` px wide at `size` px.
pub(super) fn ellipsize(s: &str, size: i64, max: i64) -> String {
    if width(s, size) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        let candidate = format!("{out}{c}…");
        if width(&candidate, size) > max {
            break;
        }
        out.push(c);
    }
    if width(&format!("{out}…"), size) <= max {
        format!("{out}…")
    } else {
        String::new()
    }
}

/// `s` broken at spaces into lines at most `max` px wide at `size` px, at most
/// `max_lines` of them; a word wider than a line, or text beyond the last line, is
/// shortened with `…`.
pub(super) fn wrap(s: &str, size: i64, max: i64, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let joined = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if width(&joined, size) <= max || line.is_empty() {
            line = joined;
            continue;
        }
        lines.push(std::mem::replace(&mut line, word.to_string()));
    }
    if !line.is_empty() {
        lines.push(line);
    }
    if lines.len() > max_lines {
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(format!("{rest}…"));
    }
    lines
        .into_iter()
        .map(|l| ellipsize(&l, size, max))
        .collect()
}

/// Escape text and attribute values.
pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_fit_and_keep_every_word_when_there_is_room() {
        let title = "Order attempts to the exchange by outcome, per 1-second bucket";
        let lines = wrap(title, 16, 300, 3);
        assert!(lines.len() > 1 && lines.iter().all(|l| width(l, 16) <= 300));
        assert_eq!(lines.join(" "), title);
    }

    #[test]
    fn text_that_cannot_fit_is_shortened_with_an_ellipsis() {
        let long = "SYMBOL".repeat(30);
        let short = ellipsize(&long, 12, 100);
        assert!(short.ends_with('…') && width(&short, 12) <= 100, "{short}");
        let lines = wrap("one two three four five six", 12, 40, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…') && lines.iter().all(|l| width(l, 12) <= 40));
    }

    #[test]
    fn digits_measure_as_dejavu_sans_draws_them() {
        // Ten digits at 10 px: 10 × 0.637 em = 63.7 px, rounded up.
        assert_eq!(width("0123456789", 10), 64);
        assert_eq!(width("漢", 12), 12);
    }
}
