//! One table per check: flows built by hand, the verdict and a piece of the evidence each
//! must give.

use std::collections::BTreeMap;

use super::*;
use crate::grade::Scenario;
use crate::grade::record::Endpoint;
use crate::grade::record::{Answer, Issued, Proof, Secrets, Seen};

const ISSUER: &str = "http://127.0.0.1:9";
const FORM: &str = "application/x-www-form-urlencoded";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A well-formed request of `kind` from the public client.
fn seen(kind: Kind) -> Seen {
    let (path, grant, names): (&str, Option<&str>, &[&str]) = match kind {
        Kind::DeviceAuthorization => ("/device_authorization", None, &["client_id", "scope"]),
        Kind::Poll => (
            "/token",
            Some(DEVICE_CODE_GRANT),
            &["grant_type", "device_code", "client_id"],
        ),
        Kind::Refresh => (
            "/token",
            Some("refresh_token"),
            &["grant_type", "refresh_token", "client_id"],
        ),
        Kind::Revocation => ("/revoke", None, &["token", "token_type_hint", "client_id"]),
        Kind::FollowedRedirect => ("/grade/redirected/1", None, &["client_id"]),
    };
    let mut shown = BTreeMap::new();
    shown.insert("client_id".to_owned(), "c".to_owned());
    if let Some(g) = grant {
        shown.insert("grant_type".to_owned(), g.to_owned());
    }
    if kind == Kind::Revocation {
        shown.insert("token_type_hint".to_owned(), "refresh_token".to_owned());
    }
    Seen {
        endpoint: Endpoint::of(path),
        method: "POST".into(),
        path: path.into(),
        query_names: Vec::new(),
        content_type: Some(FORM.into()),
        accept: Some("application/json".into()),
        body: BodyKind::Form,
        param_names: names.iter().map(|s| (*s).to_owned()).collect(),
        shown,
        auth: ClientAuth::IdOnly("c".into()),
        proof: None,
        wall: 1000,
        secrets: Secrets::default(),
    }
}

fn answer(outcome: &str) -> Answer {
    let status = match outcome {
        "tokens" => 200,
        "http_503" => 503,
        "http_429" => 429,
        "redirect" => 307,
        _ => 400,
    };
    Answer {
        status,
        outcome: outcome.into(),
        ..Answer::default()
    }
}

struct FlowBuilder(Flow);

fn flow(interval: Option<u64>) -> FlowBuilder {
    let mut f = FlowBuilder(Flow {
        number: 1,
        scenario: Scenario::Pending,
        started_unix: 0,
        issued: Issued {
            interval,
            expires_in: Some(600),
        },
        exchanges: Vec::new(),
    });
    f = f.with(
        0,
        Kind::DeviceAuthorization,
        seen(Kind::DeviceAuthorization),
        answer("issued"),
    );
    f
}

impl FlowBuilder {
    fn with(mut self, at_ms: u64, kind: Kind, seen: Seen, answer: Answer) -> Self {
        self.0.exchanges.push(Exchange {
            at: ms(at_ms),
            kind,
            seen,
            answer,
            token: None,
        });
        self
    }

    fn poll(self, at_ms: u64, outcome: &str) -> Self {
        self.with(at_ms, Kind::Poll, seen(Kind::Poll), answer(outcome))
    }

    /// Edit the last exchange.
    fn last(mut self, edit: impl FnOnce(&mut Exchange)) -> Self {
        if let Some(e) = self.0.exchanges.last_mut() {
            edit(e);
        }
        self
    }

    fn refresh(self, at_ms: u64, number: u32, newest: u32, outcome: &str) -> Self {
        self.with(at_ms, Kind::Refresh, seen(Kind::Refresh), answer(outcome))
            .last(|e| e.token = Some(TokenRef::Refresh { number, newest }))
    }

    fn run(&self, observed_ms: u64) -> Vec<Finding> {
        grade(&self.0, ISSUER, ms(observed_ms))
    }

    fn check(&self, id: &str) -> Finding {
        self.run(600_000)
            .into_iter()
            .find(|f| f.id == id)
            .expect("every check runs")
    }
}

/// Assert one check's verdict and that its evidence mentions `needle`.
#[track_caller]
fn expect(f: &FlowBuilder, id: &str, verdict: Verdict, needle: &str) {
    let got = f.check(id);
    assert_eq!(got.verdict, verdict, "{id}: {}", got.evidence);
    assert!(
        got.evidence.contains(needle),
        "{id}: evidence {:?} lacks {needle:?}",
        got.evidence
    );
}

