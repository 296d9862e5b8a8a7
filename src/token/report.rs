//! One inspection: what a token is, what it says, and what could be checked. Built once by
//! [`inspect`] (which does the IO), then shown as plain text or as one JSON document; the
//! inspector TUI draws the same [`Report`].

use serde_json::{Map, Value, json};
use url::Url;

use super::claims::{self, Kind};
use super::jwt::{self, Decoded};
use super::remote::{self, IssuerInfo, JwksSource, Remote, Skew};
use super::time::{TimeView, numeric_date};
use super::verify::{self, Check, Expect, HmacSecret, Outcome};
use crate::exit::Exit;
use crate::oauth::client::OAuthClient;
use crate::sanitize::escape;

/// What the user gave to check the token with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--jwks FILE|URL` (a file already read).
    pub jwks: Option<JwksSource>,
    /// `--issuer URL`: discovery, `iss` check, clock reading, introspection, userinfo.
    pub issuer: Option<Url>,
    /// `--audience A`.
    pub audience: Option<String>,
    /// The HMAC secret from `--secret-env VAR`.
    pub secret: Option<HmacSecret>,
    /// A client for introspection (`--client-id`, `--client-secret-env`, `--auth`).
    pub client: Option<OAuthClient>,
}

/// An answer from introspection or userinfo.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// The endpoint asked.
    pub endpoint: String,
    /// Its fields, or why there are none.
    pub result: Result<Map<String, Value>, String>,
}

/// The whole inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The token, decoded for display.
    pub decoded: Decoded,
    /// Each check, in order (signature first).
    pub checks: Vec<Check>,
    /// The issuer's clock against ours, when an issuer was contacted.
    pub skew: Option<Skew>,
    /// RFC 7662 introspection of an opaque token.
    pub introspection: Option<Lookup>,
    /// Userinfo for an opaque token.
    pub userinfo: Option<Lookup>,
    /// Plain remarks ("nothing can be learned …", a failed discovery).
    pub notes: Vec<String>,
    /// When the checks ran (Unix seconds).
    pub now: i64,
    /// What the claims were checked against (the TUI re-runs the time checks every second).
    pub expect: Expect,
}

/// Decodes `token` and runs every check `options` allows.
pub async fn inspect(token: &str, mut options: Options, remote: &mut Remote) -> Report {
    let token = jwt::clean(token);
    let decoded = jwt::decode(token);
    let mut notes = Vec::new();
    let mut info: Option<IssuerInfo> = None;
    let expecting_issuer = options.issuer.as_ref().map(|u| u.to_string());
    if let Some(issuer) = &options.issuer {
        match remote.discover(issuer).await {
            Ok(i) => info = Some(i),
            Err(e) => notes.push(format!("discovery failed: {e}")),
        }
    }
    if options.jwks.is_none()
        && let Some(url) = info.as_ref().and_then(|i| i.jwks_uri.clone())
    {
        options.jwks = Some(JwksSource::Url {
            url,
            set: None,
            refetched: false,
        });
    }
    let expect = Expect {
        issuer: info.as_ref().map(|i| i.issuer.clone()).or(expecting_issuer),
        audience: options.audience.clone(),
    };
    let mut checks = Vec::new();
    let (mut introspection, mut userinfo) = (None, None);
    match &decoded {
        Decoded::Jws(jws) => {
            let outcome = remote::check_signature(
                jws,
                options.jwks.as_mut(),
                options.secret.as_ref(),
                remote,
            )
            .await;
            checks.push(Check {
                name: "signature",
                outcome,
            });
            checks.extend(verify::claims(
                &jws.claims,
                &expect,
                super::time::now_unix(),
            ));
        }
        Decoded::Jwe(jwe) => {
            let enc = jwe.header.get("enc").and_then(Value::as_str).unwrap_or("?");
            checks.push(Check {
                name: "signature",
                outcome: Outcome::NotChecked(format!(
                    "encrypted (JWE, enc {}): only the intended recipient can decrypt it",
                    escape(enc)
                )),
            });
        }
        Decoded::Opaque => {
            let Some(info) = &info else {
                notes.push(
                    "an opaque token: only the server that issued it knows what it means; pass \
                     --issuer URL to ask it (introspection needs --client-id too)"
                        .into(),
                );
                return finish(decoded, checks, remote, (None, None), notes, expect);
            };
            if let (Some(endpoint), Some(client)) = (&info.introspection, &options.client) {
                let result = remote.introspect(endpoint, client, token).await;
                if let Ok(fields) = &result {
                    checks.push(active_check(fields));
                    if fields.get("active") == Some(&Value::Bool(true)) {
                        checks.extend(
                            verify::claims(fields, &expect, super::time::now_unix())
                                .into_iter()
                                .filter(|c| !matches!(c.outcome, Outcome::NotChecked(_))),
                        );
                    }
                }
                introspection = Some(Lookup {
                    endpoint: endpoint.to_string(),
                    result,
                });
            } else if info.introspection.is_some() {
                notes.push(
                    "the issuer offers introspection, but it needs a client: pass --client-id \
                     (and --client-secret-env VAR)"
                        .into(),
                );
            }
            let introspected = matches!(&introspection, Some(Lookup { result: Ok(_), .. }));
            if !introspected && let Some(endpoint) = &info.userinfo {
                userinfo = Some(Lookup {
                    endpoint: endpoint.to_string(),
                    result: remote.userinfo(endpoint, token).await,
                });
            }
            let learned = introspected || matches!(&userinfo, Some(Lookup { result: Ok(_), .. }));
            if !learned {
                notes.push(format!(
                    "nothing can be learned about this opaque token from {}",
                    info.issuer
                ));
            }
        }
        Decoded::Malformed(_) => {}
    }
    finish(
        decoded,
        checks,
        remote,
        (introspection, userinfo),
        notes,
        expect,
    )
}

