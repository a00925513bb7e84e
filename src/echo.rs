//! User input echoed back in a reply or a usage line: clipped to a few
//! characters (so a huge argument cannot fill the reply, however it is
//! made: 4,000 zero-width characters are 4,000 characters) and quoted as
//! typed, never debug-escaped (`\u{200b}` would turn one character into
//! eight). Escaping for HTML is the caller's job, after clipping.

/// The most characters of user input a reply repeats (`docs/BOT.md`).
pub const MAX_ECHO_CHARS: usize = 24;

/// `text` cut to `max` characters (an ellipsis marks the cut).
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` clipped to [`MAX_ECHO_CHARS`] and put in quotes, as a reply
/// names what was wrong: `“ten” is not a count`.
pub fn quoted(text: &str) -> String {
    format!("“{}”", clip(text, MAX_ECHO_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_clipped_and_never_escaped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        let zw = "\u{200b}".repeat(4080);
        let q = quoted(&zw);
        assert_eq!(q.chars().count(), MAX_ECHO_CHARS + 2);
        assert!(!q.contains("\\u"), "{q}");
        assert_eq!(quoted("a\"b"), "“a\"b”");
    }
}
