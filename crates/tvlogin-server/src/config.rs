//! Configuration of the embedded authorization server: timing, token lifetimes, registered
//! clients, the provider whose quirks are replayed, and the faults to inject.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Client id of the built-in public client (no secret, `token_endpoint_auth_method=none`).
pub const DEMO_CLIENT_ID: &str = "tvlogin-demo";
/// Client id of the built-in confidential client that authenticates with HTTP Basic.
pub const BASIC_CLIENT_ID: &str = "tvlogin-basic";
/// Secret of [`BASIC_CLIENT_ID`].
pub const BASIC_CLIENT_SECRET: &str = "basic-secret";
/// Client id of the built-in confidential client that sends its secret in the form body.
pub const POST_CLIENT_ID: &str = "tvlogin-post";
/// Secret of [`POST_CLIENT_ID`].
pub const POST_CLIENT_SECRET: &str = "post-secret";

/// Everything the server needs to know before it starts.
///
/// All durations are whole seconds because that is what goes on the wire
/// (`interval`, `expires_in`, ...).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// TCP port on 127.0.0.1; 0 picks an ephemeral port. The server never binds other addresses.
    pub port: u16,
    /// Which provider's documented behaviour to replay.
    pub quirks: Quirks,
    /// Minimum polling interval in seconds, sent as `interval`.
    pub interval: u64,
    /// Lifetime of a device code in seconds, sent as `expires_in`.
    pub device_code_ttl: u64,
    /// Lifetime of access tokens in seconds (GitHub quirks use GitHub's fixed 8 hours).
    pub access_token_ttl: u64,
    /// Lifetime of each refresh token in seconds; `None` means refresh tokens never expire.
    pub refresh_token_ttl: Option<u64>,
    /// Whether token responses carry a refresh token at all.
    pub issue_refresh_tokens: bool,
    /// Keep answering `authorization_pending` after the device code expired (Spring
    /// Authorization Server had this bug). The server then ignores expiry entirely: the code
    /// can still be approved and stays in [`pending_user_codes`](super::ServerHandle::pending_user_codes).
    /// Useful to test that a client enforces its own deadline.
    pub never_expire: bool,
    /// 1-based poll numbers (per device authorization) answered `slow_down` regardless of
    /// timing; the interval then grows by 5 s as usual. Ignored with Microsoft quirks.
    pub slow_down_polls: Vec<u32>,
    /// Approve or deny automatically when the given poll arrives, before answering it.
    pub auto_decision: Option<AutoDecision>,
    /// Registered clients; requests from anyone else get `invalid_client`.
    pub clients: Vec<ClientRegistration>,
    /// Initial fault queue, applied first-in first-out to token-endpoint requests.
    pub faults: Vec<Fault>,
    /// Behaviours of real servers beyond the provider presets, switched on one by one.
    pub knobs: Knobs,
}

