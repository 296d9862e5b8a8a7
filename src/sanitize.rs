//! Makes untrusted text safe to show on a terminal.
//!
//! Server messages, claims, URLs from discovery documents and error bodies are written by
//! someone else. Printed raw, an escape sequence in them could move the cursor, rewrite the
//! screen, set the window title or (with OSC 52) the clipboard, and bidi overrides could make
//! text read differently from what it is. Everything such a party controls goes through
//! this module before any output: [`escape`] for plain text and the TUI, [`json`] /
//! [`json_pretty`] / [`write_json`] for every `--json` document and event (serde_json escapes
//! only C0, so DEL, C1 and Unicode format characters are escaped here as `\uXXXX`).
//!
//! One rule: text is escaped once, where it is written out, for the output it goes to. Values
//! inside the program (error messages, events, reports) keep the server's exact characters;
//! a JSON value escaped for a terminal first would reach a script as altered text.

use std::fmt::Write as _;
use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Returns `text` with control characters, bidi controls and other invisible formatting
/// characters replaced by visible escapes (`\x1b`, `\u{202e}`); plain text is unchanged.
/// Newlines and tabs are escaped too, so one message stays one line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_dangerous(c) {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x80 => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Like [`escape`], then cut to at most `max` characters (an ellipsis marks the cut), for
/// one-line summaries of bodies that may be long.
pub fn escape_truncated(text: &str, max: usize) -> String {
    let escaped = escape(text.trim());
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut cut: String = escaped.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `text` trimmed and cut to at most `max` characters (an ellipsis marks the cut), and not
/// escaped: for excerpts of server text kept inside messages. The message is escaped where it
/// is shown ([`escape`] for people, [`json`] for scripts), so a script reads the server's own
/// characters, never an escape written for a terminal.
pub fn truncate(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// One JSON line (compact), safe to print: see [`write_json`].
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    to_string(value, false)
}

/// One pretty-printed JSON document, safe to print: see [`write_json`].
pub fn json_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    to_string(value, true)
}

fn to_string<T: Serialize + ?Sized>(value: &T, pretty: bool) -> String {
    let mut out = Vec::with_capacity(256);
    // Writing into a Vec cannot fail, and a serializer only fails on maps with keys that are
    // not strings, which no caller has; the fallback keeps it total.
    if write_json(&mut out, value, pretty).is_err() {
        return "null".into();
    }
    // The serializer writes only UTF-8 (strings are copied whole or escaped).
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Serializes `value` as JSON into `out`, safe to print: every character [`escape`] would
/// escape is written as a `\uXXXX` escape (a surrogate pair above U+FFFF), which any JSON
/// parser reads back as the same character. serde_json escapes only C0 controls (and `"` and
/// the backslash) itself; DEL, C1 controls and bidi or invisible formatting characters are caught
/// here, as the text is written: nothing is serialized twice, and no string is scanned again
/// (`inspect --json` is benchmarked).
pub fn write_json<W: io::Write, T: Serialize + ?Sized>(
    out: W,
    value: &T,
    pretty: bool,
) -> serde_json::Result<()> {
    if pretty {
        value.serialize(&mut serde_json::Serializer::with_formatter(
            out,
            SafeFormatter(PrettyFormatter::new()),
        ))
    } else {
        value.serialize(&mut serde_json::Serializer::with_formatter(
            out,
            SafeFormatter(CompactFormatter),
        ))
    }
}

/// Formatter methods that only hand their call to the inner formatter.
macro_rules! pass_on {
    ($($method:ident $(($arg:ident: $ty:ty))?),* $(,)?) => {$(
        fn $method<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)?) -> io::Result<()> {
            self.0.$method(w $(, $arg)?)
        }
    )*};
}

/// A serde_json formatter that writes string contents (keys and values) with the characters
/// a terminal acts on escaped; layout is left to the inner formatter.
struct SafeFormatter<F>(F);

impl<F: Formatter> Formatter for SafeFormatter<F> {
    /// serde_json hands over the runs of a string that it does not escape itself.
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Harmless runs are written whole, and found a byte at a time: the documents are
        // almost all printable ASCII, and only a byte outside it starts a character that is
        // looked at.
        let bytes = fragment.as_bytes();
        let (mut copied, mut at) = (0, 0);
        while let Some(skip) = bytes[at..].iter().position(|b| !(b' '..=b'~').contains(b)) {
            let start = at + skip;
            let Some(c) = fragment[start..].chars().next() else {
                break;
            };
            at = start + c.len_utf8();
            if !is_dangerous(c) {
                continue;
            }
            writer.write_all(&bytes[copied..start])?;
            copied = at;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
        }
        writer.write_all(&bytes[copied..])
    }

    // The layout: everything the pretty and compact formatters do differently.
    pass_on! {
        begin_array, end_array, begin_array_value(first: bool), end_array_value,
        begin_object, end_object, begin_object_key(first: bool), end_object_key,
        begin_object_value, end_object_value,
    }
}

