//! One inspection: what a token is, what it says, and what could be checked. Built once by
//! [`inspect`] (which does the IO), then shown as plain text or as one JSON document; the
//! inspector TUI draws the same [`Report`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use super::claims::{self, Kind};
use super::jwt::{self, Decoded};
use super::remote::{self, IssuerInfo, JwksSource, Remote, Skew};
use super::time::{JsonTime, TimeView, numeric_date};
use super::verdict::{self, Judgement, Verdict};
use super::verify::{self, Check, Expect, HmacSecret, Leeway, Outcome};
use crate::clock::UnixTime;
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
    /// `--introspection-endpoint URL`: over the one the issuer's metadata names.
    pub introspection: Option<Url>,
    /// `--audience A`.
    pub audience: Option<String>,
    /// The HMAC secret from `--secret-env VAR`.
    pub secret: Option<HmacSecret>,
    /// A client for introspection (`--client-id`, `--client-secret-env`, `--auth`).
    pub client: Option<OAuthClient>,
    /// The clock skew the time checks forgive (`--leeway SECS`).
    pub leeway: Leeway,
}

impl Options {
    /// Whether a key source was named (`--jwks`, `--issuer`, `--secret-env`): then a token
    /// that cannot be verified exits 6.
    pub fn asks_to_verify(&self) -> bool {
        self.jwks.is_some()
            || self.issuer.is_some()
            || self.secret.is_some()
            || self.introspection.is_some()
    }
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
    /// When the checks ran.
    pub now: UnixTime,
    /// What the claims were checked against (the TUI re-runs the time checks every second).
    pub expect: Expect,
    /// Whether a key source was named: an unverified token then exits 6.
    pub asked: bool,
}

/// For a token that came from a profile: whether its `cnf.jkt` (RFC 9449 §6) is the key the
/// profile holds (`key_jkt`). `None` when the token names no DPoP key.
pub fn key_binding(decoded: &Decoded, key_jkt: Option<&str>) -> Option<String> {
    let Decoded::Jws(jws) = decoded else {
        return None;
    };
    let jkt = jws.claims.get("cnf")?.get("jkt")?.as_str()?;
    let shown = crate::sanitize::escape(jkt);
    Some(match key_jkt {
        Some(mine) if mine == jkt => format!("DPoP: bound to this machine's key (jkt {shown})"),
        Some(mine) => format!(
            "DPoP: bound to another key (jkt {shown}), not this machine's ({})",
            crate::sanitize::escape(mine)
        ),
        None => format!("DPoP: bound to another key (jkt {shown}); this profile holds no key"),
    })
}

