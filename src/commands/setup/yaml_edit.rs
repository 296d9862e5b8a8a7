//! A text-preserving editor for the two lists `setup kubectl` touches in a kubeconfig,
//! `users:` and `contexts:`, used when kubectl itself is not installed. It inserts, replaces
//! and removes whole list entries (and one scalar line inside a context) and leaves every
//! other byte alone: comments, key order, quoting (`"on"` stays a string for kubectl's YAML
//! 1.1 reader), numbers of any size. A shape it cannot edit safely — flow style, tabs, more
//! than one document, a list that is not a block list — is refused, never rewritten.

use serde::Deserialize;

/// One line: where it starts and ends in the text (the end includes its line break).
#[derive(Debug, Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
}

/// The top-level value of a list key as written on its own line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inline {
    /// `key:` with a block list (or nothing) below.
    Block,
    /// `key: []`, `key: null`, `key: ~`.
    Empty,
}

/// One entry of a block list: the line of its `-` and the line after its last content line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    start: usize,
    end: usize,
    /// The entry's `name`, when it has one.
    pub name: Option<String>,
}

/// A list key at the top level and its entries.
#[derive(Debug, Clone)]
struct Section {
    key_line: usize,
    inline: Inline,
    indent: usize,
    items: Vec<Item>,
}

/// A kubeconfig read for editing.
pub struct Doc<'a> {
    text: &'a str,
    lines: Vec<Line>,
    newline: &'static str,
}

/// A field of a context that `setup` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextField {
    /// `context.user`.
    User,
    /// `context.cluster`.
    Cluster,
}

impl ContextField {
    fn key(self) -> &'static str {
        match self {
            ContextField::User => "user",
            ContextField::Cluster => "cluster",
        }
    }
}

#[derive(Deserialize)]
struct NameOnly {
    name: Option<String>,
}

fn refuse<T>(why: impl Into<String>) -> Result<T, String> {
    Err(why.into())
}

/// Whether the line (without its break) is blank or only a comment.
fn is_filler(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    t.is_empty() || t.starts_with('#')
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// `key: rest` at the start of `line` (plain or quoted key), the rest without a comment.
fn split_key(line: &str) -> Option<(String, &str)> {
    let (key, after) = if let Some(rest) = line.strip_prefix('"') {
        let close = rest.find('"')?;
        (rest[..close].to_owned(), &rest[close + 1..])
    } else if let Some(rest) = line.strip_prefix('\'') {
        let close = rest.find('\'')?;
        (rest[..close].to_owned(), &rest[close + 1..])
    } else {
        let colon = line
            .char_indices()
            .find(|&(i, c)| c == ':' && matches!(line[i + 1..].chars().next(), None | Some(' ')))
            .map(|(i, _)| i)?;
        (line[..colon].trim_end().to_owned(), &line[colon..])
    };
    let after = after.trim_start_matches(' ').strip_prefix(':')?;
    if !(after.is_empty() || after.starts_with(' ')) {
        return None;
    }
    let value = match after.find(" #") {
        Some(i) => &after[..i],
        None => after,
    };
    Some((key, value.trim()))
}

/// A YAML scalar for `text`: plain when it cannot be read as anything but that string (by
/// a YAML 1.1 reader too: `on`, `yes`, `no`, `1:20` are quoted), double-quoted otherwise.
pub fn scalar(text: &str) -> String {
    const WORDS: &[&str] = &[
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ];
    let simple_chars = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b));
    // A digit or dot first (also after a sign) may read as a number, `-` alone as a list.
    let number_like = text
        .trim_start_matches('-')
        .starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || text == "-";
    let plain =
        simple_chars && !number_like && !WORDS.contains(&text.to_ascii_lowercase().as_str());
    if plain {
        text.to_owned()
    } else {
        serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
    }
}

