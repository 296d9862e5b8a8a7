//! The round-trip property test over a corpus of real-world shaped files
//! (`tests/data/setup/`: kubeconfigs as kind, minikube, the aws and gcloud CLIs write them,
//! with comments, quoted `"on"`/`"yes"`/`"no"` and huge integers; docker configs with
//! `auths`, `credsStore`, `credHelpers`, `proxies`, unknown keys and huge numbers), and over
//! variants of each made by a seeded generator (comments and blank lines between entries,
//! CRLF line breaks, whitespace between JSON tokens). For every file:
//!
//! - a file that needs no change is left byte for byte (a second run changes nothing);
//! - a change is only the intended one: nothing of the original removed (but an empty
//!   `users: []` line), the entries read back the same, plus tvlogin's;
//! - `--undo` gives the original bytes back.

use std::path::Path;

use super::json_edit::{self, HelperEdit};
use super::kube::{self, KubePlan, Op, View};
use super::{Change, Mode, diff};

const DIR: &str = "tests/data/setup";

const KUBECONFIGS: &[(&str, &str)] = &[
    (
        "kind.yaml",
        include_str!("../../../tests/data/setup/kind.yaml"),
    ),
    (
        "minikube.yaml",
        include_str!("../../../tests/data/setup/minikube.yaml"),
    ),
    (
        "eks.yaml",
        include_str!("../../../tests/data/setup/eks.yaml"),
    ),
    (
        "gke.yaml",
        include_str!("../../../tests/data/setup/gke.yaml"),
    ),
    (
        "crlf-empty-lists.yaml",
        include_str!("../../../tests/data/setup/crlf-empty-lists.yaml"),
    ),
    (
        "no-users.yaml",
        include_str!("../../../tests/data/setup/no-users.yaml"),
    ),
];

const DOCKER_CONFIGS: &[(&str, &str)] = &[
    (
        "docker-desktop.json",
        include_str!("../../../tests/data/setup/docker-desktop.json"),
    ),
    (
        "docker-gcloud.json",
        include_str!("../../../tests/data/setup/docker-gcloud.json"),
    ),
    (
        "docker-everything.json",
        include_str!("../../../tests/data/setup/docker-everything.json"),
    ),
    (
        "docker-minified.json",
        include_str!("../../../tests/data/setup/docker-minified.json"),
    ),
    (
        "docker-crlf.json",
        include_str!("../../../tests/data/setup/docker-crlf.json"),
    ),
    (
        "docker-empty.json",
        include_str!("../../../tests/data/setup/docker-empty.json"),
    ),
];

/// xorshift64*: the same variants on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Variants of a kubeconfig that mean the same: comments and blank lines before top-level
/// keys, a comment after a list key, CRLF line breaks.
fn yaml_variants(text: &str, rng: &mut Rng) -> Vec<String> {
    let mut out = vec![text.to_owned()];
    for _ in 0..12 {
        let mut v = String::new();
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let top = !line.starts_with([' ', '-', '#', '\r', '\n']) && n > 0;
            if top && rng.below(3) == 0 {
                v.push_str(match rng.below(3) {
                    0 => "# a note between keys\n",
                    1 => "\n",
                    _ => "#\n",
                });
            }
            if top && (line == "users:\n" || line == "contexts:\n") && rng.below(2) == 0 {
                v.push_str(line.trim_end());
                v.push_str(" # the list\n");
                continue;
            }
            v.push_str(line);
        }
        if rng.below(4) == 0 && !v.contains('\r') {
            v = v.replace('\n', "\r\n");
        }
        out.push(v);
    }
    out
}

/// Variants of a JSON text that mean the same: whitespace between tokens, CRLF.
fn json_variants(text: &str, rng: &mut Rng) -> Vec<String> {
    let mut out = vec![text.to_owned()];
    for _ in 0..12 {
        let mut v = String::new();
        let mut in_string = false;
        let mut escaped = false;
        for c in text.chars() {
            v.push(c);
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '{' | '[' | ',' | ':' => match rng.below(4) {
                    0 => v.push(' '),
                    1 => v.push_str("\n  "),
                    _ => {}
                },
                _ => {}
            }
        }
        if rng.below(4) == 0 && !v.contains('\r') {
            v = v.replace('\n', "\r\n");
        }
        out.push(v);
    }
    out
}