fn finish(
    decoded: Decoded,
    checks: Vec<Check>,
    remote: &Remote,
    (introspection, userinfo): (Option<Lookup>, Option<Lookup>),
    notes: Vec<String>,
    expect: Expect,
) -> Report {
    Report {
        decoded,
        checks,
        skew: remote.skew,
        introspection,
        userinfo,
        notes,
        now: super::time::now_unix(),
        expect,
    }
}

fn active_check(fields: &Map<String, Value>) -> Check {
    let outcome = match fields.get("active") {
        Some(Value::Bool(true)) => Outcome::Passed("the issuer says the token is active".into()),
        Some(Value::Bool(false)) => Outcome::Failed(
            "the issuer says the token is not active (expired, revoked or unknown)".into(),
        ),
        _ => Outcome::Failed("the introspection answer has no boolean active".into()),
    };
    Check {
        name: "active",
        outcome,
    }
}

/// A claim value on one line, escaped.
pub fn show_value(value: &Value) -> String {
    match value {
        Value::String(s) => escape(s),
        other => escape(&other.to_string()),
    }
}

/// The named fields holding times, shown three ways.
pub fn times(
    claims: &Map<String, Value>,
    now: i64,
    offset: &dyn Fn(i64) -> i32,
) -> Vec<(String, TimeView)> {
    claims
        .iter()
        .filter(|(k, _)| claims::claim(k).is_some_and(|e| e.kind == Kind::Time))
        .filter_map(|(k, v)| {
            numeric_date(v).map(|at| (k.clone(), TimeView::new(at, now, offset(at))))
        })
        .collect()
}