/// Characters that change how a terminal behaves or how text reads, rather than showing a
/// glyph: C0, DEL and C1 controls, every Unicode format character (general category Cf:
/// bidi controls, zero-width characters, the BOM, tags, interlinear annotation, …) and the
/// line and paragraph separators.
pub fn is_dangerous(c: char) -> bool {
    c.is_control() || is_format(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Unicode general category Cf (Unicode 16).
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{0600}'..='\u{0605}' | '\u{061c}' | '\u{06dd}' | '\u{070f}'
        | '\u{0890}'..='\u{0891}' | '\u{08e2}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206f}'
        | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// Quotes `text` for a POSIX shell: single quotes, with `'` written as `'\''`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// `text` as one shell word: as is when it is non-empty and made only of characters no shell
/// gives a meaning to (letters, digits and `/._-+:@%=,`), else [`shell_quote`]d. For
/// commands and paths shown to people to copy.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%=,".contains(&b));
    if plain {
        text.to_owned()
    } else {
        shell_quote(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words() {
        for (text, word) in [
            ("plain/path-1.0_x", "plain/path-1.0_x"),
            ("", "''"),
            ("two words", "'two words'"),
            ("it's", "'it'\\''s'"),
            ("$HOME", "'$HOME'"),
            ("a;b", "'a;b'"),
        ] {
            assert_eq!(shell_word(text), word, "{text:?}");
        }
        assert_eq!(shell_quote("x"), "'x'");
    }

    #[test]
    fn escapes_what_a_terminal_would_interpret() {
        let table = [
            ("plain text, ünïcödé, 日本", "plain text, ünïcödé, 日本"),
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
            ("line1\nline2\r\tx", "line1\\nline2\\r\\tx"),
            ("admin\u{202e}nimda", "admin\\u{202e}nimda"),
            ("a\u{2067}b\u{2069}c", "a\\u{2067}b\\u{2069}c"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("c1\u{9b}31m", "c1\\u{9b}31m"),
            ("del\u{7f}", "del\\x7f"),
        ];
        for (input, want) in table {
            assert_eq!(escape(input), want, "input {input:?}");
        }
    }

    #[test]
    fn json_stays_json_and_loses_nothing() {
        let value = serde_json::json!({"name": "admin\u{202e}nimda\u{1b}[31m\u{9b}\u{7f}"});
        let text = json_pretty(&value);
        assert!(
            text.contains("admin\\u202enimda\\u001b[31m\\u009b\\u007f"),
            "{text}"
        );
        assert!(
            !text.chars().any(|c| is_dangerous(c) && c != '\n'),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, value);
    }

    #[test]
    fn every_control_and_format_character_is_escaped_in_json() {
        let hostile: String = [
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{9b}',
            '\u{9d}',
            '\u{200b}',
            '\u{200e}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{feff}',
            '\u{00ad}',
            '\u{0600}',
            '\u{2028}',
            '\u{e0041}',
            '\u{1d173}',
            '\u{fff9}',
        ]
        .iter()
        .collect();
        let value = serde_json::json!({"k": hostile, hostile.clone(): [hostile.clone()]});
        for text in [json(&value), json_pretty(&value)] {
            assert!(
                !text.chars().any(|c| is_dangerous(c) && c != '\n'),
                "{text:?}"
            );
            assert!(
                text.contains("\\u200b") && text.contains("\\udb40\\udc41"),
                "{text}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            assert_eq!(back, value);
        }
        let plain = escape(&hostile);
        assert!(!plain.chars().any(is_dangerous), "{plain:?}");
    }

    /// JSON keeps printable text as it is (non-ASCII included) and escapes only what a
    /// terminal would act on, wherever it sits in a string.
    #[test]
    fn json_escapes_exactly_the_dangerous_characters() {
        let table = [
            ("plain", r#""plain""#),
            ("ünïcödé 日本 🙂", r#""ünïcödé 日本 🙂""#),
            ("\u{202e}start", r#""\u202estart""#),
            ("end\u{9b}", r#""end\u009b""#),
            ("日\u{200b}本\u{7f}x\u{1b}", r#""日\u200b本\u007fx\u001b""#),
            ("quote\" and \\", r#""quote\" and \\""#),
        ];
        for (input, want) in table {
            assert_eq!(json(input), want, "{input:?}");
        }
    }

    #[test]
    fn truncate_cuts_without_escaping() {
        assert_eq!(truncate("  abcdef  ", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        // The characters stay what they are: escaping is the output's business.
        assert_eq!(truncate("\x1b[2J\u{9b}x", 3), "\x1b[…");
        assert_eq!(truncate("\u{202e}ab", 5), "\u{202e}ab");
    }

    #[test]
    fn truncates_after_escaping() {
        assert_eq!(escape_truncated("  abcdef  ", 4), "abc…");
        assert_eq!(escape_truncated("abc", 4), "abc");
        assert_eq!(escape_truncated("\x1b\x1b", 5), "\\x1b…");
    }
}
