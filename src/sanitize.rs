//! Makes untrusted text safe to show on a terminal.
//!
//! Server messages, claims, URLs from discovery documents and error bodies are written by
//! someone else. Printed raw, an escape sequence in them could move the cursor, rewrite the
//! screen, set the window title or (with OSC 52) the clipboard, and bidi overrides could make
//! text read differently from what it is. Everything such a party controls goes through
//! this module before any output: [`escape`] for plain text and the TUI, [`json`] /
//! [`json_pretty`] for every `--json` document and event (serde_json escapes only C0, so DEL,
//! C1 and Unicode format characters are escaped here as `\uXXXX`).

use std::fmt::Write;

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

/// Makes serialized JSON safe to print: characters [`escape`] would escape are written as
/// `\uXXXX` escapes, which JSON parsers read back as the same characters. serde_json already
/// escapes C0 controls inside strings; this catches DEL, C1 controls and bidi or invisible
/// formatting characters, which it writes raw. Line breaks outside strings are kept.
pub fn json_output(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    // Harmless runs are copied whole rather than char by char: `inspect --json` is
    // benchmarked, and its documents are almost all printable ASCII.
    let mut copied = 0;
    for (at, c) in json.char_indices() {
        if matches!(c, ' '..='~' | '\n' | '\t' | '\r') || !is_dangerous(c) {
            continue;
        }
        out.push_str(&json[copied..at]);
        copied = at + c.len_utf8();
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            let _ = write!(out, "\\u{unit:04x}");
        }
    }
    out.push_str(&json[copied..]);
    out
}

/// One JSON line (compact), safe to print: see [`json_output`].
pub fn json(value: &serde_json::Value) -> String {
    json_output(&value.to_string())
}

/// One pretty-printed JSON document, safe to print: see [`json_output`].
pub fn json_pretty(value: &serde_json::Value) -> String {
    // Serializing a Value cannot fail (its keys are strings); the fallback keeps it total.
    json_output(&serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn json_output_stays_json_and_loses_nothing() {
        let value = serde_json::json!({"name": "admin\u{202e}nimda\u{1b}[31m\u{9b}\u{7f}"});
        let text = json_output(&serde_json::to_string_pretty(&value).unwrap_or_default());
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

    #[test]
    fn truncates_after_escaping() {
        assert_eq!(escape_truncated("  abcdef  ", 4), "abc…");
        assert_eq!(escape_truncated("abc", 4), "abc");
        assert_eq!(escape_truncated("\x1b\x1b", 5), "\\x1b…");
    }
}
