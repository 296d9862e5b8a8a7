//! A byte-preserving editor for docker's `config.json`: it finds the spans of the top-level
//! object's members and of `credHelpers`' members, and splices text in or out. Everything it
//! does not touch — numbers of any size, key order, whitespace, unknown keys — stays byte
//! for byte (docker has no command that edits this file, so tvlogin must edit it as text).

use std::ops::Range;

/// One member of an object: the key (decoded) and where key and value lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The key, decoded.
    pub key: String,
    /// The key's span, quotes included.
    pub key_span: Range<usize>,
    /// The value's span.
    pub value_span: Range<usize>,
}

/// An object: its braces and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// From `{` to `}` inclusive.
    pub span: Range<usize>,
    /// The members in order.
    pub members: Vec<Member>,
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl Scanner<'_> {
    fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.at))
    }

    fn string(&mut self) -> Result<Range<usize>, String> {
        let start = self.at;
        if self.bytes().get(self.at) != Some(&b'"') {
            return self.fail("expected a string");
        }
        self.at += 1;
        loop {
            match self.bytes().get(self.at) {
                None => return self.fail("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(start..self.at);
                }
                Some(b'\\') => self.at += 2,
                Some(_) => self.at += 1,
            }
        }
    }

    /// Skips one value; returns its span (and the object, when it is one and `keep` asks).
    fn value(&mut self) -> Result<(Range<usize>, Option<Object>), String> {
        let start = self.at;
        match self.bytes().get(self.at) {
            Some(b'{') => {
                let object = self.object()?;
                Ok((object.span.clone(), Some(object)))
            }
            Some(b'[') => {
                self.at += 1;
                self.ws();
                if self.bytes().get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok((start..self.at, None));
                }
                loop {
                    self.ws();
                    self.value()?;
                    self.ws();
                    match self.bytes().get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok((start..self.at, None));
                        }
                        _ => return self.fail("expected , or ]"),
                    }
                }
            }
            Some(b'"') => Ok((self.string()?, None)),
            Some(_) => {
                while let Some(b) = self.bytes().get(self.at) {
                    if b.is_ascii_alphanumeric() || b"+-.".contains(b) {
                        self.at += 1;
                    } else {
                        break;
                    }
                }
                if self.at == start {
                    return self.fail("expected a value");
                }
                Ok((start..self.at, None))
            }
            None => self.fail("unexpected end"),
        }
    }

    fn object(&mut self) -> Result<Object, String> {
        let start = self.at;
        self.at += 1;
        let mut members = Vec::new();
        self.ws();
        if self.bytes().get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Object {
                span: start..self.at,
                members,
            });
        }
        loop {
            self.ws();
            let key_span = self.string()?;
            let key: String = serde_json::from_str(&self.text[key_span.clone()])
                .map_err(|e| format!("bad key at byte {}: {e}", key_span.start))?;
            self.ws();
            if self.bytes().get(self.at) != Some(&b':') {
                return self.fail("expected :");
            }
            self.at += 1;
            self.ws();
            let (value_span, _) = self.value()?;
            members.push(Member {
                key,
                key_span,
                value_span,
            });
            self.ws();
            match self.bytes().get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Object {
                        span: start..self.at,
                        members,
                    });
                }
                _ => return self.fail("expected , or }"),
            }
        }
    }
}

/// The object whose `{` is at `at` in `text`.
pub fn object_at(text: &str, at: usize) -> Result<Object, String> {
    let mut s = Scanner { text, at };
    if s.bytes().get(at) != Some(&b'{') {
        return s.fail("expected an object");
    }
    s.object()
}

/// The document's top-level object (after checking that the whole text is JSON).
pub fn top(text: &str) -> Result<Object, String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string())?;
    let mut s = Scanner { text, at: 0 };
    s.ws();
    object_at(text, s.at)
}

/// The whitespace that leads up to byte `at` from the previous non-blank byte.
fn leading_ws(text: &str, at: usize) -> &str {
    let before = &text[..at];
    let start = before.trim_end_matches([' ', '\t', '\n', '\r']).len();
    &text[start..at]
}

