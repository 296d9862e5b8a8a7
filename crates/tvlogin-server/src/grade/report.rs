//! The report of one graded flow: the score (weights in [`CHECKS`]), the letter, the
//! terminal report card and the JSON document (schema [`SCHEMA_VERSION`]).
//!
//! JSON fields (version 1), all always present:
//! - `schema_version` (1), `flow` (1-based number), `scenario`, `client_id` (or null),
//!   `started_at` (Unix seconds of the device authorization), `observed_seconds` (how long
//!   the flow was watched), `ended` (why the report was written), `requests` (how many);
//! - `score` (0–100: the weights of the passed checks over those of the exercised ones),
//!   `grade` (`A` ≥ 90, `B` ≥ 80, `C` ≥ 70, `D` ≥ 60, else `F`);
//! - `checks`: one object per check, in table order: `id`, `what`, `rfc`, `weight`,
//!   `result` (`pass` / `fail` / `not_exercised`), `evidence` (text), `at_seconds` (the
//!   deciding request's time since the device authorization, or null);
//! - `failures`: one object per failed check: `id`, `rfc`, `rule` (the RFC sentence),
//!   `evidence`.

use std::time::Duration;

use serde_json::{Value, json};

use super::checks::{CHECKS, Check, Finding, Verdict};
use super::record::Flow;

/// Version of the JSON document; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// The graded flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// 1-based number of the flow in this server's run.
    pub flow: u32,
    /// The scenario name (`pending`, `slow-down`, ...).
    pub scenario: &'static str,
    /// The client id of the device authorization.
    pub client_id: Option<String>,
    /// Unix seconds of the device authorization.
    pub started_at: u64,
    /// How long the flow was watched.
    pub observed: Duration,
    /// Why the report was written.
    pub ended: String,
    /// Requests recorded.
    pub requests: usize,
    /// One finding per check, in [`CHECKS`] order.
    pub findings: Vec<Finding>,
    /// 0–100.
    pub score: u32,
    /// `A`–`F`.
    pub grade: char,
}

/// The score: the weights of passed checks over those of exercised checks, rounded.
pub fn score(findings: &[Finding]) -> u32 {
    let (mut got, mut of) = (0, 0);
    for f in findings {
        let w = check(f.id).map_or(0, |c| c.weight);
        match f.verdict {
            Verdict::Pass => {
                got += w;
                of += w;
            }
            Verdict::Fail => of += w,
            Verdict::NotExercised => {}
        }
    }
    if of == 0 {
        return 100;
    }
    (got * 100 + of / 2) / of
}

/// `A` ≥ 90, `B` ≥ 80, `C` ≥ 70, `D` ≥ 60, else `F`.
pub fn letter(score: u32) -> char {
    match score {
        90.. => 'A',
        80..=89 => 'B',
        70..=79 => 'C',
        60..=69 => 'D',
        _ => 'F',
    }
}

/// The table row of a check id.
pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