/// A polite flow: interval 5, pending, pending, tokens.
fn polite() -> FlowBuilder {
    flow(Some(5))
        .poll(5_100, "authorization_pending")
        .poll(10_200, "authorization_pending")
        .poll(15_300, "tokens")
}

#[test]
fn a_polite_flow_passes_everything_it_exercises() {
    let findings = polite().run(20_000);
    assert_eq!(findings.len(), CHECKS.len());
    for (f, c) in findings.iter().zip(CHECKS.iter()) {
        assert_eq!(f.id, c.id, "report order is table order");
        assert_ne!(f.verdict, Verdict::Fail, "{}: {}", f.id, f.evidence);
    }
}

#[test]
fn shape_post() {
    expect(
        &polite(),
        "shape.post",
        Verdict::Pass,
        "4 requests, all POST",
    );
    let get = polite()
        .poll(20_400, "tokens")
        .last(|e| e.seen.method = "GET".into());
    expect(
        &get,
        "shape.post",
        Verdict::Fail,
        "poll 4 (t+20.40s): GET /token",
    );
}

#[test]
fn shape_form() {
    expect(&polite(), "shape.form", Verdict::Pass, "form-encoded");
    let table: [(&str, Option<&str>, BodyKind, &str); 4] = [
        (
            "json",
            Some("application/json"),
            BodyKind::Json,
            "a JSON body with Content-Type application/json",
        ),
        ("no type", None, BodyKind::Form, "Content-Type (none)"),
        ("empty", Some(FORM), BodyKind::Empty, "no body"),
        ("text", Some("text/plain"), BodyKind::Other, "text/plain"),
    ];
    for (label, ct, body, needle) in table {
        let f = polite().poll(20_400, "invalid_request").last(|e| {
            e.seen.content_type = ct.map(str::to_owned);
            e.seen.body = body;
        });
        let got = f.check("shape.form");
        assert_eq!(got.verdict, Verdict::Fail, "{label}");
        assert!(got.evidence.contains(needle), "{label}: {}", got.evidence);
    }
    let charset = polite().last(|e| e.seen.content_type = Some(format!("{FORM}; charset=UTF-8")));
    expect(&charset, "shape.form", Verdict::Pass, "form-encoded");
}

#[test]
fn shape_client_id() {
    expect(&polite(), "shape.client-id", Verdict::Pass, "identified");
    let f = polite().last(|e| e.seen.auth = ClientAuth::Missing);
    expect(
        &f,
        "shape.client-id",
        Verdict::Fail,
        "poll 3 (t+15.30s) had neither",
    );
    let basic = polite().last(|e| e.seen.auth = ClientAuth::Basic("c".into()));
    assert_eq!(basic.check("shape.client-id").verdict, Verdict::Pass);
}

#[test]
fn shape_grant_type() {
    expect(
        &polite(),
        "shape.grant-type",
        Verdict::Pass,
        "3 token requests",
    );
    for (bad, needle) in [
        (Some("device_code"), "\"device_code\""),
        (Some("URN:IETF:PARAMS:OAUTH:GRANT-TYPE:DEVICE_CODE"), "URN"),
        (None, "(none)"),
    ] {
        let f = polite().last(|e| match bad {
            Some(g) => {
                e.seen.shown.insert("grant_type".into(), g.into());
            }
            None => {
                e.seen.shown.remove("grant_type");
            }
        });
        expect(&f, "shape.grant-type", Verdict::Fail, needle);
    }
    let refresh = polite().refresh(20_000, 1, 1, "tokens").last(|e| {
        e.seen.shown.insert("grant_type".into(), "refresh".into());
    });
    expect(
        &refresh,
        "shape.grant-type",
        Verdict::Fail,
        "refresh (t+20.00s)",
    );
    let none = flow(Some(5));
    expect(&none, "shape.grant-type", Verdict::NotExercised, "no poll");
}