/// Behaviours seen at real authorization servers that a client must survive, each off by
/// default so that the plain server stays the RFC's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Knobs {
    /// Revocation of a JWT access token is answered `unsupported_token_type` (HTTP 400), as a
    /// certified OpenID provider does (RFC 7009 §2.2.1: this server cannot revoke that type).
    pub revoke_jwt_unsupported: bool,
    /// Revocation requests of public clients are refused with HTTP 401 and an empty body.
    pub revoke_refuses_public_clients: bool,
    /// Revocation answers this HTTP status with a small HTML page instead (e.g. 503).
    pub revoke_status: Option<u16>,
    /// Revocation answers only after this long (a hanging endpoint).
    pub revoke_delay: Option<Duration>,
    /// Refresh errors are HTTP 400 with an empty body (a reused refresh token at one real
    /// server), instead of an OAuth error document.
    pub refresh_errors_empty: bool,
    /// Token responses say `token_type: bearer`, lower case.
    pub lowercase_token_type: bool,
    /// Refresh answers are sent this long after the server rotated the refresh token: the
    /// window in which a client that dies loses its session.
    pub refresh_delay: Option<Duration>,
    /// Neither discovery document lists `device_authorization_endpoint` (django-oauth-toolkit):
    /// the client must be told the endpoint.
    pub discovery_without_device_endpoint: bool,
    /// `revocation_endpoint` and `introspection_endpoint` are listed only in the RFC 8414
    /// document (`/.well-known/oauth-authorization-server`), not in the OpenID one.
    pub management_endpoints_only_in_rfc8414: bool,
    /// Form requests must say exactly `application/x-www-form-urlencoded`: any parameter
    /// (`; charset=utf-8`) is answered 400.
    pub strict_form_content_type: bool,
    /// A client authenticating with HTTP Basic must repeat its `client_id` in the body
    /// ("Missing client_id parameter.", 400 `invalid_request`).
    pub client_id_required_with_basic: bool,
    /// Never answer `slow_down`, however fast the client polls.
    pub never_slow_down: bool,
    /// The device authorization response has no `interval` (the client must use 5 s).
    pub no_interval: bool,
    /// Token-endpoint errors are sent with HTTP 200 (as GitHub does), whatever the quirks.
    pub errors_with_200: bool,
    /// Revoking a JWT access token answers 200, but the token stays active until it expires,
    /// even once its grant is revoked (it is self-contained and the server keeps no deny
    /// list): introspection and userinfo still accept it.
    pub revoke_jwt_ignored: bool,
    /// The device grant's token response has no `id_token`; refresh answers carry one
    /// (django-oauth-toolkit).
    pub id_token_only_on_refresh: bool,
    /// Introspection is refused (401) to public clients: only confidential ones may ask.
    pub introspection_needs_secret: bool,
    /// JWT access tokens are padded (a `pad` claim) to about this many bytes, as servers that
    /// put every group of a user into the token make them.
    pub access_token_bytes: Option<usize>,
    /// DPoP (RFC 9449): off (the library's default), optional (proofs bind the tokens when
    /// sent; `serve`'s default) or required.
    pub dpop: super::dpop::DpopMode,
    /// DPoP proofs must carry a server nonce (`use_dpop_nonce` until they do), rotated every
    /// [`super::dpop::NONCE_LIFETIME`].
    pub dpop_nonce: bool,
    /// Google's model: DPoP binds the refresh token only; access tokens are Bearer.
    pub dpop_bind_refresh_only: bool,
    /// Device authorization is refused with `unauthorized_client` (HTTP 400), as a tenant with
    /// a "block device code flow" Conditional Access policy answers.
    pub device_grant_blocked: bool,
    /// The device response's `verification_uri` (and the complete URI built from it) points
    /// here instead of this server's own `/device` page: a verification page on another host.
    pub verification_uri: Option<String>,
}

impl Knobs {
    /// The knobs a provider's quirks imply (django-oauth-toolkit's rules for [`Quirks::Dot`];
    /// none for the others, whose behaviour is coded by variant).
    pub fn preset(quirks: Quirks) -> Knobs {
        match quirks {
            Quirks::Dot => Knobs {
                discovery_without_device_endpoint: true,
                management_endpoints_only_in_rfc8414: true,
                strict_form_content_type: true,
                client_id_required_with_basic: true,
                never_slow_down: true,
                id_token_only_on_refresh: true,
                introspection_needs_secret: true,
                ..Knobs::default()
            },
            _ => Knobs::default(),
        }
    }

