//! Telegram HTML (parse mode `HTML`): escaping dynamic text, monospace
//! tables, and splitting long messages on line boundaries without ever
//! cutting through a tag or an entity.
//!
//! Every reply is built from our own tags (`<b>`, `<i>`, `<code>`, `<pre>`)
//! around escaped values, so the only `<` in a reply starts one of our tags
//! and the splitter can track which tags are open at any point.

/// Telegram's limit on one message's text.
pub const MAX_MESSAGE: usize = 4096;

/// Escape `&`, `<` and `>`: all Telegram requires outside tags.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

pub use crate::echo::clip;

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Padded on the right (text).
    Left,
    /// Padded on the left (numbers).
    Right,
}

/// A monospace table rendered as one `<pre>` block: columns padded to the
/// widest cell, cells escaped after padding (an entity shows as one
/// character, so alignment holds).
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and alignments.
    pub fn new(columns: &[(&str, Align)]) -> Self {
        Self {
            header: columns.iter().map(|(h, _)| (*h).to_string()).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    /// Add a row (missing cells render empty, extra cells are dropped).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The `<pre>` block, header first.
    pub fn render(&self) -> String {
        let cell = |row: &[String], i: usize| row.get(i).map_or("", String::as_str).to_string();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, w) in widths.iter_mut().enumerate() {
                *w = (*w).max(cell(row, i).chars().count());
            }
        }
        let line = |row: &[String]| {
            let mut out = String::new();
            for (i, (width, align)) in widths.iter().zip(&self.align).enumerate() {
                let text = cell(row, i);
                let pad = width - text.chars().count();
                if i > 0 {
                    out.push_str("  ");
                }
                match align {
                    Align::Left => {
                        out.push_str(&escape(&text));
                        out.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        out.extend(std::iter::repeat_n(' ', pad));
                        out.push_str(&escape(&text));
                    }
                }
            }
            out.trim_end().to_string()
        };
        let mut out = String::from("<pre>");
        out.push_str(&line(&self.header));
        for row in &self.rows {
            out.push('\n');
            out.push_str(&line(row));
        }
        out.push_str("</pre>");
        out
    }
}

/// Label / value rows as one `<pre>` block without a header row (a
/// preview, the account): labels padded to the widest.
pub fn label_table<L: AsRef<str>>(rows: &[(L, String)]) -> String {
    let mut t = Table::new(&[("", Align::Left), ("", Align::Left)]);
    for (label, value) in rows {
        t.row(vec![label.as_ref().to_string(), value.clone()]);
    }
    // The header row of a label/value table is empty: drop it.
    t.render().replacen("<pre>\n", "<pre>", 1)
}

/// One lexical piece of our HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// `<name ...>`; `raw` is the whole tag, reopened as is.
    Open { name: &'a str, raw: &'a str },
    /// `</name>`.
    Close { name: &'a str, raw: &'a str },
    /// Text: one character or one entity (`&amp;`), never cut.
    Text(&'a str),
    /// A line break: the preferred place to split.
    Newline,
}

impl Token<'_> {
    fn raw(&self) -> &str {
        match self {
            Self::Open { raw, .. } | Self::Close { raw, .. } | Self::Text(raw) => raw,
            Self::Newline => "\n",
        }
    }
}

/// Length as Telegram counts it (UTF-16 code units). Counting the raw HTML
/// rather than the parsed text over-counts tags and entities, which only
/// makes chunks safely shorter.
fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