fn plan() -> KubePlan {
    KubePlan {
        user: "tvlogin-default".into(),
        command: "tvlogin".into(),
        profile: "default".into(),
        context: Some("tvlogin".into()),
        cluster: Some("on".into()),
    }
}

fn apply(
    text: &str,
    plan: &KubePlan,
    mode: Mode,
    records: &[kube::ContextRecord],
) -> (String, kube::Decision) {
    let view = View::read(text).expect("the corpus file reads as a kubeconfig");
    let d = kube::decide(&view, plan, mode, Path::new("/k"), "/k", records).expect("decide");
    if d.ops.is_empty() {
        return (text.to_owned(), d);
    }
    let new = kube::edit_text(text, plan, &d.ops).expect("editable");
    kube::verify(&view, &new, plan, &d.ops).expect("the result reads back as planned");
    (new, d)
}

/// The lines a diff removes (without the `---` header).
fn removed_lines(diff: &str) -> Vec<&str> {
    diff.lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("--- "))
        .collect()
}

#[test]
fn kubeconfigs_round_trip() {
    let mut rng = Rng(0x005e_ed0f_7e1e);
    let mut checked = 0;
    for (name, original) in KUBECONFIGS {
        for text in yaml_variants(original, &mut rng) {
            let what = format!("{DIR}/{name}, variant:\n{text}");
            let before = View::read(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
            let (new, d) = apply(&text, &plan(), Mode::default(), &[]);
            assert!(
                matches!(d.changes.as_slice(), [Change::Added(_), Change::Added(_)]),
                "{what}: {:?}",
                d.changes
            );
            // Only additions (an empty inline list becomes a block list).
            let diff = diff::unified("a", "b", &text, &new);
            for line in removed_lines(&diff) {
                let l = line.trim_end_matches('\r');
                assert!(
                    l.starts_with("-users: ") || l.starts_with("-contexts: "),
                    "{what}: removed {line:?}\n{diff}"
                );
            }
            // Everything that was there reads back the same, plus tvlogin's.
            let after = View::read(&new).unwrap_or_else(|e| panic!("{what}: {e}\n{new}"));
            assert_eq!(
                after.users[..before.users.len()],
                before.users[..],
                "{what}"
            );
            assert_eq!(
                after.contexts[..before.contexts.len()],
                before.contexts[..],
                "{what}"
            );
            assert_eq!(after.users.len(), before.users.len() + 1, "{new}");
            assert!(
                after.users.last().is_some_and(kube::UserView::is_ours),
                "{new}"
            );
            let ctx = after.contexts.last().expect("the new context");
            assert_eq!(
                (
                    ctx.name.as_str(),
                    ctx.cluster.as_deref(),
                    ctx.user.as_deref()
                ),
                ("tvlogin", Some("on"), Some("tvlogin-default")),
                "{new}"
            );
            // The quoted "on" stays a string for YAML 1.1 readers too.
            assert!(new.contains("cluster: \"on\""), "{new}");
            // Nothing left to do: byte for byte the same.
            let (again, d2) = apply(&new, &plan(), Mode::default(), &[]);
            assert!(d2.ops.is_empty(), "{what}: {:?}", d2.changes);
            assert_eq!(again, new);
            // Undo gives the original back (an absent or null list comes back as `[]`).
            let undo = Mode {
                undo: true,
                ..Mode::default()
            };
            let (back, _) = apply(&new, &plan(), undo, &d.remember);
            let had_lists = ["users", "contexts"].iter().all(|k| {
                text.split_inclusive('\n')
                    .any(|l| l.starts_with(&format!("{k}:")) && !l.contains("null"))
            });
            if had_lists {
                assert_eq!(back, text, "{what}\nafter setup:\n{new}");
            } else {
                assert_eq!(
                    View::read(&back).ok(),
                    Some(before.clone()),
                    "{what}\n{back}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} variants");
}

#[test]
fn forcing_over_a_user_replaces_that_entry_and_nothing_else() {
    for (name, text) in KUBECONFIGS {
        let view = View::read(text).expect("reads");
        let Some(victim) = view.users.first() else {
            continue;
        };
        let p = KubePlan {
            user: victim.name.clone(),
            context: None,
            cluster: None,
            ..plan()
        };
        let refused = kube::decide(&view, &p, Mode::default(), Path::new("/k"), "/k", &[]);
        assert!(refused.is_err(), "{name}: {} is not tvlogin's", victim.name);
        let force = Mode {
            force: true,
            ..Mode::default()
        };
        let (new, d) = apply(text, &p, force, &[]);
        assert!(d.forced && d.ops == [Op::SetUser { replace: true }]);
        let after = View::read(&new).expect("reads");
        assert_eq!(after.users.len(), view.users.len(), "{name}");
        assert_eq!(after.contexts, view.contexts, "{name}");
        // The lines outside the entry are the same.
        let diff = diff::unified("a", "b", text, &new);
        assert!(
            !removed_lines(&diff).iter().any(|l| l.contains("server:")),
            "{name}: {diff}"
        );
    }
}

/// Whether `new` is `old` with one piece of text inserted (returns it).
fn one_insertion<'a>(old: &str, new: &'a str) -> Option<&'a str> {
    let prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let max_suffix = old.len().min(new.len()) - prefix;
    let suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    (prefix + suffix == old.len() && new.len() > old.len())
        .then(|| &new[prefix..new.len() - suffix])
}

#[test]
fn docker_configs_round_trip() {
    let mut rng = Rng(0xd0c_4e7);
    let mut checked = 0;
    for (name, original) in DOCKER_CONFIGS {
        for text in json_variants(original, &mut rng) {
            let what = format!("{DIR}/{name}, variant:\n{text}");
            let before: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}"));
            // A registry tvlogin already serves: not a byte changes.
            if json_edit::cred_helper(&text, "ghcr.io")
                .ok()
                .flatten()
                .as_deref()
                == Some("tvlogin")
            {
                let same =
                    json_edit::edit_cred_helper(&text, "ghcr.io", HelperEdit::Set("tvlogin"))
                        .expect("set");
                assert_eq!(same, text, "{what}");
            }
            // A new registry: exactly one piece of text inserted, the rest byte for byte.
            let new =
                json_edit::edit_cred_helper(&text, "new.example.com", HelperEdit::Set("tvlogin"))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            let inserted = one_insertion(&text, &new)
                .or_else(|| {
                    // An empty `{}` credHelpers in a pretty file gets the new member on a
                    // line of its own.
                    (text.contains("\"credHelpers\": {}") || text.contains("\"credHelpers\":{}"))
                        .then_some("")
                })
                .unwrap_or_else(|| panic!("{what}: not a single insertion:\n{new}"));
            assert!(
                inserted.is_empty() || inserted.contains("\"new.example.com\""),
                "{what}: {inserted:?}"
            );
            for number in ["123456789012345678901234567890", "1.50", "1E+2"] {
                assert_eq!(text.contains(number), new.contains(number), "{what}");
            }
            let mut after: serde_json::Value =
                serde_json::from_str(&new).unwrap_or_else(|e| panic!("{what}: {e}\n{new}"));
            assert_eq!(after["credHelpers"]["new.example.com"], "tvlogin", "{new}");
            // Take tvlogin's entry out again: the same document.
            if let Some(helpers) = after.get_mut("credHelpers").and_then(|h| h.as_object_mut()) {
                helpers.remove("new.example.com");
                if helpers.is_empty() && before.get("credHelpers").is_none() {
                    after.as_object_mut().map(|o| o.remove("credHelpers"));
                }
            }
            assert_eq!(after, before, "{what}");
            // Undo: the original bytes (an empty credHelpers tvlogin emptied goes away).
            let back = json_edit::edit_cred_helper(&new, "new.example.com", HelperEdit::Remove)
                .expect("remove");
            let had_empty = before
                .get("credHelpers")
                .and_then(|h| h.as_object())
                .is_some_and(|h| h.is_empty());
            if had_empty {
                let mut want = before.clone();
                want.as_object_mut().map(|o| o.remove("credHelpers"));
                assert_eq!(
                    serde_json::from_str::<serde_json::Value>(&back).ok(),
                    Some(want)
                );
            } else {
                assert_eq!(back, text, "{what}\nafter setup:\n{new}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 60, "{checked} variants");
}