#[test]
fn shape_no_query_secrets() {
    expect(
        &polite(),
        "shape.no-query-secrets",
        Verdict::Pass,
        "no secret",
    );
    for name in ["client_secret", "device_code", "refresh_token", "token"] {
        let f = polite().last(|e| e.seen.query_names = vec!["x".into(), name.into()]);
        expect(
            &f,
            "shape.no-query-secrets",
            Verdict::Fail,
            &format!("carried {name} in the URL"),
        );
    }
    let harmless = polite().last(|e| e.seen.query_names = vec!["scope".into()]);
    assert_eq!(
        harmless.check("shape.no-query-secrets").verdict,
        Verdict::Pass
    );
}

#[test]
fn shape_accept_json() {
    let table: [(Option<&str>, bool); 9] = [
        (None, true),
        (Some("application/json"), true),
        (Some("*/*"), true),
        (Some("application/*"), true),
        (Some("text/html, application/json;q=0.9"), true),
        (Some("application/problem+json"), true),
        (Some("text/html"), false),
        (Some("application/x-www-form-urlencoded"), false),
        (Some("application/json;q=0"), false),
    ];
    for (accept, ok) in table {
        assert_eq!(accepts_json(accept), ok, "{accept:?}");
    }
    let f = polite().last(|e| e.seen.accept = Some("text/html".into()));
    expect(&f, "shape.accept-json", Verdict::Fail, "Accept: text/html");
}

#[test]
fn pacing_interval() {
    expect(&polite(), "pacing.interval", Verdict::Pass, "2 gaps judged");
    // 4.80 s is within the 0.25 s tolerance of 5 s; 4.70 s is not.
    let close = flow(Some(5))
        .poll(5_000, "authorization_pending")
        .poll(9_800, "tokens");
    expect(&close, "pacing.interval", Verdict::Pass, "tolerance 0.25s");
    let early = flow(Some(5))
        .poll(5_000, "authorization_pending")
        .poll(9_700, "tokens");
    expect(
        &early,
        "pacing.interval",
        Verdict::Fail,
        "poll 2 (t+9.70s) came 4.70s after poll 1 (t+5.00s) (interval 5.00s)",
    );
    let one = flow(Some(5)).poll(5_000, "tokens");
    expect(
        &one,
        "pacing.interval",
        Verdict::NotExercised,
        "fewer than two polls",
    );
    let no_interval = flow(None)
        .poll(5_000, "authorization_pending")
        .poll(10_000, "tokens");
    expect(
        &no_interval,
        "pacing.interval",
        Verdict::NotExercised,
        "no interval",
    );
}

#[test]
fn pacing_slow_down() {
    // interval 2 → slow_down → 7 → slow_down → 12, kept.
    let good = flow(Some(2))
        .poll(2_000, "slow_down")
        .poll(9_000, "slow_down")
        .poll(21_000, "authorization_pending")
        .poll(33_000, "tokens");
    expect(&good, "pacing.slow-down", Verdict::Pass, "3 gaps judged");
    expect(
        &good,
        "pacing.interval",
        Verdict::NotExercised,
        "fewer than two polls",
    );
    let ignored = flow(Some(2)).poll(2_000, "slow_down").poll(4_000, "tokens");
    expect(
        &ignored,
        "pacing.slow-down",
        Verdict::Fail,
        "came 2.00s after poll 1 (t+2.00s) (interval 7.00s after slow_down)",
    );
    // Kept afterwards: going back to the old interval fails.
    let dropped = flow(Some(2))
        .poll(2_000, "slow_down")
        .poll(9_000, "authorization_pending")
        .poll(11_000, "tokens");
    expect(&dropped, "pacing.slow-down", Verdict::Fail, "poll 3");
    // A slow_down's own larger interval (GitHub) is what counts.
    let github = flow(Some(2))
        .poll(2_000, "slow_down")
        .last(|e| e.answer.interval = Some(10))
        .poll(9_000, "tokens");
    expect(
        &github,
        "pacing.slow-down",
        Verdict::Fail,
        "interval 10.00s",
    );
    expect(
        &polite(),
        "pacing.slow-down",
        Verdict::NotExercised,
        "no slow_down",
    );
}

#[test]
fn pacing_default_interval() {
    let good = flow(None)
        .poll(5_000, "authorization_pending")
        .poll(10_000, "tokens");
    expect(
        &good,
        "pacing.default-interval",
        Verdict::Pass,
        "1 gap judged",
    );
    let bad = flow(None)
        .poll(1_000, "authorization_pending")
        .poll(2_000, "tokens");
    expect(
        &bad,
        "pacing.default-interval",
        Verdict::Fail,
        "came 1.00s after poll 1 (t+1.00s) (interval 5.00s)",
    );
    expect(
        &polite(),
        "pacing.default-interval",
        Verdict::NotExercised,
        "sent an interval",
    );
}