fn tokenize(html: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let c = rest.chars().next().unwrap_or('\0');
        let len = match c {
            '\n' => {
                out.push(Token::Newline);
                1
            }
            '<' => match rest.find('>') {
                Some(end) => {
                    let raw = &rest[..=end];
                    let (closing, body) = match raw[1..].strip_prefix('/') {
                        Some(b) => (true, b),
                        None => (false, &raw[1..]),
                    };
                    let name_len = body
                        .find(|ch: char| !ch.is_ascii_alphanumeric() && ch != '-')
                        .unwrap_or(body.len());
                    let name = &body[..name_len];
                    out.push(if closing {
                        Token::Close { name, raw }
                    } else {
                        Token::Open { name, raw }
                    });
                    raw.len()
                }
                None => {
                    out.push(Token::Text(&rest[..1]));
                    1
                }
            },
            '&' => {
                // An entity is `&` + up to 10 name characters + `;`.
                let end = rest
                    .char_indices()
                    .take(12)
                    .skip(1)
                    .find(|(_, ch)| !ch.is_ascii_alphanumeric() && *ch != '#')
                    .filter(|(_, ch)| *ch == ';')
                    .map(|(j, _)| j);
                let len = end.map_or(1, |j| j + 1);
                out.push(Token::Text(&rest[..len]));
                len
            }
            c => {
                let len = c.len_utf8();
                out.push(Token::Text(&rest[..len]));
                len
            }
        };
        i += len;
    }
    out
}

/// The stack of open tags after `tokens`, starting from `open`.
fn apply<'a>(open: &mut Vec<Token<'a>>, token: Token<'a>) {
    match token {
        Token::Open { .. } => open.push(token),
        Token::Close { name, .. } => {
            if let Some(pos) = open
                .iter()
                .rposition(|t| matches!(t, Token::Open { name: n, .. } if *n == name))
            {
                open.truncate(pos);
            }
        }
        Token::Text(_) | Token::Newline => {}
    }
}