impl Report {
    pub(crate) fn new(
        flow: &Flow,
        ended: String,
        observed: Duration,
        findings: Vec<Finding>,
    ) -> Report {
        let score = score(&findings);
        Report {
            flow: flow.number,
            scenario: flow.scenario.name(),
            client_id: flow
                .exchanges
                .first()
                .and_then(|e| e.seen.auth.client_id().map(str::to_owned)),
            started_at: flow.started_unix,
            observed,
            ended,
            requests: flow.exchanges.len(),
            findings,
            score,
            grade: letter(score),
        }
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == Verdict::Fail)
    }

    /// The finding of one check.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }

    /// The JSON document (see the module documentation for the fields).
    pub fn to_json(&self) -> Value {
        let secs = |d: Duration| (d.as_secs_f64() * 100.0).round() / 100.0;
        let checks: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                let c = check(f.id);
                json!({
                    "id": f.id,
                    "what": c.map_or("", |c| c.what),
                    "rfc": c.map_or("", |c| c.rfc),
                    "weight": c.map_or(0, |c| c.weight),
                    "result": f.verdict.as_str(),
                    "evidence": f.evidence,
                    "at_seconds": f.at.map(secs),
                })
            })
            .collect();
        let failures: Vec<Value> = self
            .failures()
            .map(|f| {
                let c = check(f.id);
                json!({
                    "id": f.id,
                    "rfc": c.map_or("", |c| c.rfc),
                    "rule": c.map_or("", |c| c.rule),
                    "evidence": f.evidence,
                })
            })
            .collect();
        json!({
            "schema_version": SCHEMA_VERSION,
            "flow": self.flow,
            "scenario": self.scenario,
            "client_id": self.client_id,
            "started_at": self.started_at,
            "observed_seconds": secs(self.observed),
            "ended": self.ended,
            "requests": self.requests,
            "score": self.score,
            "grade": self.grade.to_string(),
            "checks": checks,
            "failures": failures,
        })
    }

    /// The report card for a terminal: a table of every check, then each failure with the
    /// RFC sentence it breaks. `color` adds ANSI colours (pass green, fail red,
    /// not exercised dim); pass `false` when `NO_COLOR` is set or the output is not a
    /// terminal. Client-supplied text is shown with control characters escaped.
    pub fn render(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut out = String::new();
        let client = self
            .client_id
            .as_deref()
            .map_or("(none)".to_owned(), visible);
        let grade_color = match self.grade {
            'A' | 'B' => "1;32",
            'C' | 'D' => "1;33",
            _ => "1;31",
        };
        out.push_str(&format!(
            "{} flow {} · scenario {} · client {} · requests {} in {:.1}s\n",
            paint("1", "Report card"),
            self.flow,
            self.scenario,
            client,
            self.requests,
            self.observed.as_secs_f64()
        ));
        out.push_str(&format!(
            "ended: {} · score {}/100 · grade {}\n\n",
            visible(&self.ended),
            self.score,
            paint(grade_color, &self.grade.to_string())
        ));
        let id_w = CHECKS.iter().map(|c| c.id.len()).max().unwrap_or(0);
        let rfc_w = CHECKS.iter().map(|c| c.rfc.len()).max().unwrap_or(0);
        const RESULT_W: usize = 13;
        out.push_str(&format!(
            "  {:id_w$}  {:rfc_w$}  {:RESULT_W$}  EVIDENCE\n",
            "CHECK", "RFC", "RESULT"
        ));
        for f in &self.findings {
            let rfc = check(f.id).map_or("", |c| c.rfc);
            let (word, code) = match f.verdict {
                Verdict::Pass => ("pass", "32"),
                Verdict::Fail => ("FAIL", "1;31"),
                Verdict::NotExercised => ("not exercised", "2"),
            };
            let padded = format!("{word:RESULT_W$}");
            out.push_str(&format!(
                "  {:id_w$}  {:rfc_w$}  {}  {}\n",
                f.id,
                rfc,
                paint(code, &padded),
                visible(&f.evidence)
            ));
        }
        let failures: Vec<&Finding> = self.failures().collect();
        if !failures.is_empty() {
            out.push_str(&format!("\n{}\n", paint("1", "Failures")));
            for f in failures {
                let c = check(f.id);
                out.push_str(&format!(
                    "  {} ({}): \"{}\"\n    {}\n",
                    paint("1;31", f.id),
                    c.map_or("", |c| c.rfc),
                    c.map_or("", |c| c.rule),
                    visible(&f.evidence)
                ));
            }
        }
        out
    }
}

