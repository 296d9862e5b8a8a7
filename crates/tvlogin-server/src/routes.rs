//! HTTP routing and the request handlers. Handlers parse, take the state lock briefly
//! (never across an `.await`), and encode the answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream;
use serde_json::json;

use super::config::Fault;
use super::config::{ClientAuthMethod, ClientRegistration};
use super::dpop::{self, DpopMode};
use super::limits::{Limits, Peer, body_guard};
use super::log::{RequestLog, log_requests};
use super::page;
use super::quirks;
use super::reply::{self, Endpoint, ErrorKind, OAuthError, Wire};
use super::request::{self, Form, authenticate};
use super::shared::Shared;
use super::state::{Clock, DecisionError};

/// RFC 8628 §3.4 grant type.
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

type AppState = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>, limits: Limits, log: Option<RequestLog>) -> Router {
    let routes = Router::new()
        .route("/", get(index))
        .route("/.well-known/openid-configuration", get(openid_discovery))
        .route(
            "/.well-known/oauth-authorization-server",
            get(rfc8414_discovery),
        )
        .route("/device_authorization", post(device_authorization))
        .route("/token", post(token))
        .route("/jwks", get(jwks))
        .route("/revoke", post(revoke))
        .route("/introspect", post(introspect))
        .route("/userinfo", get(userinfo).post(userinfo))
        .route("/device", get(device_page).post(device_submit))
        .route("/api/me", axum::routing::any(api_me))
        .route("/authorize", get(authorize_page).post(authorize_submit))
        .fallback(not_found);
    // Inside the body guard: the log reads a body that is already in memory.
    let routes = match log {
        Some(log) => routes.layer(axum::middleware::from_fn_with_state(log, log_requests)),
        None => routes,
    };
    routes
        .layer(axum::middleware::from_fn_with_state(limits, body_guard))
        .layer(axum::Extension(limits))
        .with_state(shared)
}

async fn index(State(sh): AppState) -> Response {
    html(StatusCode::OK, page::index(&sh.env.issuer))
}

async fn not_found() -> Response {
    reply::json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": "not_found", "error_description": "no such endpoint" }),
    )
}

/// OpenID Connect Discovery 1.0 metadata.
async fn openid_discovery(State(sh): AppState) -> Response {
    discovery(&sh, false)
}

/// RFC 8414 metadata.
async fn rfc8414_discovery(State(sh): AppState) -> Response {
    discovery(&sh, true)
}

/// The metadata document: the same at both well-known paths, unless the knobs leave the
/// device endpoint out of both or the revocation and introspection endpoints out of the
/// OpenID one.
fn discovery(sh: &Shared, rfc8414: bool) -> Response {
    let iss = &sh.env.issuer;
    let knobs = &sh.env.cfg.knobs;
    let auth_methods = ["none", "client_secret_basic", "client_secret_post"];
    let mut body = json!({
        "issuer": iss,
        "device_authorization_endpoint": format!("{iss}/device_authorization"),
        "token_endpoint": format!("{iss}/token"),
        "jwks_uri": format!("{iss}/jwks"),
        "revocation_endpoint": format!("{iss}/revoke"),
        "introspection_endpoint": format!("{iss}/introspect"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "authorization_endpoint": format!("{iss}/authorize"),
        "grant_types_supported": [DEVICE_CODE_GRANT, "authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "name", "email", "email_verified", "preferred_username"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "subject_types_supported": ["public"],
    });
    if knobs.dpop != DpopMode::Off {
        body["dpop_signing_alg_values_supported"] = json!(dpop::ALGS);
    }
    if let Some(fields) = body.as_object_mut() {
        if knobs.discovery_without_device_endpoint {
            fields.remove("device_authorization_endpoint");
        }
        if knobs.management_endpoints_only_in_rfc8414 && !rfc8414 {
            for name in [
                "revocation_endpoint",
                "introspection_endpoint",
                "revocation_endpoint_auth_methods_supported",
                "introspection_endpoint_auth_methods_supported",
            ] {
                fields.remove(name);
            }
        }
    }
    reply::json_response(StatusCode::OK, &body)
}

/// The form body of an OAuth request, under the knobs' stricter content-type rule.
fn parse_form(sh: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
    if sh.env.cfg.knobs.strict_form_content_type {
        request::exact_form_content_type(headers)?;
    }
    Form::parse(headers, body)
}

/// The authenticated client of an OAuth request, under the knobs' rule that HTTP Basic
/// clients repeat their `client_id` in the body.
fn client_of<'a>(
    sh: &'a Shared,
    headers: &HeaderMap,
    form: &Form,
) -> Result<&'a ClientRegistration, OAuthError> {
    if sh.env.cfg.knobs.client_id_required_with_basic {
        request::body_client_id_with_basic(headers, form)?;
    }
    authenticate(sh.clients(), headers, form)
}