    /// Every knob set in `self` or in `other` (the values of `self` win).
    pub fn or(self, other: Knobs) -> Knobs {
        Knobs {
            revoke_jwt_unsupported: self.revoke_jwt_unsupported || other.revoke_jwt_unsupported,
            revoke_refuses_public_clients: self.revoke_refuses_public_clients
                || other.revoke_refuses_public_clients,
            revoke_status: self.revoke_status.or(other.revoke_status),
            revoke_delay: self.revoke_delay.or(other.revoke_delay),
            refresh_errors_empty: self.refresh_errors_empty || other.refresh_errors_empty,
            lowercase_token_type: self.lowercase_token_type || other.lowercase_token_type,
            refresh_delay: self.refresh_delay.or(other.refresh_delay),
            discovery_without_device_endpoint: self.discovery_without_device_endpoint
                || other.discovery_without_device_endpoint,
            management_endpoints_only_in_rfc8414: self.management_endpoints_only_in_rfc8414
                || other.management_endpoints_only_in_rfc8414,
            strict_form_content_type: self.strict_form_content_type
                || other.strict_form_content_type,
            client_id_required_with_basic: self.client_id_required_with_basic
                || other.client_id_required_with_basic,
            never_slow_down: self.never_slow_down || other.never_slow_down,
            no_interval: self.no_interval || other.no_interval,
            errors_with_200: self.errors_with_200 || other.errors_with_200,
            revoke_jwt_ignored: self.revoke_jwt_ignored || other.revoke_jwt_ignored,
            id_token_only_on_refresh: self.id_token_only_on_refresh
                || other.id_token_only_on_refresh,
            introspection_needs_secret: self.introspection_needs_secret
                || other.introspection_needs_secret,
            access_token_bytes: self.access_token_bytes.or(other.access_token_bytes),
            dpop: if self.dpop == super::dpop::DpopMode::Off {
                other.dpop
            } else {
                self.dpop
            },
            dpop_nonce: self.dpop_nonce || other.dpop_nonce,
            dpop_bind_refresh_only: self.dpop_bind_refresh_only || other.dpop_bind_refresh_only,
            device_grant_blocked: self.device_grant_blocked || other.device_grant_blocked,
            verification_uri: self.verification_uri.or(other.verification_uri),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            port: 0,
            quirks: Quirks::Rfc,
            interval: 5,
            device_code_ttl: 600,
            access_token_ttl: 3600,
            refresh_token_ttl: Some(30 * 24 * 3600),
            issue_refresh_tokens: true,
            never_expire: false,
            slow_down_polls: Vec::new(),
            auto_decision: None,
            clients: ClientRegistration::defaults(),
            faults: Vec::new(),
            knobs: Knobs::default(),
        }
    }
}

/// Decide a device authorization without a human, when poll number `on_poll` arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoDecision {
    /// 1-based poll number (per device authorization) that triggers the decision.
    pub on_poll: u32,
    /// `true` approves, `false` denies.
    pub approve: bool,
}