impl<'a> Doc<'a> {
    /// Reads `text`, refusing what this editor cannot edit safely.
    pub fn parse(text: &'a str) -> Result<Self, String> {
        let mut lines = Vec::new();
        let mut start = 0;
        for piece in text.split_inclusive('\n') {
            lines.push(Line {
                start,
                end: start + piece.len(),
            });
            start += piece.len();
        }
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let doc = Doc {
            text,
            lines,
            newline,
        };
        let mut first = true;
        for i in 0..doc.lines.len() {
            let line = doc.line(i);
            if line.starts_with('\t') || line.trim_start_matches(' ').starts_with('\t') {
                return refuse(format!("line {} is indented with a tab", i + 1));
            }
            if is_filler(line) || line.starts_with('%') {
                continue;
            }
            if line == "---" && first {
                continue;
            }
            if line.starts_with("---") || line.starts_with("...") {
                return refuse(format!(
                    "line {}: more than one YAML document in the file",
                    i + 1
                ));
            }
            if first {
                first = false;
                if line.starts_with(['{', '[', '-', '?', '&', '!', '*', ' ']) {
                    return refuse("the file is not a block mapping (flow style or a list)");
                }
            }
        }
        for key in ["users", "contexts"] {
            doc.section(key)?;
        }
        Ok(doc)
    }

