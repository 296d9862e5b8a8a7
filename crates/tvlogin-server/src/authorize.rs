//! The authorization code grant for native apps: `/authorize` (RFC 6749 §4.1) with PKCE S256
//! required (RFC 7636), redirects only to a loopback IP literal on any port (RFC 8252 §7.3),
//! a consent page with Approve and Deny, the issuer in every authorization response
//! (RFC 9207), and the code exchanged once at `/token` with its `code_verifier` checked.
//!
//! Pending consents and issued codes live here, behind their own lock in [`Shared`]; tokens are
//! minted by the server state like any other grant's.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Map, Value};
use url::{Host, Url};

use super::config::ClientRegistration;
use super::page;
use super::random;
use super::reply::{ErrorKind, OAuthError};
use super::request::Form;
use super::shared::Shared;
use super::state::Clock;

/// How long a consent page may stay open before its request is forgotten.
const CONSENT_TTL: Duration = Duration::from_secs(600);
/// How long an authorization code lives (RFC 6749 §4.1.2 recommends at most 10 minutes).
const CODE_TTL: Duration = Duration::from_secs(60);
/// The most consents and codes kept; the oldest go first.
const MAX_PENDING: usize = 256;

/// A validated authorization request, waiting for the person's decision or its code's
/// exchange.
#[derive(Debug, Clone)]
struct Request {
    client_id: String,
    redirect_uri: Url,
    scope: String,
    state: Option<String>,
    code_challenge: String,
    nonce: Option<String>,
}

#[derive(Debug)]
struct IssuedCode {
    request: Request,
    issued: Instant,
    auth_time: u64,
    used: bool,
}

/// Consents shown and codes issued.
#[derive(Debug, Default)]
pub(crate) struct Authorizations {
    consents: HashMap<String, (Request, Instant)>,
    codes: HashMap<String, IssuedCode>,
    /// Code exchanges refused because the `code_verifier` did not match (tests read it).
    pub(crate) verifier_mismatches: u32,
}

/// Whether `uri` is a redirect this server sends codes to: `http` to a loopback IP literal,
/// any port, no fragment (RFC 8252 §7.3; `localhost` is not recommended, §8.3).
fn loopback_redirect(uri: &str) -> Option<Url> {
    let url = Url::parse(uri).ok()?;
    let loopback = match url.host()? {
        Host::Ipv4(ip) => IpAddr::V4(ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(ip).is_loopback(),
        Host::Domain(_) => false,
    };
    (url.scheme() == "http" && loopback && url.fragment().is_none()).then_some(url)
}

/// The redirect carrying the answer: the parameters, the `state`, and `iss` (RFC 9207).
fn redirect(to: &Url, issuer: &str, state: Option<&str>, params: &[(&str, &str)]) -> Response {
    let mut url = to.clone();
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
        ],
    )
        .into_response()
}

fn error_redirect(
    to: &Url,
    issuer: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    redirect(
        to,
        issuer,
        state,
        &[("error", error), ("error_description", description)],
    )
}

/// An HTML page with the server's security headers; `form_to` is the redirect's origin,
/// which the consent form's answer goes on to (CSP `form-action` covers redirects).
fn html(status: StatusCode, body: String, form_to: Option<&Url>) -> Response {
    let mut policy = page::content_security_policy().to_owned();
    if let Some(to) = form_to {
        policy = policy.replace(
            "form-action 'self'",
            &format!("form-action 'self' {}", to.origin().ascii_serialization()),
        );
    }
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::X_FRAME_OPTIONS, "DENY".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn client<'a>(
    clients: &'a [ClientRegistration],
    id: Option<&str>,
) -> Option<&'a ClientRegistration> {
    clients.iter().find(|c| Some(c.client_id.as_str()) == id)
}