#[test]
fn pacing_stop_on_error() {
    expect(
        &polite(),
        "pacing.stop-on-error",
        Verdict::Pass,
        "no poll after poll 3 (t+15.30s) answered tokens",
    );
    let after_denied = flow(Some(5))
        .poll(5_000, "access_denied")
        .poll(10_000, "invalid_grant");
    expect(
        &after_denied,
        "pacing.stop-on-error",
        Verdict::Fail,
        "poll 2 (t+10.00s) came after poll 1 (t+5.00s) answered access_denied",
    );
    let after_tokens = polite().poll(20_400, "invalid_grant");
    expect(
        &after_tokens,
        "pacing.stop-on-error",
        Verdict::Fail,
        "answered tokens",
    );
    // Transient answers and redirects are not terminal.
    let transient = flow(Some(5))
        .poll(5_000, "http_503")
        .poll(12_000, "authorization_pending");
    expect(
        &transient,
        "pacing.stop-on-error",
        Verdict::NotExercised,
        "no poll got",
    );
}

#[test]
fn pacing_stop_at_expiry() {
    let mut f = flow(Some(2));
    f.0.issued.expires_in = Some(8);
    let f = f
        .poll(2_000, "authorization_pending")
        .poll(4_000, "authorization_pending")
        .poll(6_000, "authorization_pending");
    expect(
        &f,
        "pacing.stop-at-expiry",
        Verdict::Pass,
        "no poll after expires_in 8s",
    );
    assert_eq!(
        f.run(8_500)
            .iter()
            .find(|x| x.id == "pacing.stop-at-expiry")
            .map(|x| x.verdict),
        Some(Verdict::NotExercised)
    );
    let late = f.poll(9_500, "expired_token").poll(11_500, "expired_token");
    expect(
        &late,
        "pacing.stop-at-expiry",
        Verdict::Fail,
        "poll 4 (t+9.50s) came after expires_in 8s",
    );
    expect(
        &polite(),
        "pacing.stop-at-expiry",
        Verdict::NotExercised,
        "before the code expired",
    );
}

#[test]
fn pacing_backoff() {
    let honoured = flow(Some(1))
        .poll(1_000, "authorization_pending")
        .poll(2_000, "http_503")
        .last(|e| e.answer.retry_after = Some(3))
        .poll(5_100, "http_429")
        .last(|e| e.answer.retry_after = Some(3))
        .poll(8_200, "tokens");
    expect(&honoured, "pacing.backoff", Verdict::Pass, "2 gaps judged");
    expect(&honoured, "pacing.interval", Verdict::Pass, "1 gap judged");
    let ignored = flow(Some(1))
        .poll(1_000, "http_503")
        .last(|e| e.answer.retry_after = Some(3))
        .poll(2_000, "tokens");
    expect(
        &ignored,
        "pacing.backoff",
        Verdict::Fail,
        "came 1.00s after HTTP 503 (Retry-After 3)",
    );
    expect(&polite(), "pacing.backoff", Verdict::NotExercised, "no 5xx");
}

#[test]
fn tokens_newest_refresh() {
    let good = polite()
        .refresh(20_000, 1, 1, "tokens")
        .refresh(21_000, 2, 2, "tokens");
    expect(
        &good,
        "tokens.newest-refresh",
        Verdict::Pass,
        "1 refresh after a rotation",
    );
    let reuse = polite()
        .refresh(20_000, 1, 1, "tokens")
        .refresh(21_000, 1, 2, "invalid_grant")
        .last(|e| e.answer.provoked = Some("reuse"));
    expect(
        &reuse,
        "tokens.newest-refresh",
        Verdict::Fail,
        "refresh (t+21.00s) presented refresh token #1 after #2 had replaced it; answered invalid_grant and the whole token family was revoked",
    );
    let once = polite().refresh(20_000, 1, 1, "tokens");
    expect(
        &once,
        "tokens.newest-refresh",
        Verdict::NotExercised,
        "no refresh after a rotation",
    );
}