fn closers(open: &[Token<'_>]) -> String {
    open.iter()
        .rev()
        .filter_map(|t| match t {
            Token::Open { name, .. } => Some(format!("</{name}>")),
            _ => None,
        })
        .collect()
}

fn openers(open: &[Token<'_>]) -> String {
    open.iter().map(Token::raw).collect()
}

/// The message chunk being filled.
struct Chunk {
    text: String,
    units: usize,
    /// Whether anything but reopened tags went in.
    content: bool,
}

impl Chunk {
    fn start(open: &[Token<'_>]) -> Self {
        let text = openers(open);
        Self {
            units: units(&text),
            text,
            content: false,
        }
    }

    fn push(&mut self, raw: &str) {
        self.text.push_str(raw);
        self.units += units(raw);
        self.content = true;
    }
}

/// Whether a chunk shows anything once tags are dropped (Telegram refuses
/// an empty message).
fn visible(html: &str) -> bool {
    tokenize(html)
        .iter()
        .any(|t| matches!(t, Token::Text(s) if !s.trim().is_empty()))
}

/// Split `html` into messages of at most `limit` UTF-16 units each. Breaks
/// fall on line boundaries (the newline at a break is dropped); a single
/// line longer than `limit` is broken between characters or entities.
/// Tags open at a break are closed at the end of one message and reopened
/// at the start of the next, so every message is well-formed on its own.
pub fn split(html: &str, limit: usize) -> Vec<String> {
    if units(html) <= limit {
        return if visible(html) {
            vec![html.to_string()]
        } else {
            Vec::new()
        };
    }
    let tokens = tokenize(html);
    let mut out: Vec<String> = Vec::new();
    let mut open: Vec<Token<'_>> = Vec::new();
    let mut chunk = Chunk::start(&open);
    let flush = |chunk: &mut Chunk, open: &[Token<'_>], out: &mut Vec<String>| {
        let mut text = std::mem::take(&mut chunk.text);
        text.push_str(&closers(open));
        if visible(&text) {
            out.push(text);
        }
        *chunk = Chunk::start(open);
    };
    for line in tokens.split(|t| *t == Token::Newline) {
        let mut after = open.clone();
        for t in line {
            apply(&mut after, *t);
        }
        let line_units: usize = line.iter().map(|t| units(t.raw())).sum();
        let sep = usize::from(chunk.content);
        if chunk.units + sep + line_units + units(&closers(&after)) <= limit {
            if chunk.content {
                chunk.push("\n");
            }
            for t in line {
                chunk.push(t.raw());
            }
            chunk.content = true;
            open = after;
            continue;
        }
        if chunk.content {
            flush(&mut chunk, &open, &mut out);
        }
        if chunk.units + line_units + units(&closers(&after)) <= limit {
            for t in line {
                chunk.push(t.raw());
            }
            chunk.content = true;
            open = after;
            continue;
        }
        // A line longer than a whole message: break inside it, between tokens.
        for t in line {
            let mut next = open.clone();
            apply(&mut next, *t);
            if chunk.content && chunk.units + units(t.raw()) + units(&closers(&next)) > limit {
                flush(&mut chunk, &open, &mut out);
            }
            chunk.push(t.raw());
            open = next;
        }
    }
    if chunk.content {
        flush(&mut chunk, &open, &mut out);
    }
    out
}

/// Whether `html` is what Telegram accepts from us: tags balanced and
/// properly nested, no stray `<`, `>` or `&`, some visible text, and at
/// most [`MAX_MESSAGE`] units long.
#[cfg(test)]
pub(crate) fn well_formed(html: &str) -> bool {
    let mut stack = Vec::new();
    for t in tokenize(html) {
        match t {
            Token::Open { name, .. } => stack.push(name),
            Token::Close { name, .. } => {
                if stack.pop() != Some(name) {
                    return false;
                }
            }
            Token::Text(s) => {
                if s == "<" || s == ">" || s == "&" {
                    return false;
                }
            }
            Token::Newline => {}
        }
    }
    stack.is_empty() && visible(html) && units(html) <= MAX_MESSAGE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(html: &str) -> String {
        tokenize(html)
            .iter()
            .filter_map(|t| match t {
                Token::Text(s) => Some(*s),
                Token::Newline => Some("\n"),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn escapes_markup_characters() {
        assert_eq!(escape("BF.B & <Co> \"x\""), "BF.B &amp; &lt;Co&gt; \"x\"");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn table_aligns_columns_and_escapes_cells() {
        let mut t = Table::new(&[("sym", Align::Left), ("value", Align::Right)]);
        t.row(vec!["A&B".into(), "1.00".into()]);
        t.row(vec!["BF.B".into(), "12,345.00".into()]);
        assert_eq!(
            t.render(),
            "<pre>sym       value\nA&amp;B        1.00\nBF.B  12,345.00</pre>"
        );
    }

    #[test]
    fn short_messages_are_not_split() {
        assert_eq!(split("<b>hi</b>\nthere", 4096), vec!["<b>hi</b>\nthere"]);
        assert!(split("<b> </b>\n", 4096).is_empty());
    }

    #[test]
    fn splits_on_lines_and_reopens_a_pre_block() {
        let mut html = String::from("<b>Title</b>\n<pre>");
        for i in 0..40 {
            html.push_str(&format!("row {i:02} &amp; more\n"));
        }
        html.push_str("end</pre>");
        let parts = split(&html, 200);
        assert!(parts.len() > 3);
        for p in &parts {
            assert!(units(p) <= 200, "{} > 200: {p}", units(p));
            assert!(well_formed(p), "{p}");
        }
        assert!(parts[0].starts_with("<b>Title</b>\n<pre>row 00"));
        assert!(parts[1].starts_with("<pre>row "), "{}", parts[1]);
        assert!(parts.last().unwrap().ends_with("end</pre>"));
        // Nothing lost: the texts joined by the dropped newlines are the original text.
        let joined: Vec<String> = parts.iter().map(|p| text_of(p)).collect();
        assert_eq!(joined.join("\n"), text_of(&html));
    }

    #[test]
    fn an_overlong_line_is_cut_between_entities_not_inside_them() {
        let html = format!("<i>{}</i>", "a&amp;".repeat(100));
        let parts = split(&html, 50);
        assert!(parts.len() > 10);
        for p in &parts {
            assert!(units(p) <= 50);
            assert!(well_formed(p), "{p}");
        }
        let joined: String = parts.iter().map(|p| text_of(p)).collect();
        assert_eq!(joined, text_of(&html));
    }

    #[test]
    fn counts_utf16_units_like_telegram() {
        // An emoji is two UTF-16 units.
        let html = "😀".repeat(30);
        let parts = split(&html, 20);
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| units(p) <= 20));
    }
}