    /// Line `i` without its line break.
    fn line(&self, i: usize) -> &'a str {
        let l = self.lines[i];
        self.text[l.start..l.end]
            .trim_end_matches('\n')
            .trim_end_matches('\r')
    }

    /// The top-level line of `key`, if any (refusing duplicates).
    fn key_line(&self, key: &str) -> Result<Option<usize>, String> {
        let mut found = None;
        for i in 0..self.lines.len() {
            let line = self.line(i);
            if is_filler(line) || line.starts_with(' ') || line.starts_with("---") {
                continue;
            }
            if let Some((k, _)) = split_key(line)
                && k == key
            {
                if found.is_some() {
                    return refuse(format!("the key {key:?} appears twice"));
                }
                found = Some(i);
            }
        }
        Ok(found)
    }

    fn section(&self, key: &str) -> Result<Option<Section>, String> {
        let Some(key_line) = self.key_line(key)? else {
            return Ok(None);
        };
        let (_, value) = split_key(self.line(key_line)).unwrap_or_default();
        let inline = match value {
            "" => Inline::Block,
            "[]" | "null" | "~" | "Null" | "NULL" => Inline::Empty,
            _ => {
                return refuse(format!(
                    "{key}: is written in flow style ({value}); tvlogin edits block lists only"
                ));
            }
        };
        let mut section = Section {
            key_line,
            inline,
            indent: 0,
            items: Vec::new(),
        };
        if inline == Inline::Empty {
            return Ok(Some(section));
        }
        let mut list_indent = None;
        for i in key_line + 1..self.lines.len() {
            let line = self.line(i);
            if is_filler(line) {
                continue;
            }
            let ind = indent_of(line);
            let rest = &line[ind..];
            let is_dash = rest == "-" || rest.starts_with("- ");
            let li = *list_indent.get_or_insert(ind);
            if ind == 0 && !is_dash {
                break;
            }
            if ind < li {
                return refuse(format!("{key}: line {} is not part of the list", i + 1));
            }
            if ind == li {
                if !is_dash {
                    return refuse(format!("{key}: is not a block list (line {})", i + 1));
                }
                if rest.contains(['&', '*', '!'])
                    && rest[1..].trim_start().starts_with(['&', '*', '!'])
                {
                    return refuse(format!(
                        "{key}: line {} uses an anchor, alias or tag",
                        i + 1
                    ));
                }
                section.items.push(Item {
                    start: i,
                    end: i + 1,
                    name: None,
                });
            } else if let Some(item) = section.items.last_mut() {
                item.end = i + 1;
            }
        }
        section.indent = list_indent.unwrap_or(0);
        for item in &mut section.items {
            let mut snippet = String::new();
            for i in item.start..item.end {
                let line = self.line(i);
                if i == item.start {
                    // `- name: x` read as the mapping `  name: x`.
                    snippet.push_str(&line[..section.indent]);
                    snippet.push(' ');
                    snippet.push_str(&line[section.indent + 1..]);
                } else {
                    snippet.push_str(line);
                }
                snippet.push('\n');
            }
            let parsed: NameOnly = serde_norway::from_str(&snippet).map_err(|e| {
                format!(
                    "{key}: the entry at line {} cannot be read: {e}",
                    item.start + 1
                )
            })?;
            item.name = parsed.name;
        }
        Ok(Some(section))
    }

    /// The names of the entries of `key` (in order).
    pub fn names(&self, key: &str) -> Result<Vec<Option<String>>, String> {
        Ok(self
            .section(key)?
            .map(|s| s.items.into_iter().map(|i| i.name).collect())
            .unwrap_or_default())
    }

    /// `lines` (entry text at indentation 0, each ending with `\n`) indented by `by`, with
    /// the document's line breaks.
    fn indented(&self, lines: &str, by: usize) -> String {
        let pad = " ".repeat(by);
        let mut out = String::new();
        for line in lines.lines() {
            out.push_str(&pad);
            out.push_str(line);
            out.push_str(self.newline);
        }
        out
    }

    fn splice(&self, from: usize, to: usize, with: &str) -> String {
        format!("{}{with}{}", &self.text[..from], &self.text[to..])
    }

    /// The offset just past line `i` (its break included; the text end for the last).
    fn after_line(&self, i: usize) -> usize {
        self.lines[i].end
    }

    /// Adds `entry` (text at indentation 0) as the last entry of the list `key`.
    pub fn append(&self, key: &str, entry: &str) -> Result<String, String> {
        let Some(section) = self.section(key)? else {
            // No such key: the list goes at the end of the file.
            let mut out = self.text.to_owned();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(self.newline);
            }
            out.push_str(key);
            out.push(':');
            out.push_str(self.newline);
            out.push_str(&self.indented(entry, 0));
            return Ok(out);
        };
        match (section.inline, section.items.last()) {
            (Inline::Block, Some(last)) => {
                let at = self.after_line(last.end - 1);
                let mut with = String::new();
                if !self.text[..at].ends_with('\n') {
                    with.push_str(self.newline);
                }
                with.push_str(&self.indented(entry, section.indent));
                Ok(self.splice(at, at, &with))
            }
            (Inline::Block, None) => {
                let at = self.after_line(section.key_line);
                let mut with = String::new();
                if !self.text[..at].ends_with('\n') {
                    with.push_str(self.newline);
                }
                with.push_str(&self.indented(entry, 0));
                Ok(self.splice(at, at, &with))
            }
            (Inline::Empty, _) => {
                // `users: []` becomes `users:` with the entry below (a comment is kept).
                let line = self.line(section.key_line);
                let comment = line.find(" #").map(|i| &line[i..]).unwrap_or("");
                let colon = line.len() - line.trim_start_matches(|c| c != ':').len();
                let key_text = match line.strip_prefix(['"', '\'']) {
                    // A quoted key may hold a colon: keep up to the closing quote's colon.
                    Some(_) => {
                        let (k, _) = split_key(line).unwrap_or_default();
                        format!("{}{k}{}", &line[..1], &line[..1])
                    }
                    None => line[..colon].to_owned(),
                };
                let l = self.lines[section.key_line];
                let mut with = format!("{key_text}:{comment}{}", self.newline);
                with.push_str(&self.indented(entry, 0));
                Ok(self.splice(l.start, l.end, &with))
            }
        }
    }

    fn find(&self, key: &str, name: &str) -> Result<Option<(Section, usize)>, String> {
        let Some(section) = self.section(key)? else {
            return Ok(None);
        };
        let index = section
            .items
            .iter()
            .rposition(|i| i.name.as_deref() == Some(name));
        Ok(index.map(|i| (section, i)))
    }

    /// Replaces the entry `name` of `key` with `entry` (text at indentation 0).
    pub fn replace_entry(&self, key: &str, name: &str, entry: &str) -> Result<String, String> {
        let Some((section, index)) = self.find(key, name)? else {
            return refuse(format!("{key} has no entry {name:?}"));
        };
        let item = &section.items[index];
        let from = self.lines[item.start].start;
        let to = self.after_line(item.end - 1);
        let mut with = self.indented(entry, section.indent);
        if !self.text[..to].ends_with('\n') {
            with.truncate(with.len() - self.newline.len());
        }
        Ok(self.splice(from, to, &with))
    }

    /// Removes the entry `name` of `key`; an emptied list is written `key: []`.
    pub fn remove_entry(&self, key: &str, name: &str) -> Result<String, String> {
        let Some((section, index)) = self.find(key, name)? else {
            return Ok(self.text.to_owned());
        };
        let item = &section.items[index];
        let from = self.lines[item.start].start;
        let to = self.after_line(item.end - 1);
        if section.items.len() == 1 {
            // Only comments or blank lines may stand between the key and the entry: keep them.
            let l = self.lines[section.key_line];
            let line = self.line(section.key_line);
            let comment = line.find(" #").map(|i| &line[i..]).unwrap_or("");
            let (k, _) = split_key(line).unwrap_or_default();
            let key_line = format!("{}: []{comment}{}", quote_key(line, &k), self.newline);
            let middle = &self.text[l.end..from];
            let rest = &self.text[to..];
            return Ok(format!("{}{key_line}{middle}{rest}", &self.text[..l.start]));
        }
        Ok(self.splice(from, to, ""))
    }

    /// Sets `context.FIELD` of the context entry `name` to `value`, editing only that line
    /// (or adding it under `context:`).
    pub fn set_context_field(
        &self,
        name: &str,
        field: ContextField,
        value: &str,
    ) -> Result<String, String> {
        let Some((section, index)) = self.find("contexts", name)? else {
            return refuse(format!("there is no context {name:?}"));
        };
        let item = &section.items[index];
        // The entry's lines as (line, indentation, text after it); the `-` counts as space.
        let mut entry_lines = Vec::new();
        for i in item.start..item.end {
            let line = self.line(i);
            if is_filler(line) && i != item.start {
                continue;
            }
            let ind = if i == item.start {
                section.indent + 1 + indent_of(&line[section.indent + 1..])
            } else {
                indent_of(line)
            };
            if line[ind..].is_empty() {
                // A lone `-`: the mapping starts on the next line.
                continue;
            }
            entry_lines.push((i, ind, &line[ind..]));
        }
        let Some(&(_, map_indent, _)) = entry_lines.first() else {
            return refuse(format!("context {name:?} is empty"));
        };
        let context_at = entry_lines.iter().position(|&(_, ind, t)| {
            ind == map_indent && split_key(t).is_some_and(|(k, _)| k == "context")
        });
        let Some(context_at) = context_at else {
            return refuse(format!("context {name:?} has no `context:` mapping"));
        };
        let (context_line, _, context_text) = entry_lines[context_at];
        if split_key(context_text).is_some_and(|(_, v)| !v.is_empty()) {
            return refuse(format!(
                "context {name:?} is written in flow style; tvlogin edits block mappings only"
            ));
        }
        let children: Vec<_> = entry_lines[context_at + 1..]
            .iter()
            .take_while(|&&(_, ind, _)| ind > map_indent)
            .copied()
            .collect();
        let child_indent = children.first().map_or(map_indent + 2, |&(_, ind, _)| ind);
        let new_line = format!(
            "{}{}: {}{}",
            " ".repeat(child_indent),
            field.key(),
            scalar(value),
            self.newline
        );
        let existing = children.iter().find(|&&(_, ind, t)| {
            ind == child_indent && split_key(t).is_some_and(|(k, _)| k == field.key())
        });
        match existing {
            Some(&(i, _, t)) => {
                let (_, old) = split_key(t).unwrap_or_default();
                if old.starts_with(['|', '>', '"', '\'']) && !old.ends_with(['"', '\'']) {
                    return refuse(format!(
                        "context {name:?}: {} spans several lines",
                        field.key()
                    ));
                }
                let l = self.lines[i];
                let mut with = new_line;
                if !self.text[..l.end].ends_with('\n') {
                    with.truncate(with.len() - self.newline.len());
                }
                Ok(self.splice(l.start, l.end, &with))
            }
            None => {
                let at = self.after_line(context_line);
                let mut with = String::new();
                if !self.text[..at].ends_with('\n') {
                    with.push_str(self.newline);
                }
                with.push_str(&new_line);
                Ok(self.splice(at, at, &with))
            }
        }
    }
}

