//! One key table type for every screen. A screen lists its [`Binding`]s for the state it is
//! in; the hint bar, the help overlay and the key handling all read that one list, so what a
//! hint promises is what the key does, in that place.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One row of a screen's key table: the keys, how they are labelled, and what they do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<A: 'static> {
    /// The keys as shown (`"q"`, `"←/→"`, `"Enter"`); empty for keys that work but are not
    /// advertised (digits, `g`/`G`, Page Up).
    pub label: &'static str,
    /// What the keys do, in a word or two, for the hint bar; empty: not in the hint bar.
    pub hint: &'static str,
    /// What the keys do, at more length, for the help overlay (one entry a line); empty: not
    /// in the help.
    pub help: &'static [&'static str],
    /// Each key and the action it asks for.
    pub keys: &'static [(KeyCode, A)],
}

impl<A: Copy> Binding<A> {
    /// A row shown in the hint bar (as `hint`) and in the help (as `help`).
    pub const fn new(
        label: &'static str,
        hint: &'static str,
        help: &'static [&'static str],
        keys: &'static [(KeyCode, A)],
    ) -> Self {
        Self {
            label,
            hint,
            help,
            keys,
        }
    }

    /// Keys that work without being advertised anywhere.
    pub const fn hidden(keys: &'static [(KeyCode, A)]) -> Self {
        Self {
            label: "",
            hint: "",
            help: &[],
            keys,
        }
    }

    /// The same row with another hint word (a toggle says what it would do now).
    pub const fn hinting(self, hint: &'static str) -> Self {
        Self { hint, ..self }
    }
}

/// The action `code` asks for in `table`, if any (the first row that has the key wins).
pub fn action<A: Copy>(table: &[Binding<A>], code: KeyCode) -> Option<A> {
    table
        .iter()
        .flat_map(|row| row.keys)
        .find(|(key, _)| *key == code)
        .map(|&(_, action)| action)
}

/// `(label, hint)` of the rows that go in the hint bar, in table order.
pub fn hints<A: Copy>(table: &[Binding<A>]) -> Vec<(&'static str, &'static str)> {
    table
        .iter()
        .filter(|row| !row.label.is_empty() && !row.hint.is_empty())
        .map(|row| (row.label, row.hint))
        .collect()
}

/// `(label, line)` of the help overlay, in table order: a row's first line carries its
/// label, the lines after it an empty one.
pub fn help_lines<A: Copy>(table: &[Binding<A>]) -> Vec<(&'static str, &'static str)> {
    let mut lines = Vec::new();
    for row in table.iter().filter(|row| !row.help.is_empty()) {
        for (i, line) in row.help.iter().enumerate() {
            lines.push((if i == 0 { row.label } else { "" }, *line));
        }
    }
    lines
}

/// Keys that a table lists twice for different actions (the later one could never act):
/// empty for every screen's table, which the screens' tests hold them to.
pub fn shadowed<A: Copy + PartialEq>(table: &[Binding<A>]) -> Vec<KeyCode> {
    let all: Vec<&(KeyCode, A)> = table.iter().flat_map(|row| row.keys).collect();
    all.iter()
        .enumerate()
        .filter(|(i, (key, action))| all[..*i].iter().any(|(k, a)| k == key && a != action))
        .map(|(_, (key, _))| *key)
        .collect()
}

/// Ctrl-C or Ctrl-D: every screen leaves at once on them, whatever its table says.
pub fn is_interrupt(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'd'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum A {
        One,
        Two,
        Hidden,
    }

    const TABLE: &[Binding<A>] = &[
        Binding::new(
            "1",
            "one",
            &["the first", "on two lines"],
            &[(KeyCode::Char('1'), A::One)],
        ),
        Binding::new(
            "2/Enter",
            "two",
            &[],
            &[(KeyCode::Char('2'), A::Two), (KeyCode::Enter, A::Two)],
        ),
        Binding::hidden(&[
            (KeyCode::Char('h'), A::Hidden),
            (KeyCode::Char('1'), A::Hidden),
        ]),
    ];

    #[test]
    fn one_table_answers_keys_hints_and_help() {
        assert_eq!(
            action(TABLE, KeyCode::Char('1')),
            Some(A::One),
            "first row wins"
        );
        assert_eq!(action(TABLE, KeyCode::Enter), Some(A::Two));
        assert_eq!(action(TABLE, KeyCode::Char('h')), Some(A::Hidden));
        assert_eq!(action(TABLE, KeyCode::Char('x')), None);
        assert_eq!(hints(TABLE), vec![("1", "one"), ("2/Enter", "two")]);
        assert_eq!(
            help_lines(TABLE),
            vec![("1", "the first"), ("", "on two lines")]
        );
        assert_eq!(shadowed(TABLE), vec![KeyCode::Char('1')]);
        let toggled = TABLE[0].hinting("uno");
        assert_eq!(hints(&[toggled]), vec![("1", "uno")]);
    }

    #[test]
    fn interrupts() {
        let key = |code, modifiers| KeyEvent::new(code, modifiers);
        assert!(is_interrupt(&key(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL
        )));
        assert!(is_interrupt(&key(
            KeyCode::Char('d'),
            KeyModifiers::CONTROL
        )));
        assert!(!is_interrupt(&key(KeyCode::Char('c'), KeyModifiers::NONE)));
    }
}