#[test]
fn tokens_revocation() {
    let revoke = |hint: Option<&str>, token: TokenRef| {
        polite()
            .with(
                30_000,
                Kind::Revocation,
                seen(Kind::Revocation),
                answer("http_200"),
            )
            .last(move |e| {
                e.token = Some(token);
                match hint {
                    Some(h) => {
                        e.seen.shown.insert("token_type_hint".into(), h.into());
                    }
                    None => {
                        e.seen.shown.remove("token_type_hint");
                    }
                }
            })
    };
    let rt = TokenRef::Refresh {
        number: 1,
        newest: 1,
    };
    let at = TokenRef::Access { number: 1 };
    expect(
        &revoke(Some("refresh_token"), rt),
        "tokens.revocation",
        Verdict::Pass,
        "refresh token #1 (hint refresh_token",
    );
    expect(
        &revoke(None, at),
        "tokens.revocation",
        Verdict::Pass,
        "access token #1 (no hint",
    );
    expect(
        &revoke(Some("access_token"), rt),
        "tokens.revocation",
        Verdict::Fail,
        "refresh token #1 with token_type_hint \"access_token\"",
    );
    expect(
        &revoke(Some("refresh"), at),
        "tokens.revocation",
        Verdict::Fail,
        "\"refresh\"",
    );
    let no_token = revoke(None, rt).last(|e| e.seen.param_names.retain(|n| n != "token"));
    expect(
        &no_token,
        "tokens.revocation",
        Verdict::Fail,
        "no token parameter",
    );
    expect(
        &polite(),
        "tokens.revocation",
        Verdict::NotExercised,
        "no revocation",
    );
}

#[test]
fn tokens_client_auth() {
    expect(
        &polite(),
        "tokens.client-auth",
        Verdict::Pass,
        "4 requests as \"c\" with none",
    );
    let switched = polite().last(|e| e.seen.auth = ClientAuth::Post("c".into()));
    expect(
        &switched,
        "tokens.client-auth",
        Verdict::Fail,
        "poll 3 (t+15.30s) authenticated as \"c\" with client_secret_post",
    );
    let other = polite().last(|e| e.seen.auth = ClientAuth::IdOnly("d".into()));
    expect(&other, "tokens.client-auth", Verdict::Fail, "as \"d\"");
    let both = polite().last(|e| e.seen.auth = ClientAuth::Both("c".into()));
    expect(
        &both,
        "tokens.client-auth",
        Verdict::Fail,
        "HTTP Basic and client_secret in the body at once",
    );
}

fn proof(jkt: &str, jti: &str, htu: &str) -> Proof {
    Proof {
        malformed: false,
        typ: Some("dpop+jwt".into()),
        alg: Some("ES256".into()),
        jkt: Some(jkt.into()),
        private_jwk: false,
        htm: Some("POST".into()),
        htu: Some(format!("{ISSUER}{htu}")),
        iat: Some(1000),
        jti: Some(jti.into()),
        nonce: None,
    }
}

/// Device authorization and two polls, each with a proof of key `k`.
fn dpop_flow() -> FlowBuilder {
    flow(Some(5))
        .last(|e| e.seen.proof = Some(proof("k", "j0", "/device_authorization")))
        .poll(5_000, "authorization_pending")
        .last(|e| e.seen.proof = Some(proof("k", "j1", "/token")))
        .poll(10_000, "tokens")
        .last(|e| e.seen.proof = Some(proof("k", "j2", "/token")))
}

#[test]
fn dpop_checks_only_when_proofs_are_sent() {
    for id in [
        "dpop.every-request",
        "dpop.same-key",
        "dpop.fresh-jti",
        "dpop.claims",
        "dpop.nonce",
    ] {
        expect(&polite(), id, Verdict::NotExercised, "no DPoP proof");
    }
    let f = dpop_flow();
    expect(&f, "dpop.every-request", Verdict::Pass, "3 requests");
    expect(&f, "dpop.same-key", Verdict::Pass, "key k");
    expect(
        &f,
        "dpop.fresh-jti",
        Verdict::Pass,
        "3 proofs, each with its own jti",
    );
    expect(&f, "dpop.claims", Verdict::Pass, "3 proofs");
    expect(
        &f,
        "dpop.nonce",
        Verdict::NotExercised,
        "no use_dpop_nonce challenge",
    );
}