/// The indentation of the line holding byte `at`.
fn line_indent(text: &str, at: usize) -> &str {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let rest = &text[line_start..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}

/// One level of indentation as the document uses it (docker writes tabs).
fn indent_unit(text: &str, top: &Object) -> String {
    match top.members.first() {
        Some(m) => {
            let ind = line_indent(text, m.key_span.start);
            if ind.is_empty() {
                "\t".into()
            } else {
                ind.to_owned()
            }
        }
        None => "\t".into(),
    }
}

/// The edit that adds `"key": value_text` as the last member of `object`, formatted like its
/// siblings (or, in an empty object, one level deeper than `indent`).
pub fn add_member(
    text: &str,
    object: &Object,
    key: &str,
    value_text: &str,
    indent: &str,
    unit: &str,
) -> Result<(Range<usize>, String), String> {
    let key_json = serde_json::to_string(key).map_err(|e| e.to_string())?;
    match object.members.last() {
        Some(last) => {
            let sep = leading_ws(text, last.key_span.start);
            let colon = &text[last.key_span.end..last.value_span.start];
            Ok((
                last.value_span.end..last.value_span.end,
                format!(",{sep}{key_json}{colon}{value_text}"),
            ))
        }
        None => {
            let inner = object.span.start + 1..object.span.end - 1;
            if !inner.is_empty() {
                // `{ }`, `{` line break `}`: the member goes in after the brace, on a line of
                // its own in a pretty file; what was inside stays.
                let with = if text.contains('\n') {
                    format!("\n{indent}{unit}{key_json}: {value_text}")
                } else {
                    format!("{key_json}:{value_text}")
                };
                return Ok((inner.start..inner.start, with));
            }
            let pretty = text.contains('\n');
            let replacement = if pretty {
                format!("\n{indent}{unit}{key_json}: {value_text}\n{indent}")
            } else {
                format!("{key_json}:{value_text}")
            };
            Ok((inner, replacement))
        }
    }
}

/// The edit that removes member `index` of `object` with its separator.
pub fn remove_member(text: &str, object: &Object, index: usize) -> (Range<usize>, String) {
    let members = &object.members;
    let member = &members[index];
    if members.len() == 1 {
        // The whitespace after the member stays, unless it is the layout `add_member` gives
        // an empty object (a line break and the brace's indentation): then `{}` comes back.
        let close = object.span.end - 1;
        let trailing = &text[member.value_span.end..close];
        let fresh = trailing == format!("\n{}", line_indent(text, object.span.start));
        let end = if fresh { close } else { member.value_span.end };
        return (object.span.start + 1..end, String::new());
    }
    if index + 1 == members.len() {
        // The last: from the end of the previous value.
        let prev = &members[index - 1];
        let _ = text;
        (prev.value_span.end..member.value_span.end, String::new())
    } else {
        let next = &members[index + 1];
        (member.key_span.start..next.key_span.start, String::new())
    }
}

/// Applies one edit.
pub fn splice(text: &str, edit: &(Range<usize>, String)) -> String {
    let (range, with) = edit;
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

/// What `setup docker` does to `credHelpers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperEdit<'a> {
    /// Set `credHelpers[registry]` to the helper name.
    Set(&'a str),
    /// Remove `credHelpers[registry]`.
    Remove,
}

/// `text` with `credHelpers[registry]` set or removed, every other byte kept. An empty text
/// is a new file (docker's own layout: tabs). When `credHelpers` becomes empty by a removal
/// it goes too, so a set followed by a remove gives the original text back.
pub fn edit_cred_helper(text: &str, registry: &str, edit: HelperEdit) -> Result<String, String> {
    if text.trim().is_empty() {
        return match edit {
            HelperEdit::Remove => Ok(text.to_owned()),
            HelperEdit::Set(helper) => {
                let key = serde_json::to_string(registry).map_err(|e| e.to_string())?;
                let value = serde_json::to_string(helper).map_err(|e| e.to_string())?;
                Ok(format!(
                    "{{\n\t\"credHelpers\": {{\n\t\t{key}: {value}\n\t}}\n}}\n"
                ))
            }
        };
    }
    let top = top(text)?;
    let unit = indent_unit(text, &top);
    let helpers = top.members.iter().rposition(|m| m.key == "credHelpers");
    let Some(helpers_index) = helpers else {
        return match edit {
            HelperEdit::Remove => Ok(text.to_owned()),
            HelperEdit::Set(helper) => {
                let key = serde_json::to_string(registry).map_err(|e| e.to_string())?;
                let value = serde_json::to_string(helper).map_err(|e| e.to_string())?;
                let pretty = text.contains('\n');
                let object = if pretty {
                    format!("{{\n{unit}{unit}{key}: {value}\n{unit}}}")
                } else {
                    format!("{{{key}:{value}}}")
                };
                let e = add_member(text, &top, "credHelpers", &object, "", &unit)?;
                Ok(splice(text, &e))
            }
        };
    };
    let helpers_member = &top.members[helpers_index];
    if text.as_bytes().get(helpers_member.value_span.start) != Some(&b'{') {
        return Err("credHelpers is not a JSON object".into());
    }
    let object = object_at(text, helpers_member.value_span.start)?;
    let indent = line_indent(text, helpers_member.key_span.start).to_owned();
    match edit {
        HelperEdit::Set(helper) => {
            let value = serde_json::to_string(helper).map_err(|e| e.to_string())?;
            // Every member with this key (a duplicate would otherwise win over ours),
            // replaced from the last so earlier spans stay valid.
            let same: Vec<&Member> = object
                .members
                .iter()
                .filter(|m| m.key == registry)
                .collect();
            if same.is_empty() {
                let e = add_member(text, &object, registry, &value, &indent, &unit)?;
                return Ok(splice(text, &e));
            }
            let mut out = text.to_owned();
            for m in same.iter().rev() {
                out = splice(&out, &(m.value_span.clone(), value.clone()));
            }
            Ok(out)
        }
        HelperEdit::Remove => {
            let Some(index) = object.members.iter().rposition(|m| m.key == registry) else {
                return Ok(text.to_owned());
            };
            if object.members.len() == 1 {
                // credHelpers would be empty: remove it whole.
                let e = remove_member(text, &top, helpers_index);
                return Ok(splice(text, &e));
            }
            let e = remove_member(text, &object, index);
            Ok(splice(text, &e))
        }
    }
}

/// `credHelpers[registry]` as text (a string value decoded; anything else as written).
pub fn cred_helper(text: &str, registry: &str) -> Result<Option<String>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let top = top(text)?;
    let Some(helpers) = top.members.iter().rfind(|m| m.key == "credHelpers") else {
        return Ok(None);
    };
    let raw = &text[helpers.value_span.clone()];
    if !raw.starts_with('{') {
        return Err("credHelpers is not a JSON object".into());
    }
    let object = object_at(text, helpers.value_span.start)?;
    Ok(object.members.iter().rfind(|m| m.key == registry).map(|m| {
        let raw = &text[m.value_span.clone()];
        serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_owned())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_keep_every_other_byte() {
        let table: &[(&str, &str, HelperEdit, &str)] = &[
            // docker's own layout (tabs), a new member after the last.
            (
                "{\n\t\"auths\": {},\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t}\n}\n",
                "r.io",
                HelperEdit::Set("tvlogin"),
                "{\n\t\"auths\": {},\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\",\n\t\t\"r.io\": \"tvlogin\"\n\t}\n}\n",
            ),
            // Minified, with a number no float can hold.
            (
                r#"{"n":123456789012345678901234567890,"credHelpers":{}}"#,
                "r.io",
                HelperEdit::Set("tvlogin"),
                r#"{"n":123456789012345678901234567890,"credHelpers":{"r.io":"tvlogin"}}"#,
            ),
            // No credHelpers yet, two-space indentation.
            (
                "{\n  \"credsStore\": \"desktop\",\n  \"x\": 1.50\n}",
                "r.io",
                HelperEdit::Set("tvlogin"),
                "{\n  \"credsStore\": \"desktop\",\n  \"x\": 1.50,\n  \"credHelpers\": {\n    \"r.io\": \"tvlogin\"\n  }\n}",
            ),
            // An empty credHelpers in a pretty file.
            (
                "{\n\t\"credHelpers\": {}\n}\n",
                "r.io",
                HelperEdit::Set("tvlogin"),
                "{\n\t\"credHelpers\": {\n\t\t\"r.io\": \"tvlogin\"\n\t}\n}\n",
            ),
            // Replacing a value in place.
            (
                "{ \"credHelpers\" : { \"r.io\" : \"desktop\" , \"b\":\"c\" } }",
                "r.io",
                HelperEdit::Set("tvlogin"),
                "{ \"credHelpers\" : { \"r.io\" : \"tvlogin\" , \"b\":\"c\" } }",
            ),
            // Removing the first, the last, the only one.
            (
                "{\"credHelpers\":{\"a\":\"tvlogin\", \"b\":\"x\"}}",
                "a",
                HelperEdit::Remove,
                "{\"credHelpers\":{\"b\":\"x\"}}",
            ),
            (
                "{\"credHelpers\":{\"b\":\"x\", \"a\":\"tvlogin\"}}",
                "a",
                HelperEdit::Remove,
                "{\"credHelpers\":{\"b\":\"x\"}}",
            ),
            (
                "{\"auths\":{},\"credHelpers\":{\"a\":\"tvlogin\"}}",
                "a",
                HelperEdit::Remove,
                "{\"auths\":{}}",
            ),
            // Nothing to remove: the same text.
            (
                "{\"credHelpers\":{\"b\":\"x\"}}",
                "a",
                HelperEdit::Remove,
                "{\"credHelpers\":{\"b\":\"x\"}}",
            ),
            // A new file in docker's layout.
            (
                "",
                "r.io",
                HelperEdit::Set("tvlogin"),
                "{\n\t\"credHelpers\": {\n\t\t\"r.io\": \"tvlogin\"\n\t}\n}\n",
            ),
        ];
        for (before, registry, edit, after) in table {
            let got = edit_cred_helper(before, registry, *edit).expect("edit");
            assert_eq!(&got, after, "{before:?} {registry} {edit:?}");
            serde_json::from_str::<serde_json::Value>(&got).expect("still JSON");
        }
    }

    #[test]
    fn a_set_then_a_remove_gives_the_original_back() {
        for text in [
            "{\n\t\"auths\": {\n\t\t\"x\": {\n\t\t\t\"auth\": \"eA==\"\n\t\t}\n\t}\n}\n",
            "{\"credHelpers\":{\"gcr.io\":\"gcloud\"}}",
            "{}",
        ] {
            let set = edit_cred_helper(text, "r.io", HelperEdit::Set("tvlogin")).expect("set");
            assert_ne!(set, text);
            let back = edit_cred_helper(&set, "r.io", HelperEdit::Remove).expect("remove");
            if text == "{}" {
                assert_eq!(back, "{}", "{set}");
            } else {
                assert_eq!(back, text, "{set}");
            }
        }
    }

    #[test]
    fn what_is_not_json_or_not_an_object_is_refused() {
        for text in ["{", "[1]", "{\"credHelpers\": []}", "{\"a\": 1,}"] {
            assert!(
                edit_cred_helper(text, "r", HelperEdit::Set("tvlogin")).is_err(),
                "{text}"
            );
        }
        assert_eq!(
            cred_helper("{\"credHelpers\":{\"r\":\"x\",\"r\":\"y\"}}", "r").expect("read"),
            Some("y".into()),
            "the last duplicate wins, as in Go"
        );
    }
}