impl Report {
    /// `jws`, `jwe`, `opaque` or `malformed`.
    pub fn kind(&self) -> &'static str {
        match self.decoded {
            Decoded::Jws(_) => "jws",
            Decoded::Jwe(_) => "jwe",
            Decoded::Opaque => "opaque",
            Decoded::Malformed(_) => "malformed",
        }
    }

    /// Exit 6 for a malformed token or any failed check, else 0.
    pub fn exit(&self) -> Exit {
        if matches!(self.decoded, Decoded::Malformed(_)) || verify::any_failed(&self.checks) {
            Exit::InvalidToken
        } else {
            Exit::Ok
        }
    }

    /// The `--json` document.
    pub fn to_json(&self, offset: &dyn Fn(i64) -> i32) -> Value {
        let (header, claims) = match &self.decoded {
            Decoded::Jws(j) => (Some(j.header.clone()), Some(j.claims.clone())),
            Decoded::Jwe(j) => (Some(j.header.clone()), None),
            _ => (None, None),
        };
        let time_source = claims.clone().or_else(|| {
            self.introspection
                .as_ref()
                .and_then(|l| l.result.as_ref().ok().cloned())
        });
        let times: Map<String, Value> = time_source
            .as_ref()
            .map(|c| {
                self::times(c, self.now, offset)
                    .into_iter()
                    .map(|(k, v)| (k, v.to_json(offset(v.unix))))
                    .collect()
            })
            .unwrap_or_default();
        let lookup = |l: &Option<Lookup>| {
            l.as_ref().map(|l| match &l.result {
                Ok(fields) => json!({"endpoint": l.endpoint, "ok": true, "fields": fields}),
                Err(e) => json!({"endpoint": l.endpoint, "ok": false, "error": e}),
            })
        };
        json!({
            "kind": self.kind(),
            "valid": self.exit() == Exit::Ok,
            "header": header,
            "claims": claims,
            "encrypted": matches!(self.decoded, Decoded::Jwe(_)),
            "malformed": match &self.decoded {
                Decoded::Malformed(m) => json!({"segment": m.segment, "name": m.name, "message": m.to_string()}),
                _ => Value::Null,
            },
            "times": times,
            "verification": self.checks.iter().map(Check::to_json).collect::<Vec<_>>(),
            "clock_skew": self.skew.map(|s| json!({"seconds": s.seconds, "description": s.describe()})),
            "introspection": lookup(&self.introspection),
            "userinfo": lookup(&self.userinfo),
            "notes": self.notes,
            "checked_at": self.now,
        })
    }

    /// The plain-text report; every piece of token or server text is escaped.
    pub fn to_plain(&self, offset: &dyn Fn(i64) -> i32) -> String {
        let mut out = String::new();
        let line = |out: &mut String, s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        match &self.decoded {
            Decoded::Jws(j) => {
                line(
                    &mut out,
                    format!(
                        "Signed JWT (JWS){}",
                        j.alg()
                            .map(|a| format!(", alg {}", escape(a)))
                            .unwrap_or_default()
                    ),
                );
                section(
                    &mut out,
                    "Header",
                    &j.header,
                    claims::header,
                    self.now,
                    offset,
                );
                section(
                    &mut out,
                    "Claims",
                    &j.claims,
                    claims::claim,
                    self.now,
                    offset,
                );
            }
            Decoded::Jwe(j) => {
                line(
                    &mut out,
                    "Encrypted JWT (JWE): the payload is encrypted and cannot be shown".into(),
                );
                section(
                    &mut out,
                    "Header",
                    &j.header,
                    claims::header,
                    self.now,
                    offset,
                );
                line(&mut out, "\nPayload\n  (encrypted)".into());
            }
            Decoded::Opaque => line(&mut out, "Opaque token (not a JWT)".into()),
            Decoded::Malformed(m) => line(
                &mut out,
                format!("Malformed token: {}", escape(&m.to_string())),
            ),
        }
        for (title, lookup) in [
            ("Introspection", &self.introspection),
            ("Userinfo", &self.userinfo),
        ] {
            if let Some(l) = lookup {
                match &l.result {
                    Ok(fields) => section(
                        &mut out,
                        &format!("{title} ({})", escape(&l.endpoint)),
                        fields,
                        claims::claim,
                        self.now,
                        offset,
                    ),
                    Err(e) => line(&mut out, format!("\n{title}: failed: {}", escape(e))),
                }
            }
        }
        if !self.checks.is_empty() {
            line(&mut out, "\nVerification".into());
            let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
            for c in &self.checks {
                let mark = match c.outcome {
                    Outcome::Passed(_) => "✓ passed     ",
                    Outcome::Failed(_) => "✗ FAILED     ",
                    Outcome::NotChecked(_) => "- not checked",
                };
                line(
                    &mut out,
                    format!(
                        "  {:<width$}  {mark}  {}",
                        c.name,
                        escape(c.outcome.detail())
                    ),
                );
            }
        }
        if let Some(skew) = self.skew {
            line(&mut out, format!("\nClock: {}", skew.describe()));
        }
        for note in &self.notes {
            line(&mut out, format!("\nNote: {}", escape(note)));
        }
        let verdict = match (self.exit(), &self.decoded) {
            (Exit::Ok, _)
                if self
                    .checks
                    .iter()
                    .all(|c| !matches!(c.outcome, Outcome::Passed(_))) =>
            {
                "nothing was verified".to_owned()
            }
            (Exit::Ok, _) => "every check that ran passed".to_owned(),
            (_, Decoded::Malformed(_)) => "INVALID: malformed".to_owned(),
            _ => {
                let n = self
                    .checks
                    .iter()
                    .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
                    .count();
                format!("INVALID: {n} check{} failed", if n == 1 { "" } else { "s" })
            }
        };
        line(&mut out, format!("\nResult: {verdict}"));
        out
    }
}

fn section(
    out: &mut String,
    title: &str,
    fields: &Map<String, Value>,
    lookup: fn(&str) -> Option<&'static claims::Entry>,
    now: i64,
    offset: &dyn Fn(i64) -> i32,
) {
    out.push_str(&format!("\n{title}\n"));
    let names: Vec<String> = fields.keys().map(|k| escape(k)).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let pad = " ".repeat(width + 4);
    for ((key, value), name) in fields.iter().zip(&names) {
        out.push_str(&format!("  {name:<width$}  {}\n", show_value(value)));
        let entry = lookup(key);
        if let Some(e) = entry
            && e.kind == Kind::Time
            && let Some(at) = numeric_date(value)
        {
            let v = TimeView::new(at, now, offset(at));
            out.push_str(&format!("{pad}{} · {} · {}\n", v.local, v.utc, v.relative));
        }
        match entry {
            Some(e) => out.push_str(&format!("{pad}{} ({})\n", e.about, e.spec)),
            None => out.push_str(&format!("{pad}(not a registered name)\n")),
        }
    }
}