#[test]
fn dpop_every_request() {
    let missing = dpop_flow().last(|e| e.seen.proof = None);
    expect(
        &missing,
        "dpop.every-request",
        Verdict::Fail,
        "poll 2 (t+10.00s) carried no DPoP proof",
    );
}

#[test]
fn dpop_same_key() {
    let other = dpop_flow().last(|e| e.seen.proof = Some(proof("k2", "j2", "/token")));
    expect(
        &other,
        "dpop.same-key",
        Verdict::Fail,
        "poll 2 (t+10.00s) used key k2, device authorization (t+0.00s) used key k",
    );
}

#[test]
fn dpop_fresh_jti() {
    let again = dpop_flow().last(|e| e.seen.proof = Some(proof("k", "j1", "/token")));
    expect(
        &again,
        "dpop.fresh-jti",
        Verdict::Fail,
        "poll 2 (t+10.00s) re-used the jti of poll 1",
    );
}

#[test]
fn dpop_claims() {
    type Edit = fn(&mut Proof);
    let table: [(Edit, &str); 7] = [
        (|p| p.typ = Some("JWT".into()), "typ is \"JWT\""),
        (|p| p.alg = Some("HS256".into()), "alg \"HS256\""),
        (|p| p.private_jwk = true, "private key"),
        (|p| p.htm = Some("GET".into()), "htm \"GET\""),
        (|p| p.htu = Some(format!("{ISSUER}/token?x=1")), "htu"),
        (|p| p.iat = Some(1000 - 61), "more than 60s"),
        (|p| p.malformed = true, "not a JWT"),
    ];
    for (edit, needle) in table {
        let f = dpop_flow().last(|e| {
            if let Some(p) = e.seen.proof.as_mut() {
                edit(p);
            }
        });
        expect(&f, "dpop.claims", Verdict::Fail, needle);
    }
}

#[test]
fn dpop_nonce() {
    let challenged = |carry: bool| {
        flow(Some(5))
            .last(|e| e.seen.proof = Some(proof("k", "j0", "/device_authorization")))
            .poll(5_000, "use_dpop_nonce")
            .last(|e| {
                e.seen.proof = Some(proof("k", "j1", "/token"));
                e.answer.nonce = Some("N".into());
            })
            .poll(5_100, "tokens")
            .last(move |e| {
                let mut p = proof("k", "j2", "/token");
                if carry {
                    p.nonce = Some("N".into());
                }
                e.seen.proof = Some(p);
            })
    };
    expect(
        &challenged(true),
        "dpop.nonce",
        Verdict::Pass,
        "1 retry after use_dpop_nonce",
    );
    // The immediate retry after use_dpop_nonce is no pacing fault.
    assert_ne!(
        challenged(true).check("pacing.interval").verdict,
        Verdict::Fail
    );
    expect(
        &challenged(false),
        "dpop.nonce",
        Verdict::Fail,
        "poll 2 (t+5.10s) did not carry the DPoP-Nonce of the use_dpop_nonce answer to poll 1",
    );
    // A later request (another process's refresh) need not carry a nonce nobody demanded.
    let later = challenged(true)
        .refresh(9_000, 1, 1, "tokens")
        .last(|e| e.seen.proof = Some(proof("k", "j3", "/token")));
    expect(&later, "dpop.nonce", Verdict::Pass, "1 retry");
    // A nonce sent with an ordinary answer is no challenge.
    let offered = dpop_flow().last(|e| e.answer.nonce = Some("N".into()));
    expect(
        &offered,
        "dpop.nonce",
        Verdict::NotExercised,
        "no use_dpop_nonce challenge",
    );
}

#[test]
fn redirect_not_followed() {
    let probed = flow(Some(5))
        .poll(5_000, "redirect")
        .last(|e| e.answer.provoked = Some("redirect"));
    expect(
        &probed,
        "redirect.not-followed",
        Verdict::Pass,
        "the 307 answered to poll 1 (t+5.00s) was not followed",
    );
    let followed = probed.with(
        5_050,
        Kind::FollowedRedirect,
        seen(Kind::FollowedRedirect),
        answer("invalid_request"),
    );
    expect(
        &followed,
        "redirect.not-followed",
        Verdict::Fail,
        "POST /grade/redirected/1 at t+5.05s",
    );
    expect(
        &polite(),
        "redirect.not-followed",
        Verdict::NotExercised,
        "no redirect probe",
    );
}