/// The key as it was written on `line` (quoted or not).
fn quote_key(line: &str, key: &str) -> String {
    match line.chars().next() {
        Some(q @ ('"' | '\'')) => format!("{q}{key}{q}"),
        _ => key.to_owned(),
    }
}

/// A kubeconfig `users` entry with tvlogin as its exec plugin (kubectl's own layout).
pub fn user_entry(name: &str, command: &str, args: &[String], api_version: &str) -> String {
    let mut out = format!(
        "- name: {}\n  user:\n    exec:\n      apiVersion: {}\n      args:\n",
        scalar(name),
        scalar(api_version)
    );
    for arg in args {
        out.push_str(&format!("      - {}\n", scalar(arg)));
    }
    out.push_str(&format!(
        "      command: {}\n      env: null\n      interactiveMode: IfAvailable\n      provideClusterInfo: false\n",
        scalar(command)
    ));
    out
}

/// A kubeconfig `contexts` entry.
pub fn context_entry(name: &str, cluster: &str, user: &str) -> String {
    format!(
        "- context:\n    cluster: {}\n    user: {}\n  name: {}\n",
        scalar(cluster),
        scalar(user),
        scalar(name)
    )
}

/// A fresh kubeconfig, as kubectl starts one.
pub const EMPTY_KUBECONFIG: &str = "apiVersion: v1\nclusters: []\ncontexts: []\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: []\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Vec<String> {
        ["kubectl-credential", "--profile", "default"]
            .map(str::to_owned)
            .to_vec()
    }

    #[test]
    fn scalars_that_a_yaml_1_1_reader_would_misread_are_quoted() {
        let table = [
            ("tvlogin", "tvlogin"),
            ("/usr/bin/tvlogin", "/usr/bin/tvlogin"),
            ("--profile", "--profile"),
            ("on", "\"on\""),
            ("Yes", "\"Yes\""),
            ("no", "\"no\""),
            ("~", "\"~\""),
            ("1:20", "\"1:20\""),
            ("0755", "\"0755\""),
            ("-1", "\"-1\""),
            ("a b", "\"a b\""),
            ("", "\"\""),
            ("x: y", "\"x: y\""),
            ("#c", "\"#c\""),
        ];
        for (text, want) in table {
            assert_eq!(scalar(text), want, "{text}");
            let back: String = serde_norway::from_str(&scalar(text)).expect("a YAML string");
            assert_eq!(back, text);
        }
    }

    #[test]
    fn entries_are_inserted_replaced_and_removed_as_text() {
        let entry = user_entry("tv", "tvlogin", &args(), "client.authentication.k8s.io/v1");
        // (before, after appending `entry` to users)
        let table: &[(&str, String)] = &[
            // kubectl's layout: `- ` at the key's indentation; a comment after the list stays
            // where it was.
            (
                "users:\n- name: a # admin\n  user:\n    token: t\n# end\nkind: Config\n",
                format!(
                    "users:\n- name: a # admin\n  user:\n    token: t\n{entry}# end\nkind: Config\n"
                ),
            ),
            // An indented list.
            (
                "users:\n  - name: a\n    user: {}\n",
                format!(
                    "users:\n  - name: a\n    user: {{}}\n{}",
                    entry
                        .lines()
                        .map(|l| format!("  {l}\n"))
                        .collect::<String>()
                ),
            ),
            // An empty list.
            (
                "users: [] # none yet\nkind: Config\n",
                format!("users: # none yet\n{entry}kind: Config\n"),
            ),
            ("users: null\n", format!("users:\n{entry}")),
            (
                "users:\nkind: Config\n",
                format!("users:\n{entry}kind: Config\n"),
            ),
            // No users key; no final newline.
            ("kind: Config", format!("kind: Config\nusers:\n{entry}")),
            // CRLF line breaks are kept and used.
            (
                "users:\r\n- name: a\r\n",
                format!("users:\r\n- name: a\r\n{}", entry.replace('\n', "\r\n")),
            ),
        ];
        for (before, after) in table {
            let doc = Doc::parse(before).expect("editable");
            let got = doc.append("users", &entry).expect("append");
            assert_eq!(&got, after, "{before:?}");
            let names = Doc::parse(&got)
                .expect("still editable")
                .names("users")
                .expect("names");
            assert_eq!(names.last(), Some(&Some("tv".to_owned())), "{got}");
        }
        // Replace and remove touch the entry's lines only.
        let text = "users:\n- name: admin # mine\n  user:\n    client-key-data: KEY\n    token: \"on\"\n- name: tv\n  user: {}\n# tail\n";
        let doc = Doc::parse(text).expect("editable");
        let replaced = doc.replace_entry("users", "tv", &entry).expect("replace");
        assert_eq!(
            replaced,
            format!(
                "users:\n- name: admin # mine\n  user:\n    client-key-data: KEY\n    token: \"on\"\n{entry}# tail\n"
            )
        );
        let removed = Doc::parse(&replaced)
            .expect("editable")
            .remove_entry("users", "tv")
            .expect("remove");
        assert_eq!(
            removed,
            "users:\n- name: admin # mine\n  user:\n    client-key-data: KEY\n    token: \"on\"\n# tail\n"
        );
        // The last entry removed: an empty list, not a null.
        let alone = Doc::parse("users: []\nkind: Config\n")
            .expect("editable")
            .append("users", &entry)
            .expect("append");
        let back = Doc::parse(&alone)
            .expect("editable")
            .remove_entry("users", "tv")
            .expect("remove");
        assert_eq!(back, "users: []\nkind: Config\n");
    }

    #[test]
    fn context_fields_are_set_in_place() {
        let text = "contexts:\n- context:\n    cluster: prod # the big one\n    namespace: \"no\"\n    user: admin\n  name: prod\n- name: dev\n  context:\n    cluster: dev\n";
        let doc = Doc::parse(text).expect("editable");
        let got = doc
            .set_context_field("prod", ContextField::User, "tv")
            .expect("set");
        assert_eq!(got, text.replace("user: admin", "user: tv"));
        let got = doc
            .set_context_field("dev", ContextField::User, "on")
            .expect("set");
        assert_eq!(
            got,
            text.replace("    cluster: dev\n", "    user: \"on\"\n    cluster: dev\n")
        );
        assert!(
            doc.set_context_field("nope", ContextField::User, "tv")
                .is_err()
        );
    }

    #[test]
    fn shapes_it_cannot_edit_safely_are_refused() {
        for text in [
            "{\"users\": []}",
            "users: [{name: a}]\n",
            "users:\n\t- name: a\n",
            "users:\n  name: a\n",
            "kind: Config\n---\nkind: Config\n",
            "users:\n- name: a\nusers:\n- name: b\n",
            "- a\n- b\n",
            "contexts: {a: b}\n",
        ] {
            assert!(Doc::parse(text).is_err(), "{text:?} must be refused");
        }
        let flow = "contexts:\n- name: a\n  context: {cluster: c, user: u}\n";
        let doc = Doc::parse(flow).expect("the list itself is a block list");
        assert!(
            doc.set_context_field("a", ContextField::User, "tv")
                .is_err()
        );
    }

    #[test]
    fn an_unknown_field_with_a_huge_integer_is_not_refused() {
        let text = "apiVersion: v1\nkind: Config\nx-build: 123456789012345678901234567890\nusers:\n- name: a\n  user:\n    x-serial: 123456789012345678901234567890\n";
        let doc = Doc::parse(text).expect("editable");
        assert_eq!(
            doc.names("users").expect("names"),
            vec![Some("a".to_owned())]
        );
    }
}