/// Control characters, bidi controls and zero-width characters as visible escapes, so
/// client-supplied text cannot drive the terminal or disguise itself.
pub(crate) fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let hidden = c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
        if hidden {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn finding(id: &'static str, verdict: Verdict) -> Finding {
        Finding {
            id,
            verdict,
            evidence: format!("evidence of {id}"),
            at: Some(Duration::from_millis(1250)),
        }
    }

    #[test]
    fn weights_add_up_to_100_and_ids_are_unique() {
        assert_eq!(CHECKS.iter().map(|c| c.weight).sum::<u32>(), 100);
        for (i, c) in CHECKS.iter().enumerate() {
            assert!(CHECKS[i + 1..].iter().all(|d| d.id != c.id), "{}", c.id);
        }
    }

    #[test]
    fn score_counts_only_exercised_checks() {
        let all_pass: Vec<_> = CHECKS
            .iter()
            .map(|c| finding(c.id, Verdict::Pass))
            .collect();
        assert_eq!(score(&all_pass), 100);
        let mut f = all_pass.clone();
        f[0].verdict = Verdict::Fail; // shape.post, 4
        assert_eq!(score(&f), 96);
        f[6].verdict = Verdict::NotExercised; // pacing.interval, 10
        assert_eq!(score(&f), (86 * 100 + 45) / 90);
        let none: Vec<_> = CHECKS
            .iter()
            .map(|c| finding(c.id, Verdict::NotExercised))
            .collect();
        assert_eq!(score(&none), 100);
    }

    #[test]
    fn letters() {
        let table = [
            (100, 'A'),
            (90, 'A'),
            (89, 'B'),
            (80, 'B'),
            (79, 'C'),
            (60, 'D'),
            (59, 'F'),
            (0, 'F'),
        ];
        for (s, l) in table {
            assert_eq!(letter(s), l, "{s}");
        }
    }

    fn report() -> Report {
        let mut findings: Vec<_> = CHECKS
            .iter()
            .map(|c| finding(c.id, Verdict::Pass))
            .collect();
        findings[6] = Finding {
            evidence: "poll 2 (t+0.50s) came 0.50s after poll 1 \u{1b}[31m".into(),
            ..finding("pacing.interval", Verdict::Fail)
        };
        findings[20].verdict = Verdict::NotExercised;
        let score = score(&findings);
        Report {
            flow: 2,
            scenario: "pending",
            client_id: Some("tvlogin-demo".into()),
            started_at: 1_700_000_000,
            observed: Duration::from_secs(3),
            ended: "idle".into(),
            requests: 5,
            findings,
            score,
            grade: letter(score),
        }
    }

    #[test]
    fn report_card_has_every_check_escapes_and_colours_only_when_asked() {
        let r = report();
        let plain = r.render(false);
        assert!(!plain.contains('\u{1b}'), "{plain}");
        assert!(
            plain.contains("\\u{1b}[31m"),
            "client text escaped: {plain}"
        );
        for c in CHECKS {
            assert!(plain.contains(c.id), "{}", c.id);
        }
        assert!(plain.contains("not exercised"));
        assert!(plain.contains("Failures"));
        assert!(plain.contains(CHECKS[6].rule), "{plain}");
        assert!(plain.contains(&format!("score {}/100 · grade {}", r.score, r.grade)));
        let colored = r.render(true);
        assert!(colored.contains("\x1b[1;31mFAIL"), "{colored}");
    }

    #[test]
    fn json_is_stable() {
        let v = report().to_json();
        assert_eq!(v["schema_version"], 1);
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = vec![
            "checks",
            "client_id",
            "ended",
            "failures",
            "flow",
            "grade",
            "observed_seconds",
            "requests",
            "scenario",
            "schema_version",
            "score",
            "started_at",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        let checks = v["checks"].as_array().unwrap();
        assert_eq!(checks.len(), CHECKS.len());
        let c = &checks[6];
        assert_eq!(c["id"], "pacing.interval");
        assert_eq!(c["result"], "fail");
        assert_eq!(c["at_seconds"], 1.25);
        assert_eq!(checks[20]["result"], "not_exercised");
        assert_eq!(v["failures"][0]["id"], "pacing.interval");
        assert_eq!(v["failures"][0]["rule"], CHECKS[6].rule);
        assert!(
            v["failures"][0]["evidence"]
                .as_str()
                .unwrap()
                .contains('\u{1b}'),
            "exact text in JSON"
        );
    }
}