/// The wire encoding of an endpoint's answers, with the knobs applied.
fn wire(sh: &Shared, endpoint: Endpoint, headers: &HeaderMap) -> Wire {
    let mut wire = Wire::new(sh.env.cfg.quirks, endpoint, headers);
    wire.errors_with_200 = sh.env.cfg.knobs.errors_with_200;
    wire
}

async fn jwks(State(sh): AppState) -> Response {
    reply::json_response(StatusCode::OK, &sh.env.keys.jwks())
}

/// RFC 8628 §3.1–3.2.
async fn device_authorization(
    State(sh): AppState,
    axum::Extension(limits): axum::Extension<Limits>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let peer = peer.map(|axum::Extension(Peer(ip))| ip);
    let wire = wire(&sh, Endpoint::DeviceAuthorization, &headers);
    let jkt = match as_proof(&sh, &headers, "/device_authorization") {
        Ok(jkt) => jkt,
        Err(refusal) => return *refusal,
    };
    let result = parse_form(&sh, &headers, &body).and_then(|form| {
        let client = client_of(&sh, &headers, &form)?;
        device_grant_allowed(&sh.env.cfg.knobs)?;
        let audience = requested_audience(&form)?;
        sh.lock().device_authorization(
            &sh.env,
            client,
            form.get("scope"),
            audience,
            (peer, &limits),
            Clock::read(),
        )
    });
    if let (Ok(body), Some(jkt)) = (&result, jkt)
        && let Some(code) = body.get("device_code").and_then(serde_json::Value::as_str)
    {
        sh.lock().bind_device_code(code, jkt);
    }
    match result {
        Ok(body) => reply::success(wire, body),
        Err(e) => reply::error(wire, &e),
    }
}

/// The DPoP proof of a request to `path` at the authorization server, checked as the
/// server's mode says: the key's thumbprint, `None` without a proof where one is optional (or
/// DPoP is off), or the refusal to answer with (RFC 9449 §7.1, §8). A refused proof is not a
/// poll: nothing is recorded.
fn as_proof(sh: &Shared, headers: &HeaderMap, path: &str) -> Result<Option<String>, Box<Response>> {
    let knobs = &sh.env.cfg.knobs;
    if knobs.dpop == DpopMode::Off {
        return Ok(None);
    }
    let nonce = |sh: &Shared| {
        knobs
            .dpop_nonce
            .then(|| sh.lock().dpop.current_nonce(Instant::now()))
    };
    let proof = match dpop::proof_header(headers) {
        Ok(Some(proof)) => proof,
        Ok(None) if knobs.dpop == DpopMode::Required => {
            let e = dpop::ProofError::Invalid("this server requires a DPoP proof".into());
            return Err(Box::new(dpop::as_refusal(&e, nonce(sh))));
        }
        Ok(None) => return Ok(None),
        Err(e) => return Err(Box::new(dpop::as_refusal(&e, nonce(sh)))),
    };
    let url = format!("{}{path}", sh.env.issuer);
    let clock = Clock::read();
    let checked = dpop::validate(
        &mut sh.lock().dpop,
        proof,
        dpop::Expect {
            method: "POST",
            url: &url,
            access_token: None,
            require_nonce: knobs.dpop_nonce,
        },
        clock.wall,
        clock.now,
    );
    checked
        .map(Some)
        .map_err(|e| Box::new(dpop::as_refusal(&e, nonce(sh))))
}

