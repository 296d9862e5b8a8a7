//! Text measured in terminal columns (display width: CJK and most emoji take two), fitted
//! and wrapped at word boundaries. Nothing is cut mid-word without a `…` saying so.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// The columns `s` takes on a terminal.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// The longest prefix of `s` that takes at most `cols` columns.
fn prefix(s: &str, cols: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used > cols {
            return &s[..i];
        }
    }
    s
}

/// `s` in at most `cols` columns: whole when it fits, else cut at the last word that fits
/// (mid-word only for a single word wider than the room), ending in `…`.
pub fn fit(s: &str, cols: usize) -> String {
    if width(s) <= cols {
        return s.to_owned();
    }
    if cols == 0 {
        return String::new();
    }
    let room = prefix(s, cols - 1);
    let cut = match room.rfind(' ') {
        Some(at) if at > 0 => room[..at].trim_end(),
        _ => room,
    };
    format!("{cut}…")
}

/// `text` word-wrapped into lines of at most `cols` columns, at most `max` of them; a word
/// wider than a line is split across lines; when text is left out the last line ends in `…`.
pub fn wrap(text: &str, cols: usize, max: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word;
        loop {
            let need = if line.is_empty() {
                width(word)
            } else {
                width(&line) + 1 + width(word)
            };
            if need <= cols {
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than a whole line: as much as fits here, the rest below.
            let head = prefix(word, cols);
            let head = if head.is_empty() {
                &word[..word.chars().next().map_or(0, char::len_utf8)]
            } else {
                head
            };
            lines.push(head.to_owned());
            word = &word[head.len()..];
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    if lines.len() > max && max > 0 {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            *last = fit(&format!("{last} …"), cols);
            if !last.ends_with('…') {
                *last = format!("{}…", prefix(last, cols - 1));
            }
        }
    }
    lines
}

/// The hints that fit in `cols` columns (`key what` pairs, two spaces apart, after a
/// one-column margin): the ones `keep` says must stay always do; the others are added in
/// order while there is room. The order on screen is the table's.
pub fn fit_hints<'a>(
    hints: &[(&'a str, &'a str)],
    cols: usize,
    keep: impl Fn(&&str) -> bool,
) -> Vec<(&'a str, &'a str)> {
    let cost = |(key, what): &(&str, &str)| width(key) + width(what) + 3;
    let mut room = cols.saturating_sub(1);
    let mut chosen = vec![false; hints.len()];
    for (i, h) in hints.iter().enumerate() {
        if keep(&h.0) {
            chosen[i] = true;
            room = room.saturating_sub(cost(h));
        }
    }
    for (i, h) in hints.iter().enumerate() {
        if !chosen[i] && cost(h) <= room {
            room -= cost(h);
            chosen[i] = true;
        } else if !chosen[i] {
            // Later hints are less useful: stop at the first that does not fit.
            break;
        }
    }
    hints
        .iter()
        .zip(chosen)
        .filter(|(_, c)| *c)
        .map(|(h, _)| *h)
        .collect()
}

/// `spans` as one line when they fit in `cols` columns, else broken between spans onto
/// lines indented by `indent` columns (a span wider than a line is fitted with `…`).
pub fn wrap_spans(spans: Vec<Span<'static>>, cols: usize, indent: usize) -> Vec<Line<'static>> {
    let total: usize = spans.iter().map(|s| width(&s.content)).sum();
    if total <= cols {
        return vec![Line::from(spans)];
    }
    let mut lines = Vec::new();
    let mut line: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in spans {
        let mut span = span;
        if used + width(&span.content) > cols && !line.is_empty() {
            lines.push(Line::from(std::mem::take(&mut line)));
            line.push(Span::raw(" ".repeat(indent)));
            used = indent;
            // A continuation starts at its word, not at the space before it.
            if span.content.starts_with(' ') {
                span = Span::styled(span.content.trim_start().to_owned(), span.style);
            }
        }
        let w = width(&span.content);
        let room = cols.saturating_sub(used);
        let span = if w > room {
            Span::styled(fit(&span.content, room), span.style)
        } else {
            span
        };
        used += width(&span.content);
        line.push(span);
    }
    if !line.is_empty() {
        lines.push(Line::from(line));
    }
    lines
}

/// `line` as is when it fits in `cols` columns, else broken between words onto lines
/// indented by `indent` columns (a word wider than a line is fitted with `…`).
pub fn fit_line(line: Line<'static>, cols: usize, indent: usize) -> Vec<Line<'static>> {
    if line.width() <= cols {
        return vec![line];
    }
    let style = line.style;
    let mut parts: Vec<Span<'static>> = Vec::new();
    for span in line.spans {
        for (i, word) in span.content.split(' ').enumerate() {
            let text = if i == 0 {
                word.to_owned()
            } else {
                format!(" {word}")
            };
            if !text.is_empty() {
                parts.push(Span::styled(text, span.style));
            }
        }
    }
    wrap_spans(parts, cols, indent)
        .into_iter()
        .map(|l| l.style(style))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_cuts_at_words_and_says_so() {
        let table = [
            ("renews in 2m 00s", 16, "renews in 2m 00s"),
            ("renews in 2m 00s", 15, "renews in 2m…"),
            (
                "Connection refused (os error 111)",
                22,
                "Connection refused…",
            ),
            ("abcdefghij", 5, "abcd…"),
            ("日本語のテキスト", 7, "日本語…"),
            ("", 3, ""),
        ];
        for (s, cols, want) in table {
            let got = fit(s, cols);
            assert_eq!(got, want, "{s:?} in {cols}");
            assert!(width(&got) <= cols);
        }
    }

    #[test]
    fn wrapping_measures_display_width() {
        assert_eq!(wrap("a bb ccc dddd", 6, 9), ["a bb", "ccc", "dddd"]);
        // Two columns a character: three fit in six.
        assert_eq!(wrap("日本語日本語 x", 6, 9), ["日本語", "日本語", "x"]);
        // A word wider than a line is split across lines, nothing lost.
        assert_eq!(
            wrap("https://a.example/xyz", 8, 9).concat(),
            "https://a.example/xyz"
        );
        let cut = wrap("one two three four five", 9, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'), "{cut:?}");
        for l in wrap("the quick brown fox jumps over the lazy dog", 10, 9) {
            assert!(width(&l) <= 10, "{l}");
        }
    }

    #[test]
    fn hints_keep_quit_and_help() {
        let hints = [
            ("c", "copy code"),
            ("u", "copy URL"),
            ("o", "open browser"),
            ("a", "approve"),
            ("d", "deny"),
            ("r", "new code"),
            ("q", "cancel"),
            ("?", "help"),
        ];
        for cols in [20, 40, 60, 80, 120] {
            let kept = fit_hints(&hints, cols, |k| matches!(*k, "q" | "?"));
            let keys: Vec<&str> = kept.iter().map(|h| h.0).collect();
            assert!(
                keys.contains(&"q") && keys.contains(&"?"),
                "{cols}: {keys:?}"
            );
            let used: usize = 1 + kept
                .iter()
                .map(|(k, w)| width(k) + width(w) + 3)
                .sum::<usize>();
            assert!(used <= cols.max(20), "{cols}: {used}");
        }
        let all = fit_hints(&hints, 200, |k| matches!(*k, "q" | "?"));
        assert_eq!(all.len(), hints.len());
    }
}