/// Decodes `token` and runs every check `options` allows. An edge (it asks the issuer): the
/// clock is read once, here, and every time check of the report uses that reading.
pub async fn inspect(token: &str, mut options: Options, remote: &mut Remote) -> Report {
    let now = UnixTime::now();
    let token = jwt::clean(token);
    let decoded = jwt::decode(token);
    let asked = options.asks_to_verify();
    let mut notes = Vec::new();
    let mut info: Option<IssuerInfo> = None;
    let expecting_issuer = options.issuer.as_ref().map(|u| u.to_string());
    // Why the issuer could not give keys, when it could not: the signature line says so
    // instead of asking for flags that were given.
    let mut no_keys: Option<String> = None;
    if matches!(decoded, Decoded::Malformed(_)) {
        // Nothing about a token that is not one is worth a request.
        return finish(
            decoded,
            Vec::new(),
            remote,
            (None, None),
            notes,
            Expect {
                issuer: expecting_issuer,
                audience: options.audience.clone(),
                leeway: options.leeway,
            },
            asked,
            now,
        );
    }
    if let Some(issuer) = &options.issuer {
        match remote.discover(issuer).await {
            Ok(i) => {
                if i.jwks_uri.is_none() && options.jwks.is_none() {
                    no_keys = Some(format!(
                        "the issuer {issuer} names no usable jwks_uri in its discovery document, \
                         so there are no keys to check the signature with"
                    ));
                }
                info = Some(i);
            }
            Err(e) => {
                no_keys = Some(format!(
                    "could not get the keys: the issuer {issuer} could not be asked ({e})"
                ));
                notes.push(format!("discovery failed: {e}"));
            }
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
        leeway: options.leeway,
    };
    let mut checks = Vec::new();
    let (mut introspection, mut userinfo) = (None, None);
    match &decoded {
        Decoded::Jws(jws) => {
            let mut outcome = remote::check_signature(
                jws,
                options.jwks.as_mut(),
                options.secret.as_ref(),
                remote,
            )
            .await;
            if let (Outcome::NotChecked(_), Some(why)) = (&outcome, &no_keys)
                && options.jwks.is_none()
            {
                outcome = Outcome::NotChecked(why.clone());
            }
            checks.push(Check {
                name: "signature",
                outcome,
            });
            checks.extend(verify::claim_types(&jws.claims));
            checks.extend(verify::claims(&jws.claims, &expect, now));
        }
        Decoded::Jwe(jwe) => {
            let enc = jwe.header.get("enc").and_then(Value::as_str).unwrap_or("?");
            checks.push(Check {
                name: "signature",
                outcome: Outcome::NotChecked(format!(
                    "encrypted (JWE, enc {enc}): only the intended recipient can decrypt it"
                )),
            });
        }
        Decoded::Opaque => {
            let endpoint = options
                .introspection
                .clone()
                .or_else(|| info.as_ref().and_then(|i| i.introspection.clone()));
            if info.is_none() && endpoint.is_none() {
                notes.push(
                    "an opaque token: only the server that issued it knows what it means; pass \
                     --issuer URL to ask it (introspection needs --client-id too)"
                        .into(),
                );
                if let Some(why) = no_keys {
                    notes.push(why);
                }
                return finish(
                    decoded,
                    checks,
                    remote,
                    (None, None),
                    notes,
                    expect,
                    asked,
                    now,
                );
            }
            match (&endpoint, &options.client) {
                (Some(endpoint), Some(client)) => {
                    let result = remote.introspect(endpoint, client, token).await;
                    match &result {
                        Ok(fields) => {
                            checks.push(active_check(fields));
                            if fields.get("active") == Some(&Value::Bool(true)) {
                                checks.extend(
                                    verify::claims(fields, &expect, now)
                                        .into_iter()
                                        .filter(|c| !matches!(c.outcome, Outcome::NotChecked(_))),
                                );
                            }
                        }
                        Err(e) => checks.push(Check {
                            name: "active",
                            outcome: Outcome::NotChecked(format!(
                                "introspection at {endpoint} failed: {e}"
                            )),
                        }),
                    }
                    introspection = Some(Lookup {
                        endpoint: endpoint.to_string(),
                        result,
                    });
                }
                // Not attempted: the check says why, so the verdict does not read as if
                // the issuer had been asked and had declined.
                (Some(endpoint), None) => checks.push(Check {
                    name: "active",
                    outcome: Outcome::NotChecked(format!(
                        "introspection was not attempted: {endpoint} needs a client; pass \
                         --client-id ID (and --client-secret-env VAR for a confidential client)"
                    )),
                }),
                (None, _) => checks.push(Check {
                    name: "active",
                    outcome: Outcome::NotChecked(format!(
                        "introspection was not attempted: no introspection endpoint is known \
                         ({} names none in its OpenID or RFC 8414 metadata); pass \
                         --introspection-endpoint URL",
                        info.as_ref().map_or("the issuer", |i| i.issuer.as_str())
                    )),
                }),
            }
            let introspected = matches!(&introspection, Some(Lookup { result: Ok(_), .. }));
            if !introspected && let Some(endpoint) = info.as_ref().and_then(|i| i.userinfo.as_ref())
            {
                userinfo = Some(Lookup {
                    endpoint: endpoint.to_string(),
                    result: remote.userinfo(endpoint, token).await,
                });
            }
            let learned = introspected || matches!(&userinfo, Some(Lookup { result: Ok(_), .. }));
            if !learned {
                notes.push(format!(
                    "nothing can be learned about this opaque token from {}",
                    info.as_ref()
                        .map_or_else(|| endpoint_text(endpoint.as_ref()), |i| i.issuer.clone())
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
        asked,
        now,
    )
}

#[allow(clippy::too_many_arguments)] // the parts of one report, each named where it is built
fn finish(
    decoded: Decoded,
    checks: Vec<Check>,
    remote: &Remote,
    (introspection, userinfo): (Option<Lookup>, Option<Lookup>),
    notes: Vec<String>,
    expect: Expect,
    asked: bool,
    now: UnixTime,
) -> Report {
    Report {
        asked,
        decoded,
        checks,
        skew: remote.skew,
        introspection,
        userinfo,
        notes,
        now,
        expect,
    }
}

fn endpoint_text(endpoint: Option<&Url>) -> String {
    endpoint.map_or_else(|| "the issuer".into(), Url::to_string)
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
    now: UnixTime,
    offset: &dyn Fn(i64) -> i32,
) -> Vec<(String, TimeView)> {
    time_claims(claims)
        .map(|(k, at)| (k.to_owned(), TimeView::new(at, now, offset(at))))
        .collect()
}

/// The fields that name a time (`exp`, `iat`, …) and hold a NumericDate, with its value.
fn time_claims(claims: &Map<String, Value>) -> impl Iterator<Item = (&str, i64)> {
    claims
        .iter()
        .filter(|(k, _)| claims::claim(k).is_some_and(|e| e.kind == Kind::Time))
        .filter_map(|(k, v)| numeric_date(v).map(|at| (k.as_str(), at)))
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

    /// The checks with the time and claim checks run again at `now`, so a token expiring
    /// while on screen turns invalid.
    pub fn checks_at(&self, now: UnixTime) -> Vec<Check> {
        match &self.decoded {
            Decoded::Jws(j) => {
                let fresh = verify::claims(&j.claims, &self.expect, now);
                self.checks
                    .iter()
                    .map(|c| {
                        fresh
                            .iter()
                            .find(|f| f.name == c.name)
                            .cloned()
                            .unwrap_or_else(|| c.clone())
                    })
                    .collect()
            }
            _ => self.checks.clone(),
        }
    }

    /// The verdict at `now`.
    pub fn judge_at(&self, now: UnixTime) -> Judgement {
        verdict::judge(&self.decoded, &self.checks_at(now), self.asked)
    }

    /// The verdict when the checks ran.
    pub fn judgement(&self) -> Judgement {
        verdict::judge(&self.decoded, &self.checks, self.asked)
    }

    /// 0 verified; 6 invalid; unverified: 0 for a plain decode, 6 when a key source was
    /// named but could not be used.
    pub fn exit(&self) -> Exit {
        self.judgement().exit()
    }

    /// The `--json` document, borrowing from the report; it is serialized straight to the
    /// output through [`crate::sanitize::write_json`].
    pub fn to_json(&self, offset: &dyn Fn(i64) -> i32) -> JsonReport<'_> {
        let (header, claims) = match &self.decoded {
            Decoded::Jws(j) => (Some(&j.header), Some(&j.claims)),
            Decoded::Jwe(j) => (Some(&j.header), None),
            _ => (None, None),
        };
        let time_source = claims.or_else(|| {
            self.introspection
                .as_ref()
                .and_then(|l| l.result.as_ref().ok())
        });
        let times = time_source
            .map(|c| {
                time_claims(c)
                    .map(|(k, at)| (k, JsonTime::new(at, self.now, offset(at))))
                    .collect()
            })
            .unwrap_or_default();
        let judgement = self.judgement();
        JsonReport {
            checked_at: self.now.secs(),
            claims,
            clock_skew: self.skew.map(|s| JsonSkew {
                description: s.describe(),
                seconds: s.seconds,
            }),
            encrypted: matches!(self.decoded, Decoded::Jwe(_)),
            header,
            introspection: self.introspection.as_ref().map(JsonLookup::new),
            kind: self.kind(),
            leeway: JsonLeeway {
                exp: self.expect.leeway.exp,
                nbf_iat: self.expect.leeway.future,
            },
            malformed: match &self.decoded {
                Decoded::Malformed(m) => Some(JsonMalformed {
                    message: m.to_string(),
                    name: m.name,
                    segment: m.segment,
                }),
                _ => None,
            },
            notes: &self.notes,
            times,
            userinfo: self.userinfo.as_ref().map(JsonLookup::new),
            valid: judgement.verdict == Verdict::Verified,
            verdict: judgement.verdict.label(),
            verdict_reason: judgement.reason,
            verification: self
                .checks
                .iter()
                .map(|c| JsonCheck {
                    check: c.name,
                    detail: c.outcome.detail(),
                    result: c.outcome.label(),
                })
                .collect(),
        }
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
            Decoded::Malformed(m) if m.segment == 0 && m.reason.starts_with("not a token") => line(
                &mut out,
                format!("Not a token{}", escape(&m.reason["not a token".len()..])),
            ),
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
        let judgement = self.judgement();
        let verdict = format!(
            "{} — {}",
            judgement.verdict.label().to_uppercase(),
            escape(&judgement.reason)
        );
        line(&mut out, format!("\nResult: {verdict}"));
        out
    }
}

fn section(
    out: &mut String,
    title: &str,
    fields: &Map<String, Value>,
    lookup: fn(&str) -> Option<&'static claims::Entry>,
    now: UnixTime,
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

/// The `inspect --json` document (the contract in DESIGN.md). Every object's fields are in
/// alphabetical order, as serde_json's maps print theirs, so the key order is stable.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    checked_at: i64,
    claims: Option<&'a Map<String, Value>>,
    clock_skew: Option<JsonSkew>,
    encrypted: bool,
    header: Option<&'a Map<String, Value>>,
    introspection: Option<JsonLookup<'a>>,
    kind: &'static str,
    leeway: JsonLeeway,
    malformed: Option<JsonMalformed>,
    notes: &'a [String],
    times: BTreeMap<&'a str, JsonTime>,
    userinfo: Option<JsonLookup<'a>>,
    valid: bool,
    verdict: &'static str,
    verdict_reason: String,
    verification: Vec<JsonCheck<'a>>,
}

/// `clock_skew` in [`JsonReport`].
#[derive(Debug, Serialize)]
struct JsonSkew {
    description: String,
    seconds: i64,
}

/// `leeway` in [`JsonReport`]: the seconds each time check forgave.
#[derive(Debug, Serialize)]
struct JsonLeeway {
    exp: i64,
    nbf_iat: i64,
}

/// `malformed` in [`JsonReport`].
#[derive(Debug, Serialize)]
struct JsonMalformed {
    message: String,
    name: &'static str,
    segment: usize,
}

/// One entry of `verification` in [`JsonReport`].
#[derive(Debug, Serialize)]
struct JsonCheck<'a> {
    check: &'static str,
    detail: &'a str,
    result: &'static str,
}

/// `introspection` / `userinfo` in [`JsonReport`]: `fields` when the endpoint answered,
/// `error` when not.
#[derive(Debug, Serialize)]
struct JsonLookup<'a> {
    endpoint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a Map<String, Value>>,
    ok: bool,
}

impl<'a> JsonLookup<'a> {
    fn new(lookup: &'a Lookup) -> Self {
        let (fields, error) = match &lookup.result {
            Ok(fields) => (Some(fields), None),
            Err(e) => (None, Some(e.as_str())),
        };
        Self {
            endpoint: &lookup.endpoint,
            error,
            fields,
            ok: lookup.result.is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn token(claims: &str) -> Decoded {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        jwt::decode(&format!(
            "{}.{}.{}",
            b64(r#"{"alg":"RS256","typ":"at+jwt"}"#),
            b64(claims),
            b64("sig")
        ))
    }

    #[test]
    fn a_bound_token_says_whose_key_it_is_bound_to() {
        let bound = token(r#"{"sub":"a","cnf":{"jkt":"K1"}}"#);
        let table = [
            (Some("K1"), Some("bound to this machine's key")),
            (Some("K2"), Some("bound to another key")),
            (None, Some("this profile holds no key")),
        ];
        for (mine, want) in table {
            let said = key_binding(&bound, mine);
            assert!(
                said.as_deref()
                    .is_some_and(|s| want.is_some_and(|w| s.contains(w))),
                "{mine:?}: {said:?}"
            );
        }
        assert_eq!(key_binding(&token(r#"{"sub":"a"}"#), Some("K1")), None);
        assert_eq!(key_binding(&Decoded::Opaque, Some("K1")), None);
    }
}