/// A protected resource for `tvlogin api` and its tests (RFC 9449 §7): `Authorization: Bearer`
/// for unbound access tokens, `Authorization: DPoP` plus a proof with `ath` (and the server's
/// nonce, with the `dpop-nonce` knob) for bound ones. Answers who the token is for, the
/// method, and the body it was sent.
async fn api_me(
    State(sh): AppState,
    method: axum::http::Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let knobs = &sh.env.cfg.knobs;
    let nonce = |sh: &Shared| {
        knobs
            .dpop_nonce
            .then(|| sh.lock().dpop.current_nonce(Instant::now()))
    };
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .map(|(scheme, token)| (scheme.to_ascii_lowercase(), token.trim().to_owned()));
    let Some((scheme, token)) = credentials.filter(|(s, _)| s == "dpop" || s == "bearer") else {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("DPoP algs=\"ES256 EdDSA Ed25519\", Bearer realm=\"tvlogin\""),
        );
        return response;
    };
    let clock = Clock::read();
    let binding = sh.lock().access_binding(&token, clock);
    let Some(binding) = binding else {
        return dpop::rs_refusal(
            "invalid_token",
            "The access token is invalid, expired or revoked",
            None,
        );
    };
    let mut bound = false;
    if let Some(jkt) = binding {
        if scheme != "dpop" {
            return dpop::rs_refusal(
                "invalid_token",
                "The access token is DPoP-bound: send it as Authorization: DPoP with a proof",
                None,
            );
        }
        let proof = match dpop::proof_header(&headers) {
            Ok(Some(proof)) => proof,
            Ok(None) => {
                return dpop::rs_refusal("invalid_dpop_proof", "A DPoP proof is required", None);
            }
            Err(_) => {
                return dpop::rs_refusal("invalid_dpop_proof", "More than one DPoP header", None);
            }
        };
        let url = format!("{}/api/me", sh.env.issuer);
        let checked = dpop::validate(
            &mut sh.lock().dpop,
            proof,
            dpop::Expect {
                method: method.as_str(),
                url: &url,
                access_token: Some(&token),
                require_nonce: knobs.dpop_nonce,
            },
            clock.wall,
            clock.now,
        );
        match checked {
            Ok(key) if key == jkt => bound = true,
            Ok(_) => {
                return dpop::rs_refusal(
                    "invalid_token",
                    "The proof is signed by another key than the token is bound to",
                    None,
                );
            }
            Err(dpop::ProofError::UseNonce) => {
                return dpop::rs_refusal(
                    "use_dpop_nonce",
                    "Resource server requires nonce in DPoP proof",
                    nonce(&sh),
                );
            }
            Err(dpop::ProofError::Invalid(why)) => {
                return dpop::rs_refusal("invalid_dpop_proof", &why, None);
            }
        }
    }
    reply::json_response(
        StatusCode::OK,
        &json!({
            "sub": super::state::SUBJECT,
            "method": method.as_str(),
            "dpop": bound,
            "body": String::from_utf8_lossy(&body),
        }),
    )
}

/// The `device-grant-blocked` knob: the client is known and authenticated, but policy forbids
/// it the device grant (Entra's "block device code flow" answers `unauthorized_client`).
fn device_grant_allowed(knobs: &crate::config::Knobs) -> Result<(), OAuthError> {
    if knobs.device_grant_blocked {
        return Err(OAuthError::with(
            ErrorKind::UnauthorizedClient,
            "The device code flow is blocked for this client by policy.".to_owned(),
        ));
    }
    Ok(())
}