/// The provider whose documented device-flow behaviour the server replays.
///
/// Everything not mentioned on a variant behaves as in [`Quirks::Rfc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Quirks {
    /// Plain RFC 8628 / RFC 6749: errors are HTTP 400 JSON (401 for `invalid_client`),
    /// `slow_down` carries no `interval`, the device response includes
    /// `verification_uri_complete`, access tokens are RFC 9068 JWTs and refresh tokens rotate
    /// with replay detection.
    #[default]
    Rfc,
    /// GitHub (`github.com/login/device/code`, `github.com/login/oauth/access_token`):
    /// - the device response has `verification_uri` but no `verification_uri_complete`;
    /// - the token endpoint answers every error with HTTP 200 and
    ///   `{"error","error_description","error_uri"}`; `slow_down` also carries the new `interval`;
    /// - an unknown device code is `incorrect_device_code`, bad client credentials are
    ///   `incorrect_client_credentials`;
    /// - without `Accept: application/json` both endpoints answer
    ///   `application/x-www-form-urlencoded` bodies (errors and tokens alike);
    /// - tokens are opaque: `gho_` + 36 alphanumerics (access), `ghr_` + 76 (refresh),
    ///   `token_type=bearer`, `expires_in=28800`, `refresh_token_expires_in=15897600`,
    ///   the granted `scope` is comma-separated, and there is never an `id_token`.
    Github,
    /// Google (`oauth2.googleapis.com/device/code`):
    /// - the device response says `verification_url` (not `_uri`) and has no complete URI;
    /// - `authorization_pending` is HTTP 428, `slow_down` and `access_denied` are 403,
    ///   `expired_token` is 400, with Google's terse descriptions ("Precondition Required", ...);
    /// - access tokens are opaque `ya29.` strings; an `id_token` JWT is still issued for `openid`;
    /// - refresh tokens do not rotate: a refresh response has no `refresh_token` and the old one
    ///   stays valid.
    Google,
    /// Microsoft Entra ID (`login.microsoftonline.com/.../devicecode`):
    /// - the device response has `verification_uri`, no complete URI, and a human `message`;
    /// - errors are 400 JSON with `error_codes` (e.g. `[70016]` for pending), `timestamp`,
    ///   `trace_id`, `correlation_id`, and an `AADSTSnnnnn:` description;
    /// - denial is `authorization_declined`, an unknown device code is `bad_verification_code`;
    /// - it never sends `slow_down`: early polls just get `authorization_pending`
    ///   (and [`ServerConfig::slow_down_polls`] is ignored);
    /// - each refresh returns a new refresh token but the old one stays valid.
    Microsoft,
    /// Auth0 (`/oauth/device/code`):
    /// - `authorization_pending`, `access_denied`, `expired_token` and `invalid_grant` are
    ///   HTTP 403; `slow_down` is HTTP 429 with "You are polling faster than the specified
    ///   interval of N seconds." and no `interval` field;
    /// - `expired_token` is returned exactly once, after which the device code is
    ///   `invalid_grant`.
    Auth0,
    /// Keycloak (`/protocol/openid-connect/auth/device`):
    /// - every device-flow error is HTTP 400 (401 only for `invalid_client`);
    /// - `slow_down` has no `interval` and the description "Slow down";
    /// - the device response includes `verification_uri_complete`;
    /// - the refresh-token lifetime is sent as Keycloak's `refresh_expires_in`.
    Keycloak,
    /// A hostile server, otherwise RFC: every piece of free text it sends carries terminal
    /// control characters (C1 CSI and OSC, BEL), bidi overrides and isolates and zero-width
    /// characters: error descriptions, the granted `scope`, the `name` claim and userinfo, the
    /// user code and a `message`. For testing that clients escape what they show.
    Hostile,
    /// django-oauth-toolkit 3.4 (Django's OAuth provider, device grant since 3.2), as observed:
    /// - discovery lists no `device_authorization_endpoint`, and `revocation_endpoint` /
    ///   `introspection_endpoint` only in the RFC 8414 document;
    /// - form requests must be exactly `application/x-www-form-urlencoded` (a `; charset`
    ///   parameter is a 400), and `client_id` is required in the body even with HTTP Basic;
    /// - it never sends `slow_down`;
    /// - access and refresh tokens are opaque 30-character strings; the device grant returns
    ///   no `id_token`, the first refresh does;
    /// - introspection is for confidential clients only.
    ///
    /// Its switches are [`Knobs::preset`]; everything else is RFC behaviour.
    Dot,
}

impl Quirks {
    /// Every variant, in a stable order (for `--help` texts and exhaustive tests).
    pub const ALL: [Quirks; 8] = [
        Quirks::Rfc,
        Quirks::Github,
        Quirks::Google,
        Quirks::Microsoft,
        Quirks::Auth0,
        Quirks::Keycloak,
        Quirks::Hostile,
        Quirks::Dot,
    ];

    /// The lowercase name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Quirks::Rfc => "rfc",
            Quirks::Github => "github",
            Quirks::Google => "google",
            Quirks::Microsoft => "microsoft",
            Quirks::Auth0 => "auth0",
            Quirks::Keycloak => "keycloak",
            Quirks::Hostile => "hostile",
            Quirks::Dot => "dot",
        }
    }
}

