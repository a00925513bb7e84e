//! Aligned plain-text tables for the commands' `--format table` output.

use std::fmt::Write as _;

/// Columns laid out with two spaces between them; `right[i]` aligns
/// column `i` right (numbers).
pub(super) fn table(header: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            let w = widths[i];
            if right.get(i).copied().unwrap_or(false) {
                let _ = write!(l, "{c:>w$}");
            } else {
                let _ = write!(l, "{c:<w$}");
            }
        }
        l.truncate(l.trim_end().len());
        l.push('\n');
        l
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_characters_and_numbers_right() {
        let rows = vec![
            vec!["AAPL".to_string(), "1".to_string()],
            vec!["MSFT·".to_string(), "1,000".to_string()],
        ];
        let t = table(&["Symbol", "Qty"], &rows, &[false, true]);
        assert_eq!(t, "Symbol    Qty\nAAPL        1\nMSFT·   1,000\n");
    }
}