/// `audience` (Auth0 style) and RFC 8707 `resource` values, deduplicated.
fn requested_audience(form: &Form) -> Result<Vec<String>, OAuthError> {
    let mut audience: Vec<String> = Vec::new();
    for resource in form.all("resource") {
        // RFC 8707 §2: an absolute URI without a fragment.
        let ok = url::Url::parse(resource).is_ok_and(|u| u.fragment().is_none());
        if !ok {
            return Err(OAuthError::with(
                ErrorKind::InvalidTarget,
                format!("resource {resource:?} is not an absolute URI without fragment"),
            ));
        }
    }
    for value in form.get("audience").into_iter().chain(form.all("resource")) {
        if !audience.iter().any(|a| a == value) {
            audience.push(value.to_owned());
        }
    }
    Ok(audience)
}

/// RFC 6749 §5 / RFC 8628 §3.4–3.5, with the fault queue applied first.
async fn token(State(sh): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let wire = wire(&sh, Endpoint::Token, &headers);
    let form = parse_form(&sh, &headers, &body);
    let fault = sh.lock().pop_fault();
    if let Some(fault) = fault {
        if let Fault::Delay(pause) = fault {
            // Then answer normally, as if the request had arrived now.
            tokio::time::sleep(pause).await;
        } else {
            let (status, response) = fault_response(&fault);
            if let Ok(form) = &form {
                let now = Instant::now();
                let mut state = sh.lock();
                match form.get("grant_type") {
                    Some(DEVICE_CODE_GRANT) => state.record_fault_poll(
                        &sh.env.cfg,
                        form.get("device_code"),
                        &fault,
                        status,
                        now,
                    ),
                    Some("refresh_token") => state.record_fault_refresh(&fault, now),
                    _ => {}
                }
            }
            return response;
        }
    }
    let clock = Clock::read();
    let form = match form {
        Ok(form) => form,
        Err(e) => return reply::error(wire, &e),
    };
    let client = client_of(&sh, &headers, &form);
    let is_refresh = form.get("grant_type") == Some("refresh_token");
    let jkt = match as_proof(&sh, &headers, "/token") {
        Ok(jkt) => jkt,
        Err(refusal) => return *refusal,
    };
    let result = match form.get("grant_type") {
        Some(DEVICE_CODE_GRANT) => {
            let mut state = sh.lock();
            state
                .check_poll_key(form.get("device_code"), jkt.as_deref())
                .and_then(|()| state.device_poll(&sh.env, client, form.get("device_code"), clock))
        }
        Some("refresh_token") => {
            let mut state = sh.lock();
            state
                .check_refresh_key(form.get("refresh_token"), jkt.as_deref(), clock.now)
                .and_then(|()| {
                    state.refresh(
                        &sh.env,
                        client,
                        form.get("refresh_token"),
                        form.get("scope"),
                        clock,
                    )
                })
        }
        Some("authorization_code") => super::authorize::exchange(&sh, client, &form, clock),
        Some(other) => client.and_then(|_| {
            Err(OAuthError::with(
                ErrorKind::UnsupportedGrantType,
                format!("grant_type {other} is not supported"),
            ))
        }),
        None => client.and_then(|_| {
            Err(OAuthError::with(
                ErrorKind::InvalidRequest,
                "missing parameter grant_type",
            ))
        }),
    };
    let knobs = &sh.env.cfg.knobs;
    if is_refresh && let Some(pause) = knobs.refresh_delay {
        // The refresh token is already rotated: this is the window a client must survive.
        tokio::time::sleep(pause).await;
    }
    match result {
        Ok(body) => reply::success(wire, body),
        Err(_) if is_refresh && knobs.refresh_errors_empty => {
            StatusCode::BAD_REQUEST.into_response()
        }
        Err(e) => reply::error(wire, &e),
    }
}