impl fmt::Display for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A quirks name that is not one of [`Quirks::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown quirks {0:?}; valid names: rfc, github, google, microsoft, auth0, keycloak, hostile, dot"
)]
pub struct ParseQuirksError(pub String);

impl FromStr for Quirks {
    type Err = ParseQuirksError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Quirks::ALL
            .into_iter()
            .find(|q| q.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| ParseQuirksError(s.to_owned()))
    }
}

/// A misbehaviour injected into the next token-endpoint request (any grant type).
///
/// Faults other than [`Fault::Delay`] answer the request on their own: the device
/// authorization or refresh token is not looked at, and the polling clock is not touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 503 with a small `text/html` page, like a load balancer in front of a dead backend.
    Html503,
    /// Abort the connection before a complete response was sent; the client sees a transport
    /// error.
    Reset,
    /// Sleep this long, then answer the request normally (as if it had arrived after the sleep).
    /// The poll or refresh is recorded with its real outcome, not `fault:delay`.
    Delay(Duration),
    /// HTTP 200 with a body of this many bytes, streamed in chunks without `Content-Length`.
    HugeBody(usize),
}

impl Fault {
    /// Short name used in [`PollRecord::outcome`](super::PollRecord::outcome) as `fault:<name>`.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Html503 => "html503",
            Fault::Reset => "reset",
            Fault::Delay(_) => "delay",
            Fault::HugeBody(_) => "huge",
        }
    }
}

/// A client the server knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// The `client_id`.
    pub client_id: String,
    /// The client secret; `None` for public clients.
    pub secret: Option<String>,
    /// How the client must authenticate at the token, revocation and introspection endpoints.
    pub auth: ClientAuthMethod,
    /// Human-readable name shown on the verification page.
    pub name: String,
}

impl ClientRegistration {
    /// The three built-in clients: [`DEMO_CLIENT_ID`] (public), [`BASIC_CLIENT_ID`]
    /// (`client_secret_basic`) and [`POST_CLIENT_ID`] (`client_secret_post`).
    pub fn defaults() -> Vec<ClientRegistration> {
        vec![
            ClientRegistration {
                client_id: DEMO_CLIENT_ID.to_owned(),
                secret: None,
                auth: ClientAuthMethod::None,
                name: "tvlogin demo".to_owned(),
            },
            ClientRegistration {
                client_id: BASIC_CLIENT_ID.to_owned(),
                secret: Some(BASIC_CLIENT_SECRET.to_owned()),
                auth: ClientAuthMethod::ClientSecretBasic,
                name: "tvlogin basic-auth client".to_owned(),
            },
            ClientRegistration {
                client_id: POST_CLIENT_ID.to_owned(),
                secret: Some(POST_CLIENT_SECRET.to_owned()),
                auth: ClientAuthMethod::ClientSecretPost,
                name: "tvlogin post-auth client".to_owned(),
            },
        ]
    }
}

/// Client authentication methods (RFC 7591 `token_endpoint_auth_method` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAuthMethod {
    /// Public client: only `client_id` in the form body.
    None,
    /// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl ClientAuthMethod {
    /// The RFC 7591 name, as listed in discovery metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthMethod::None => "none",
            ClientAuthMethod::ClientSecretBasic => "client_secret_basic",
            ClientAuthMethod::ClientSecretPost => "client_secret_post",
        }
    }
}

impl fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = ServerConfig::default();
        assert_eq!((c.port, c.interval, c.device_code_ttl), (0, 5, 600));
        assert_eq!(c.refresh_token_ttl, Some(30 * 24 * 3600));
        assert!(c.issue_refresh_tokens && !c.never_expire);
        let ids: Vec<_> = c.clients.iter().map(|c| c.client_id.as_str()).collect();
        assert_eq!(ids, [DEMO_CLIENT_ID, BASIC_CLIENT_ID, POST_CLIENT_ID]);
    }

    #[test]
    fn quirks_round_trip_and_error_lists_names() {
        for q in Quirks::ALL {
            assert_eq!(q.to_string().parse::<Quirks>(), Ok(q));
        }
        assert_eq!("GitHub".parse::<Quirks>(), Ok(Quirks::Github));
        let err = "okta".parse::<Quirks>().unwrap_err().to_string();
        assert!(err.contains("okta") && err.contains("keycloak"), "{err}");
    }
}