/// `GET /authorize`: check the request, then show the consent page. Problems with the client
/// or the redirect are shown here (never redirected to an unchecked address); the others go
/// back to the client as an error redirect.
pub(crate) fn show(sh: &Shared, query: &str) -> Response {
    let form = Form::parse_lenient(query.as_bytes());
    let issuer = &sh.env.issuer;
    let Some(registration) = client(sh.clients(), form.get("client_id")) else {
        return html(
            StatusCode::BAD_REQUEST,
            page::authorize_problem("The client_id is missing or unknown to this server."),
            None,
        );
    };
    let Some(redirect_uri) = form.get("redirect_uri").and_then(loopback_redirect) else {
        return html(
            StatusCode::BAD_REQUEST,
            page::authorize_problem(
                "The redirect_uri must be http://127.0.0.1:PORT/PATH (or [::1]): a loopback \
                 address on this computer, as RFC 8252 asks of native apps.",
            ),
            None,
        );
    };
    let state = form.get("state");
    let invalid = |why: &str| error_redirect(&redirect_uri, issuer, state, "invalid_request", why);
    if form.get("response_type") != Some("code") {
        return error_redirect(
            &redirect_uri,
            issuer,
            state,
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let Some(challenge) = form.get("code_challenge") else {
        return invalid("PKCE is required: send code_challenge with code_challenge_method=S256");
    };
    if form.get("code_challenge_method") != Some("S256") {
        return invalid("code_challenge_method must be S256");
    }
    // BASE64URL(SHA-256(...)) is 43 characters.
    if challenge.len() != 43 {
        return invalid("code_challenge is not a base64url SHA-256 value");
    }
    let scope = form
        .get("scope")
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "openid".to_owned());
    let request = Request {
        client_id: registration.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        scope,
        state: state.map(str::to_owned),
        code_challenge: challenge.to_owned(),
        nonce: form.get("nonce").map(str::to_owned),
    };
    let Ok(id) = random::b64url(24) else {
        return html(
            StatusCode::INTERNAL_SERVER_ERROR,
            page::authorize_problem("internal error"),
            None,
        );
    };
    let body = page::consent(&id, &registration.name, &request.scope, &redirect_uri);
    {
        let mut authz = sh.authz();
        let now = Instant::now();
        authz
            .consents
            .retain(|_, (_, at)| now.saturating_duration_since(*at) < CONSENT_TTL);
        evict_oldest(&mut authz.consents, |(_, at)| *at);
        authz.consents.insert(id, (request, now));
    }
    html(StatusCode::OK, body, Some(&redirect_uri))
}

fn evict_oldest<V>(map: &mut HashMap<String, V>, at: impl Fn(&V) -> Instant) {
    while map.len() >= MAX_PENDING {
        let Some(oldest) = map
            .iter()
            .min_by_key(|(_, v)| at(v))
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        map.remove(&oldest);
    }
}

/// `POST /authorize`: the person's decision, answered with the redirect.
pub(crate) fn decide(sh: &Shared, body: &[u8]) -> Response {
    let form = Form::parse_lenient(body);
    let taken = form
        .get("request")
        .and_then(|id| sh.authz().consents.remove(id));
    let Some((request, _)) = taken else {
        return html(
            StatusCode::BAD_REQUEST,
            page::authorize_problem(
                "This sign-in request is unknown or was already answered. Start again from the \
                 application.",
            ),
            None,
        );
    };
    let issuer = &sh.env.issuer;
    let state = request.state.as_deref();
    if form.get("action") != Some("approve") {
        return error_redirect(
            &request.redirect_uri,
            issuer,
            state,
            "access_denied",
            "The user denied the request.",
        );
    }
    let Ok(code) = random::b64url(32) else {
        return error_redirect(
            &request.redirect_uri,
            issuer,
            state,
            "server_error",
            "internal error",
        );
    };
    let to = request.redirect_uri.clone();
    let state = request.state.clone();
    {
        let mut authz = sh.authz();
        let now = Instant::now();
        authz
            .codes
            .retain(|_, c| now.saturating_duration_since(c.issued) < CODE_TTL);
        evict_oldest(&mut authz.codes, |c| c.issued);
        authz.codes.insert(
            code.clone(),
            IssuedCode {
                request,
                issued: now,
                auth_time: Clock::read().wall,
                used: false,
            },
        );
    }
    redirect(&to, issuer, state.as_deref(), &[("code", &code)])
}

/// `grant_type=authorization_code` at `/token`: the code once, to the client it was issued
/// to, with the same `redirect_uri`, and a `code_verifier` whose S256 is the challenge.
pub(crate) fn exchange(
    sh: &Shared,
    client: Result<&ClientRegistration, OAuthError>,
    form: &Form,
    clock: Clock,
) -> Result<Map<String, Value>, OAuthError> {
    let client = client?;
    let invalid_grant = |why: &str| OAuthError::with(ErrorKind::InvalidGrant, why.to_owned());
    let Some(code) = form.get("code") else {
        return Err(OAuthError::with(
            ErrorKind::InvalidRequest,
            "missing parameter code",
        ));
    };
    let (request, auth_time) = {
        let mut authz = sh.authz();
        let Some(issued) = authz.codes.get_mut(code) else {
            return Err(invalid_grant(
                "the authorization code is unknown or expired",
            ));
        };
        if issued.used {
            return Err(invalid_grant("the authorization code was already used"));
        }
        if clock.now.saturating_duration_since(issued.issued) >= CODE_TTL {
            return Err(invalid_grant("the authorization code expired"));
        }
        if issued.request.client_id != client.client_id {
            return Err(invalid_grant(
                "the authorization code was issued to another client",
            ));
        }
        if form.get("redirect_uri") != Some(issued.request.redirect_uri.as_str()) {
            return Err(invalid_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        let Some(verifier) = form.get("code_verifier") else {
            return Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                "missing parameter code_verifier (PKCE)",
            ));
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
        // RFC 7636 §4.1: 43 to 128 unreserved characters.
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        if !well_formed
            || verify_slices_are_equal(
                computed.as_bytes(),
                issued.request.code_challenge.as_bytes(),
            )
            .is_err()
        {
            authz.verifier_mismatches += 1;
            return Err(invalid_grant(
                "the code_verifier does not match the code_challenge",
            ));
        }
        issued.used = true;
        (issued.request.clone(), issued.auth_time)
    };
    sh.lock().mint_authorization_code(
        &sh.env,
        &request.client_id,
        &request.scope,
        request.nonce.as_deref(),
        auth_time,
        clock,
    )
}

/// The consent page body, for [`page`].
pub(crate) fn consent_body(id: &str, client_name: &str, scope: &str, redirect_uri: &Url) -> String {
    let mut body = String::from("<h1>Sign in to this application?</h1>");
    let _ = write!(
        body,
        "<p><strong>{}</strong> on this computer is asking to sign in as <strong>Demo User</strong> \
(demo@example.test).</p><p>It will be allowed to:</p><ul>",
        page::escape(client_name)
    );
    for s in scope.split_whitespace() {
        let _ = write!(body, "<li><code>{}</code></li>", page::escape(s));
    }
    let _ = write!(
        body,
        "</ul><p class=\"muted\">The answer goes back to <code>{}</code>.</p>\
<form method=\"post\" action=\"/authorize\">\
<input type=\"hidden\" name=\"request\" value=\"{}\">\
<div class=\"buttons\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\
<button class=\"deny\" type=\"submit\" name=\"action\" value=\"deny\">Deny</button></div></form>",
        page::escape(&redirect_uri.origin().ascii_serialization()),
        page::escape(id)
    );
    body
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn redirects_go_only_to_loopback_ip_literals() {
        for ok in [
            "http://127.0.0.1:49152/callback",
            "http://127.0.0.1/",
            "http://[::1]:8080/cb",
        ] {
            assert!(loopback_redirect(ok).is_some(), "{ok}");
        }
        for bad in [
            "https://127.0.0.1:1/cb",
            "http://localhost:8080/cb",
            "http://192.0.2.1:8080/cb",
            "http://evil.example/cb",
            "http://127.0.0.1:1/cb#frag",
            "javascript:alert(1)",
        ] {
            assert!(loopback_redirect(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_redirect_carries_state_and_iss() {
        let to = Url::parse("http://127.0.0.1:5/cb").unwrap();
        let r = redirect(&to, "http://127.0.0.1:9", Some("s t"), &[("code", "c")]);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let location = r.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(
            location,
            "http://127.0.0.1:5/cb?code=c&state=s+t&iss=http%3A%2F%2F127.0.0.1%3A9"
        );
    }
}