/// The response a fault sends instead of the real one, and the status to record
/// (0 when no complete response is sent).
fn fault_response(fault: &Fault) -> (u16, Response) {
    match fault {
        Fault::Html503 => (
            503,
            html(
                StatusCode::SERVICE_UNAVAILABLE,
                "<!doctype html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\
<body><h1>503 Service Temporarily Unavailable</h1><p>The upstream server is not responding.</p></body></html>\n"
                    .to_owned(),
            ),
        ),
        Fault::Reset => {
            // A body whose first chunk is an error makes hyper abort the connection without
            // completing the response, which the client sees as a transport error.
            let body = Body::from_stream(stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected fault: connection reset",
                ))
            }));
            (0, (StatusCode::OK, body).into_response())
        }
        Fault::HugeBody(len) => {
            const CHUNK: usize = 64 * 1024;
            let chunk = Bytes::from(vec![b'x'; CHUNK.min(*len)]);
            let len = *len;
            // A stream has no known length, so hyper sends it chunked, without Content-Length.
            let chunks = stream::iter((0..len.div_ceil(CHUNK)).map(move |i| {
                let size = CHUNK.min(len - i * CHUNK);
                Ok::<Bytes, Infallible>(chunk.slice(..size))
            }));
            let response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(chunks),
            )
                .into_response();
            (200, response)
        }
        // Never reached: Delay is handled before the request is answered.
        Fault::Delay(_) => (500, StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}

/// RFC 7009.
async fn revoke(State(sh): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let wire = wire(&sh, Endpoint::Other, &headers);
    let knobs = &sh.env.cfg.knobs;
    if let Some(pause) = knobs.revoke_delay {
        tokio::time::sleep(pause).await;
    }
    let mut refused = None;
    let result = parse_form(&sh, &headers, &body).and_then(|form| {
        let client = client_of(&sh, &headers, &form)?;
        let token = form.get("token").ok_or_else(|| {
            OAuthError::with(ErrorKind::InvalidRequest, "missing parameter token")
        })?;
        // A JWT access token: three dot-separated parts, and not one of the refresh tokens.
        let jwt_access = token.split('.').count() == 3 && sh.lock().is_access_token(token);
        refused =
            quirks::revocation_refusal(knobs, client.auth == ClientAuthMethod::None, jwt_access);
        if refused.is_some() {
            return Ok(());
        }
        sh.lock()
            .revoke(client, token, form.get("token_type_hint"), Instant::now())
    });
    if let Some((status, body)) = refused {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        return match body {
            Some(body) => reply::json_response(status, &body),
            None if status.is_server_error() => html(
                status,
                "<!doctype html><html><body><h1>Service Unavailable</h1></body></html>".into(),
            ),
            None => status.into_response(),
        };
    }
    match result {
        // §2.2: 200 whether or not the token was known; the body is ignored.
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(e) => reply::error(wire, &e),
    }
}

/// RFC 7662.
async fn introspect(State(sh): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let wire = wire(&sh, Endpoint::Other, &headers);
    let result = parse_form(&sh, &headers, &body).and_then(|form| {
        let client = client_of(&sh, &headers, &form)?;
        if sh.env.cfg.knobs.introspection_needs_secret && client.auth == ClientAuthMethod::None {
            return Err(OAuthError::with(
                ErrorKind::InvalidClient,
                "introspection is for confidential clients",
            ));
        }
        let token = form.get("token").ok_or_else(|| {
            OAuthError::with(ErrorKind::InvalidRequest, "missing parameter token")
        })?;
        Ok(sh.lock().introspect(&sh.env, token, Clock::read()))
    });
    match result {
        Ok(body) => reply::json_response(StatusCode::OK, &body),
        Err(e) => reply::error(wire, &e),
    }
}

/// OpenID Connect Core §5.3, with RFC 6750 §3 errors.
async fn userinfo(State(sh): AppState, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    let Some(token) = token else {
        // §3.1: no credentials at all → no error code, just the challenge.
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tvlogin\""),
        );
        return response;
    };
    let unrevocable = sh.env.cfg.knobs.revoke_jwt_ignored;
    let claims = sh.lock().userinfo(&token, Clock::read(), unrevocable);
    match claims {
        Some(claims) => reply::json_response(StatusCode::OK, &claims),
        None => {
            let description = "The access token is invalid, expired or revoked";
            let mut response = reply::json_response(
                StatusCode::UNAUTHORIZED,
                &json!({ "error": "invalid_token", "error_description": description }),
            );
            let challenge =
                format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}

/// RFC 6749 §4.1.1: the consent page of the authorization code grant.
async fn authorize_page(State(sh): AppState, RawQuery(query): RawQuery) -> Response {
    super::authorize::show(&sh, &query.unwrap_or_default())
}

/// The consent page's Approve / Deny: the redirect back to the application.
async fn authorize_submit(State(sh): AppState, body: Bytes) -> Response {
    super::authorize::decide(&sh, &body)
}

/// RFC 8628 §3.3: the code entry page, or the confirmation page when a code is given.
async fn device_page(State(sh): AppState, RawQuery(query): RawQuery) -> Response {
    let form = Form::parse_lenient(query.unwrap_or_default().as_bytes());
    match form.get("user_code") {
        None => html(StatusCode::OK, page::enter_code("", None)),
        Some(code) => show_code(&sh, code),
    }
}

/// The confirmation page for a code, or the entry form with the reason it cannot be used.
fn show_code(sh: &Shared, code: &str) -> Response {
    let info = sh.lock().describe(&sh.env.cfg, code, Instant::now());
    match info {
        Ok(info) => {
            let name = sh
                .clients()
                .iter()
                .find(|c| c.client_id == info.client_id)
                .map_or(info.client_id.as_str(), |c| c.name.as_str());
            html(
                StatusCode::OK,
                page::confirm(
                    &info.user_code,
                    name,
                    &info.scope,
                    &info.audience,
                    &page::Requested {
                        ago: info.requested_ago,
                        from: info.peer,
                    },
                ),
            )
        }
        Err(e) => decision_error_page(code, &e),
    }
}

/// The Approve / Deny buttons post here.
async fn device_submit(State(sh): AppState, body: Bytes) -> Response {
    let form = Form::parse_lenient(&body);
    let Some(code) = form.get("user_code") else {
        return html(
            StatusCode::BAD_REQUEST,
            page::enter_code("", Some("Please enter the code shown on your device.")),
        );
    };
    let approve = match form.get("action") {
        Some("approve") => true,
        Some("deny") => false,
        // No decision yet: show what would be authorized.
        _ => return show_code(&sh, code),
    };
    let result = sh.lock().decide(&sh.env.cfg, code, approve, Clock::read());
    match result {
        Ok(()) => html(
            StatusCode::OK,
            page::decided(approve, &super::state::display_user_code(code)),
        ),
        Err(e) => decision_error_page(code, &e),
    }
}

fn decision_error_page(code: &str, e: &DecisionError) -> Response {
    let (status, message) = match e {
        DecisionError::Unknown(c) => (
            StatusCode::NOT_FOUND,
            format!("The code {c} is not valid. Check it and try again."),
        ),
        DecisionError::Expired(c) => (
            StatusCode::GONE,
            format!("The code {c} has expired. Start the sign-in on your device again."),
        ),
        DecisionError::AlreadyDecided(c) => (
            StatusCode::CONFLICT,
            format!("The code {c} has already been used."),
        ),
    };
    html(status, page::enter_code(code, Some(&message)))
}

/// An HTML page that cannot be framed (clickjacking the Approve button) and runs no scripts.
fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                page::content_security_policy(),
            ),
            // For browsers that predate CSP frame-ancestors.
            (header::X_FRAME_OPTIONS, "DENY"),
            // The page's URL carries the user code: never hand it to another site.
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
