//! Resolved configuration: `config.toml` profiles, environment and flags merged once, plus
//! the provider presets. Flags win, then environment variables (clap reads those), then the
//! profile, then the preset's defaults.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::secret::ClientSecret;
use serde::Deserialize;
use url::Url;

use crate::error::Error;
use crate::oauth::authcode::LoginFlow;
use crate::oauth::client::{AuthMethod, OAuthClient};
use crate::oauth::device::DeviceRequest;
use crate::oauth::discovery::Endpoints;
use crate::oauth::http::HttpSettings;
use crate::store::{Backend, StoreRequest};

pub use crate::paths::Paths;
pub use crate::store::state::RememberedLogin;

/// The environment variable read for a confidential client's secret when nothing more
/// specific names one.
pub const GLOBAL_SECRET_ENV: &str = "TVLOGIN_CLIENT_SECRET";

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// Providers with built-in endpoints and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub OAuth and GitHub Apps (device flow must be enabled in the app settings).
    Github,
    /// Google ("TVs and Limited Input devices" clients; needs the client secret).
    Google,
    /// Microsoft Entra ID (`--tenant`, default `common`).
    Microsoft,
    /// Okta custom authorization server `default` (`--domain`).
    Okta,
    /// Auth0 (`--domain`; `--audience` for an API).
    Auth0,
    /// Keycloak (`--domain` base URL and `--realm`).
    Keycloak,
}

impl Provider {
    /// The sites (registrable domains) the provider documents for its device verification
    /// page where that differs from the issuer's site, so the cross-device check does not warn
    /// about a documented pairing: Microsoft sends people to `microsoft.com/devicelogin` (or
    /// `login.microsoft.com/device`) to sign in at `login.microsoftonline.com`.
    pub fn verification_sites(self) -> &'static [&'static str] {
        match self {
            Provider::Microsoft => &["microsoft.com"],
            Provider::Github
            | Provider::Google
            | Provider::Okta
            | Provider::Auth0
            | Provider::Keycloak => &[],
        }
    }
}

/// The contents of `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Named profiles: `[profiles.NAME]`.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One `[profiles.NAME]` table: everything a login flag can say.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// See `--issuer`.
    pub issuer: Option<String>,
    /// See `--device-authorization-endpoint`.
    pub device_authorization_endpoint: Option<String>,
    /// See `--token-endpoint`.
    pub token_endpoint: Option<String>,
    /// See `--jwks-uri`.
    pub jwks_uri: Option<String>,
    /// See `--revocation-endpoint`.
    pub revocation_endpoint: Option<String>,
    /// See `--introspection-endpoint`.
    pub introspection_endpoint: Option<String>,
    /// See `--userinfo-endpoint`.
    pub userinfo_endpoint: Option<String>,
    /// See `--provider`.
    pub provider: Option<Provider>,
    /// See `--tenant`.
    pub tenant: Option<String>,
    /// See `--domain`.
    pub domain: Option<String>,
    /// See `--realm`.
    pub realm: Option<String>,
    /// See `--client-id`.
    pub client_id: Option<String>,
    /// See `--client-secret-env`.
    pub client_secret_env: Option<String>,
    /// The client secret itself (keep the file private); redacted in Debug.
    pub client_secret: Option<ClientSecret>,
    /// See `--auth`.
    pub auth: Option<AuthMethod>,
    /// See `--scope`.
    pub scope: Option<String>,
    /// See `--audience`.
    pub audience: Option<String>,
    /// See `--resource`.
    pub resource: Option<Vec<String>>,
    /// See `--allow-http`.
    pub allow_http: Option<bool>,
    /// See `--timeout`.
    pub timeout: Option<u64>,
    /// See `--store`.
    pub store: Option<Backend>,
    /// Whether the dashboard renews this profile's access token shortly before it expires
    /// (default true).
    pub auto_refresh: Option<bool>,
    /// How many seconds before expiry the dashboard renews it (default 60, capped at half
    /// the token's lifetime).
    pub refresh_before: Option<u64>,
    // ----- integrations (git, docker); written by `tvlogin setup` -----
    /// The username `git-credential get` answers (default `oauth2`).
    pub git_username: Option<String>,
    /// Answer git with `authtype=Bearer` when git announces `capability[]=authtype`, instead
    /// of the token as a Basic password (default false).
    pub git_bearer: Option<bool>,
    /// The only git hosts `git-credential` answers from this profile, with or without
    /// `--profile`: `host`, `host:port`, `host/path` (matched at or below the path when git
    /// sends one, with `credential.useHttpPath`), optionally with `https://` or — to this
    /// machine only — `http://`. Exact host and port, no suffix matching. Without this
    /// setting the profile answers only a helper named `--profile` on its command line.
    pub git_hosts: Option<Vec<String>>,
    /// Docker registries (`host` or `host:port`, exactly) answered from this profile; https,
    /// or http to this machine only.
    pub docker_registries: Option<Vec<String>>,
    /// The only cluster servers `kubectl-credential` answers from this profile: API server
    /// URLs as in the kubeconfig's `clusters[].cluster.server` (`https://host:port[/path]`),
    /// compared exactly. kubectl tells the plugin the server only with
    /// `provideClusterInfo: true` in the kubeconfig's `exec` section; with this setting and
    /// without that, nothing is answered. Without it, any https (or loopback) cluster is.
    pub kube_servers: Option<Vec<String>>,
    /// See `--dpop`: `true` binds the session to a key, `false` never does; unset, a login
    /// binds when the server advertises `dpop_signing_alg_values_supported`.
    pub dpop: Option<bool>,
    // ----- the browser login -----
    /// See `--flow`: `device` (the default), `browser` or `auto`.
    pub flow: Option<LoginFlow>,
    /// The loopback port the browser login listens on, for providers that register an exact
    /// redirect URI (default: a port the OS picks).
    pub redirect_port: Option<u16>,
    /// The redirect path of the browser login (default `/callback`); servers match it exactly.
    pub redirect_path: Option<String>,
}

impl ConfigFile {
    /// Reads `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, Error> {
        // Like the state files: a config another user can write could point a profile's
        // issuer at their own server (symbolic links are fine here: dotfile managers use them).
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata(path) {
            use crate::store::safety;
            if let Some(problem) = safety::judge(path, &meta, safety::current_user()) {
                return Err(problem.into());
            }
            if let Some(dir) = path.parent() {
                safety::check_dir(dir)?;
            }
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(Error::Usage(format!("cannot read {}: {e}", path.display())));
            }
        };
        toml::from_str(&text).map_err(|e| {
            // toml's Display quotes the offending line, which may be a `client_secret` line:
            // say where and what, without the text.
            let at = e.span().map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" at line {line}, column {column}")
            });
            Error::Usage(format!(
                "{} is not valid{}: {}",
                path.display(),
                at.unwrap_or_default(),
                e.message().trim()
            ))
        })
    }
}

/// How endpoints are found.
// Built once per command; the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointSource {
    /// Fetch the issuer's metadata, then apply the explicit endpoint settings over it.
    Discover(Url),
    /// Known without discovery (flags, profile or a provider preset).
    Fixed(Endpoints),
}

/// Endpoints given one by one (flags or profile), applied over discovered ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointOverrides {
    /// Device authorization endpoint.
    pub device_authorization: Option<Url>,
    /// Token endpoint.
    pub token: Option<Url>,
    /// JWKS URL.
    pub jwks_uri: Option<Url>,
    /// Revocation endpoint.
    pub revocation: Option<Url>,
    /// Introspection endpoint.
    pub introspection: Option<Url>,
    /// Userinfo endpoint.
    pub userinfo: Option<Url>,
}

impl EndpointOverrides {
    /// The settings as discovery's explicit endpoints, each replacing its discovered value.
    pub fn explicit(&self) -> crate::oauth::discovery::Explicit<'_> {
        crate::oauth::discovery::Explicit {
            device_authorization: self.device_authorization.as_ref(),
            token: self.token.as_ref(),
            jwks_uri: self.jwks_uri.as_ref(),
            revocation: self.revocation.as_ref(),
            introspection: self.introspection.as_ref(),
            userinfo: self.userinfo.as_ref(),
        }
    }

    /// Applies the given settings over `base`.
    pub fn apply(&self, mut base: Endpoints) -> Endpoints {
        let pick = |o: &Option<Url>, b: &mut Option<Url>| {
            if o.is_some() {
                b.clone_from(o);
            }
        };
        if let Some(u) = &self.device_authorization {
            base.device_authorization = u.clone();
        }
        if let Some(u) = &self.token {
            base.token = u.clone();
        }
        pick(&self.jwks_uri, &mut base.jwks_uri);
        pick(&self.revocation, &mut base.revocation);
        pick(&self.introspection, &mut base.introspection);
        pick(&self.userinfo, &mut base.userinfo);
        base
    }
}

/// The variable `tvlogin login --profile` reads when the flag is absent.
pub const PROFILE_ENV: &str = "TVLOGIN_PROFILE";
/// The variable read for `--issuer`.
pub const ISSUER_ENV: &str = "TVLOGIN_ISSUER";
/// The variable read for `--provider`.
pub const PROVIDER_ENV: &str = "TVLOGIN_PROVIDER";
/// The variable read for `--client-id`.
pub const CLIENT_ID_ENV: &str = "TVLOGIN_CLIENT_ID";
/// The variable read for `--scope`.
pub const SCOPE_ENV: &str = "TVLOGIN_SCOPE";
/// The variable read for `--store`.
pub const STORE_ENV: &str = "TVLOGIN_STORE";

/// The login settings given for one run: the command line's flags with their `TVLOGIN_*`
/// variables, before the config file's profile, the preset and the remembered login fill in
/// the rest. Plain data: the command line converts its flags into this (the configuration
/// knows nothing of clap's types), and the dashboard builds it from the variables alone
/// ([`LoginSettings::from_env`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginSettings {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--device-authorization-endpoint`.
    pub device_authorization_endpoint: Option<String>,
    /// `--token-endpoint`.
    pub token_endpoint: Option<String>,
    /// `--jwks-uri`.
    pub jwks_uri: Option<String>,
    /// `--revocation-endpoint`.
    pub revocation_endpoint: Option<String>,
    /// `--introspection-endpoint`.
    pub introspection_endpoint: Option<String>,
    /// `--userinfo-endpoint`.
    pub userinfo_endpoint: Option<String>,
    /// `--provider`.
    pub provider: Option<Provider>,
    /// `--tenant`.
    pub tenant: Option<String>,
    /// `--domain`.
    pub domain: Option<String>,
    /// `--realm`.
    pub realm: Option<String>,
    /// `--client-id`.
    pub client_id: Option<String>,
    /// `--client-secret-env` (a variable's name, never a secret).
    pub client_secret_env: Option<String>,
    /// `--auth`.
    pub auth: Option<AuthMethod>,
    /// `--scope`.
    pub scope: Option<String>,
    /// `--audience`.
    pub audience: Option<String>,
    /// `--resource`, repeated.
    pub resource: Vec<String>,
    /// `--store`.
    pub store: Option<Backend>,
    /// `--allow-http`.
    pub allow_http: bool,
    /// `--timeout`.
    pub timeout: Option<u64>,
    /// `--dpop` (`Some(true)`) or `--no-dpop` (`Some(false)`); `None` leaves it to the profile,
    /// then to the server.
    pub dpop: Option<bool>,
    /// `--flow`.
    pub flow: Option<LoginFlow>,
}

impl LoginSettings {
    /// What `tvlogin login --profile PROFILE` would be given with no other flag: the profile
    /// and the `TVLOGIN_*` variables that stand in for flags, read as clap reads them for
    /// `login` (a variable that is set counts, even when empty). A value that is not one of a
    /// flag's choices is a usage error naming the variable.
    pub fn from_env(profile: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let var = |name: &str| env(name);
        Ok(Self {
            profile: Some(profile.to_owned()),
            issuer: var(ISSUER_ENV),
            provider: var(PROVIDER_ENV)
                .map(|v| choice::<Provider>(PROVIDER_ENV, &v))
                .transpose()?,
            client_id: var(CLIENT_ID_ENV),
            scope: var(SCOPE_ENV),
            store: var(STORE_ENV)
                .map(|v| choice::<Backend>(STORE_ENV, &v))
                .transpose()?,
            ..Self::default()
        })
    }
}

/// One of a flag's choices given through its variable, as clap would read it.
fn choice<T: clap::ValueEnum>(var: &str, value: &str) -> Result<T, Error> {
    T::from_str(value, false).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_owned()))
            .collect();
        Error::Usage(format!(
            "invalid value '{}' for {var}: expected one of {}",
            crate::sanitize::escape(value),
            names.join(", ")
        ))
    })
}

/// Everything `login` needs, validated.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    /// The profile name.
    pub profile: String,
    /// Where the endpoints come from.
    pub source: EndpointSource,
    /// Explicit endpoint settings (already folded in when `source` is `Fixed`).
    pub overrides: EndpointOverrides,
    /// The provider preset in use, if any.
    pub provider: Option<Provider>,
    /// The client and its credentials.
    pub client: OAuthClient,
    /// Scope, audience, resources.
    pub request: DeviceRequest,
    /// Transport settings.
    pub http: HttpSettings,
    /// The store asked for (`--store`, `TVLOGIN_STORE`, the profile's `store`); `None` means
    /// the one remembered for the profile, else the keyring (see `store::choose`).
    pub store: Option<Backend>,
    /// The environment variable the client secret was read from, when one was named
    /// (`--client-secret-env`, the profile's `client_secret_env`); remembered so a refresh in
    /// a later process finds the secret again. The secret itself is never stored.
    pub client_secret_env: Option<String>,
    /// DPoP binding (RFC 9449): `Some(true)` asked for, `Some(false)` refused, `None` auto (on
    /// when the server advertises `dpop_signing_alg_values_supported`). See
    /// [`LoginConfig::wants_dpop`].
    pub dpop: Option<bool>,
    /// Which grant logs in (`--flow`, the profile's `flow`, the remembered one; `device`).
    pub flow: LoginFlow,
    /// The browser login's loopback port and path (the profile's `redirect_port`,
    /// `redirect_path`).
    pub redirect: RedirectSettings,
}

/// Where the browser login listens, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectSettings {
    /// `None`: a port the OS picks.
    pub port: Option<u16>,
    /// `None`: `/callback`.
    pub path: Option<String>,
    /// How long to wait for the browser's answer ([`BROWSER_TIMEOUT_ENV`], default 5 min).
    pub timeout: Duration,
}

impl Default for RedirectSettings {
    fn default() -> Self {
        Self {
            port: None,
            path: None,
            timeout: Duration::from_secs(300),
        }
    }
}

/// Seconds the browser login waits for the browser's answer (default 300).
pub const BROWSER_TIMEOUT_ENV: &str = "TVLOGIN_BROWSER_TIMEOUT";

/// A preset's endpoints and defaults.
struct Preset {
    endpoints: Endpoints,
    scope: Option<&'static str>,
    auth: Option<AuthMethod>,
}

impl<'a> From<&'a LoginConfig> for StoreRequest<'a> {
    fn from(config: &'a LoginConfig) -> Self {
        StoreRequest {
            profile: &config.profile,
            backend: config.store,
        }
    }
}

impl LoginConfig {
    /// Merges flags (with their environment variables) over the profile and preset.
    /// `env` looks up environment variables (injected so tests never touch the real ones).
    pub fn resolve(
        settings: impl Into<LoginSettings>,
        file: &ConfigFile,
        config_path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        Self::resolve_remembering(settings, file, config_path, env, None)
    }

    /// [`LoginConfig::resolve`], with what the profile remembers of its last login as the
    /// lowest layer (see [`RememberedLogin::fill`]).
    pub fn resolve_remembering(
        settings: impl Into<LoginSettings>,
        file: &ConfigFile,
        config_path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        remembered: Option<&RememberedLogin>,
    ) -> Result<Self, Error> {
        let mut args = settings.into();
        if let Some(memory) = remembered {
            let name = args.profile.as_deref().unwrap_or(DEFAULT_PROFILE);
            let configured = file.profiles.get(name).cloned().unwrap_or_default();
            memory.fill(&mut args, &configured);
        }
        let args = &args;
        let profile_name = args
            .profile
            .clone()
            .unwrap_or_else(|| DEFAULT_PROFILE.into());
        // A profile the config file does not define is a new one: the flags must say
        // everything, and when they do not, what is missing is reported as it would be
        // without --profile (the unknown name only when nothing names a server at all).
        let unknown_profile = args.profile.is_some() && !file.profiles.contains_key(&profile_name);
        let profile = file
            .profiles
            .get(&profile_name)
            .cloned()
            .unwrap_or_default();
        let or =
            |flag: &Option<String>, prof: &Option<String>| flag.clone().or_else(|| prof.clone());
        let url = |name: &str, value: Option<String>| -> Result<Option<Url>, Error> {
            value
                .map(|v| {
                    Url::parse(v.trim())
                        .map_err(|e| Error::Usage(format!("{name}: {v:?} is not a URL ({e})")))
                })
                .transpose()
        };
        let overrides = EndpointOverrides {
            device_authorization: url(
                "--device-authorization-endpoint",
                or(
                    &args.device_authorization_endpoint,
                    &profile.device_authorization_endpoint,
                ),
            )?,
            token: url(
                "--token-endpoint",
                or(&args.token_endpoint, &profile.token_endpoint),
            )?,
            jwks_uri: url("--jwks-uri", or(&args.jwks_uri, &profile.jwks_uri))?,
            revocation: url(
                "--revocation-endpoint",
                or(&args.revocation_endpoint, &profile.revocation_endpoint),
            )?,
            introspection: url(
                "--introspection-endpoint",
                or(
                    &args.introspection_endpoint,
                    &profile.introspection_endpoint,
                ),
            )?,
            userinfo: url(
                "--userinfo-endpoint",
                or(&args.userinfo_endpoint, &profile.userinfo_endpoint),
            )?,
        };
        let issuer = url("--issuer", or(&args.issuer, &profile.issuer))?;
        let provider = args.provider.or(profile.provider);
        let preset = provider
            .map(|p| {
                preset(
                    p,
                    or(&args.tenant, &profile.tenant).as_deref(),
                    or(&args.domain, &profile.domain).as_deref(),
                    or(&args.realm, &profile.realm).as_deref(),
                )
            })
            .transpose()?;

        let source = match (
            &overrides.device_authorization,
            &overrides.token,
            &issuer,
            &preset,
        ) {
            // With an issuer, its metadata is read and each endpoint setting replaces its
            // discovered value on its own (login::resolve_endpoints).
            (_, _, Some(issuer), _) => EndpointSource::Discover(issuer.clone()),
            (Some(device), Some(token), None, _) => {
                EndpointSource::Fixed(overrides.apply(Endpoints {
                    issuer: None,
                    device_authorization: device.clone(),
                    token: token.clone(),
                    jwks_uri: None,
                    revocation: None,
                    introspection: None,
                    userinfo: None,
                    dpop_algs: None,
                }))
            }
            (_, _, None, Some(preset)) => {
                EndpointSource::Fixed(overrides.apply(preset.endpoints.clone()))
            }
            (Some(_), None, None, None) => {
                return Err(Error::Usage(
                    "--device-authorization-endpoint needs --token-endpoint too (or use --issuer)"
                        .into(),
                ));
            }
            (None, Some(_), None, None) => {
                return Err(Error::Usage(
                    "--token-endpoint needs --device-authorization-endpoint too (or use --issuer)"
                        .into(),
                ));
            }
            (None, None, None, None) if unknown_profile => {
                return Err(Error::Usage(format!(
                    "no profile named {profile_name:?} in {} (profiles there: {}); to create \
                     it, name the server: --issuer URL, --provider NAME, or \
                     --device-authorization-endpoint and --token-endpoint",
                    config_path.display(),
                    list_or_none(file.profiles.keys())
                )));
            }
            (None, None, None, None) => {
                return Err(Error::Usage(format!(
                    "no authorization server given: pass --issuer URL, --provider NAME, or \
                     --device-authorization-endpoint and --token-endpoint \
                     (or set them in profile {profile_name:?} of {}); try `tvlogin demo` to see the flow",
                    config_path.display()
                )));
            }
        };

        let client_id = or(&args.client_id, &profile.client_id).filter(|id| !id.is_empty()).ok_or_else(|| {
            Error::Usage(format!(
                "no client id: pass --client-id ID or set client_id in profile {profile_name:?} of {}{}",
                config_path.display(),
                provider.map(registration_hint).unwrap_or_default()
            ))
        })?;
        let chosen_auth = args
            .auth
            .or(profile.auth)
            .or(preset.as_ref().and_then(|p| p.auth));
        let (secret, secret_var) = client_secret(args, &profile, env, chosen_auth)?;
        let auth = match chosen_auth {
            Some(auth) => auth,
            None if secret.is_some() => AuthMethod::Basic,
            None => AuthMethod::None,
        };
        match (auth, &secret) {
            (AuthMethod::Basic | AuthMethod::Post, None) => {
                return Err(Error::Usage(format!(
                    "--auth {} needs a client secret: name the variable holding it with \
                     --client-secret-env VAR, or set TVLOGIN_CLIENT_SECRET",
                    auth.rfc_name()
                )));
            }
            (AuthMethod::None, Some(_)) => {
                return Err(Error::Usage(
                    "a client secret is set but --auth is none; use --auth basic or --auth post"
                        .into(),
                ));
            }
            _ => {}
        }
        let timeout = args.timeout.or(profile.timeout).unwrap_or(30);
        if timeout == 0 {
            return Err(Error::Usage("--timeout must be at least 1 second".into()));
        }
        Ok(Self {
            profile: profile_name,
            source,
            overrides,
            provider,
            client: OAuthClient {
                id: client_id,
                secret,
                auth,
            },
            request: DeviceRequest {
                scope: or(&args.scope, &profile.scope)
                    .or_else(|| preset.as_ref().and_then(|p| p.scope.map(str::to_owned))),
                audience: or(&args.audience, &profile.audience),
                resources: if args.resource.is_empty() {
                    profile.resource.clone().unwrap_or_default()
                } else {
                    args.resource.clone()
                },
            },
            http: HttpSettings {
                timeout: Duration::from_secs(timeout),
                allow_http: args.allow_http || profile.allow_http.unwrap_or(false),
                ..HttpSettings::default()
            },
            store: args.store.or(profile.store),
            client_secret_env: secret_var,
            dpop: args.dpop.or(profile.dpop),
            flow: args.flow.or(profile.flow).unwrap_or_default(),
            redirect: RedirectSettings {
                port: profile.redirect_port,
                path: profile.redirect_path.clone(),
                timeout: match env(BROWSER_TIMEOUT_ENV) {
                    None => RedirectSettings::default().timeout,
                    Some(v) => Duration::from_secs(
                        v.trim()
                            .parse::<u64>()
                            .ok()
                            .filter(|s| *s > 0)
                            .ok_or_else(|| {
                                Error::Usage(format!(
                                    "{BROWSER_TIMEOUT_ENV}={v:?} is not a number of seconds"
                                ))
                            })?,
                    ),
                },
            },
        })
    }

    /// Whether this login binds its session to a DPoP key, given the endpoints found: as asked,
    /// else when the server advertises `dpop_signing_alg_values_supported`.
    pub fn wants_dpop(&self, endpoints: &Endpoints) -> bool {
        self.dpop.unwrap_or(endpoints.dpop_algs.is_some())
    }
}

/// What a profile remembers of its last login is kept with its state (in the store); here
/// is how a resolved configuration becomes one, and how one fills unset settings.
impl RememberedLogin {
    /// What a resolved login configuration says, to be remembered.
    pub fn of(config: &LoginConfig) -> Self {
        let text = |u: &Option<Url>| u.as_ref().map(Url::to_string);
        let (issuer, endpoints) = match &config.source {
            EndpointSource::Discover(issuer) => (
                Some(issuer.to_string()),
                (
                    text(&config.overrides.device_authorization),
                    text(&config.overrides.token),
                    text(&config.overrides.jwks_uri),
                    text(&config.overrides.revocation),
                    text(&config.overrides.introspection),
                    text(&config.overrides.userinfo),
                ),
            ),
            EndpointSource::Fixed(e) => (
                e.issuer.clone(),
                (
                    Some(e.device_authorization.to_string()),
                    Some(e.token.to_string()),
                    text(&e.jwks_uri),
                    text(&e.revocation),
                    text(&e.introspection),
                    text(&e.userinfo),
                ),
            ),
        };
        let (device, token, jwks, revocation, introspection, userinfo) = endpoints;
        Self {
            issuer,
            device_authorization_endpoint: device,
            token_endpoint: token,
            jwks_uri: jwks,
            revocation_endpoint: revocation,
            introspection_endpoint: introspection,
            userinfo_endpoint: userinfo,
            client_id: config.client.id.clone(),
            auth: config.client.auth,
            client_secret_env: config.client_secret_env.clone(),
            scope: config.request.scope.clone(),
            audience: config.request.audience.clone(),
            resources: config.request.resources.clone(),
            allow_http: config.http.allow_http,
            timeout: Some(config.http.timeout.as_secs()),
            dpop: config.dpop,
            session_ended: None,
            flow: Some(config.flow),
        }
    }

    /// Fills the flags that neither `args` (with their variables) nor the config file's
    /// `profile` set. The server is taken as a whole: when the flags or the profile name any
    /// server, nothing of the remembered one is mixed in.
    pub fn fill(&self, args: &mut LoginSettings, profile: &Profile) {
        let names_server = args.issuer.is_some()
            || args.provider.is_some()
            || args.device_authorization_endpoint.is_some()
            || args.token_endpoint.is_some()
            || profile.issuer.is_some()
            || profile.provider.is_some()
            || profile.device_authorization_endpoint.is_some()
            || profile.token_endpoint.is_some();
        if !names_server {
            args.issuer.clone_from(&self.issuer);
            args.device_authorization_endpoint
                .clone_from(&self.device_authorization_endpoint);
            args.token_endpoint.clone_from(&self.token_endpoint);
            let keep = |arg: &mut Option<String>, prof: &Option<String>, mine: &Option<String>| {
                if arg.is_none() && prof.is_none() {
                    arg.clone_from(mine);
                }
            };
            keep(&mut args.jwks_uri, &profile.jwks_uri, &self.jwks_uri);
            keep(
                &mut args.revocation_endpoint,
                &profile.revocation_endpoint,
                &self.revocation_endpoint,
            );
            keep(
                &mut args.introspection_endpoint,
                &profile.introspection_endpoint,
                &self.introspection_endpoint,
            );
            keep(
                &mut args.userinfo_endpoint,
                &profile.userinfo_endpoint,
                &self.userinfo_endpoint,
            );
        }
        if args.client_id.is_none() && profile.client_id.is_none() {
            args.client_id = Some(self.client_id.clone());
        }
        if args.auth.is_none() && profile.auth.is_none() {
            args.auth = Some(self.auth);
        }
        // The secret's variable only with the remembered client: another client id given now
        // has its own secret.
        if args.client_secret_env.is_none()
            && profile.client_secret_env.is_none()
            && profile.client_secret.is_none()
            && args.client_id.as_deref() == Some(self.client_id.as_str())
        {
            args.client_secret_env.clone_from(&self.client_secret_env);
        }
        if args.scope.is_none() && profile.scope.is_none() {
            args.scope.clone_from(&self.scope);
        }
        if args.audience.is_none() && profile.audience.is_none() {
            args.audience.clone_from(&self.audience);
        }
        if args.resource.is_empty() && profile.resource.is_none() {
            args.resource.clone_from(&self.resources);
        }
        if profile.allow_http.is_none() {
            args.allow_http |= self.allow_http;
        }
        if args.timeout.is_none() && profile.timeout.is_none() {
            args.timeout = self.timeout;
        }
        if args.dpop.is_none() && profile.dpop.is_none() {
            args.dpop = self.dpop;
        }
        if args.flow.is_none() && profile.flow.is_none() {
            args.flow = self.flow;
        }
    }
}

/// The client secret for a refresh or revocation in a later process. When login recorded the
/// variable the secret came from, that variable and nothing else: `None` when it is unset
/// (the caller names it), never another source such as `TVLOGIN_CLIENT_SECRET`, which may
/// hold another profile's secret for another server. When no variable was recorded (the
/// secret came from the profile itself, or from a state written before variables were
/// recorded): the profile's `client_secret`, the variable named by the profile, and only
/// then `TVLOGIN_CLIENT_SECRET`.
pub fn stored_client_secret(
    remembered_var: Option<&str>,
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<ClientSecret> {
    let from = |var: &str| env(var).filter(|v| !v.is_empty()).map(ClientSecret::new);
    match remembered_var {
        Some(var) => from(var),
        None => profile
            .client_secret
            .clone()
            .or_else(|| profile.client_secret_env.as_deref().and_then(from))
            .or_else(|| from(GLOBAL_SECRET_ENV)),
    }
}

fn list_or_none<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<_> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The secret and the variable it came from: the variable named by `--client-secret-env`,
/// the variable named by the profile, the profile's own `client_secret`, and only for a
/// client whose chosen method is basic or post, `TVLOGIN_CLIENT_SECRET`.
fn client_secret(
    args: &LoginSettings,
    profile: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
    chosen_auth: Option<AuthMethod>,
) -> Result<(Option<ClientSecret>, Option<String>), Error> {
    let named = |var: &str, origin: &str| {
        env(var)
            .filter(|v| !v.is_empty())
            .map(|v| (Some(ClientSecret::new(v)), Some(var.to_owned())))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{origin} names the environment variable {var}, but it is not set"
                ))
            })
    };
    if let Some(var) = &args.client_secret_env {
        return named(var, "--client-secret-env");
    }
    if let Some(var) = &profile.client_secret_env {
        return named(var, "the profile's client_secret_env");
    }
    if let Some(secret) = &profile.client_secret {
        return Ok((Some(secret.clone()), None));
    }
    // The global variable is a fallback for clients that authenticate; it never turns a
    // public client into one that sends a secret to whichever server is being used.
    if matches!(chosen_auth, Some(AuthMethod::Basic | AuthMethod::Post))
        && let Some(secret) = env(GLOBAL_SECRET_ENV).filter(|v| !v.is_empty())
    {
        return Ok((
            Some(ClientSecret::new(secret)),
            Some(GLOBAL_SECRET_ENV.into()),
        ));
    }
    Ok((None, None))
}

fn registration_hint(provider: Provider) -> &'static str {
    match provider {
        Provider::Github => {
            " (register an OAuth app at github.com/settings/developers and tick \"Enable Device Flow\")"
        }
        Provider::Google => {
            " (create an OAuth client of type \"TVs and Limited Input devices\" in the Google Cloud console)"
        }
        Provider::Microsoft => {
            " (register an app in Entra ID and set \"Allow public client flows\" to yes)"
        }
        Provider::Okta => " (create a Native app with the Device Authorization grant in Okta)",
        Provider::Auth0 => " (create a Native application with the Device Code grant in Auth0)",
        Provider::Keycloak => {
            " (create a client with \"OAuth 2.0 Device Authorization Grant\" enabled in Keycloak)"
        }
    }
}

fn base_url(flag: &str, value: &str) -> Result<Url, Error> {
    let value = value.trim().trim_end_matches('/');
    let text = if value.contains("://") {
        value.to_owned()
    } else {
        format!("https://{value}")
    };
    Url::parse(&text)
        .map_err(|e| Error::Usage(format!("{flag}: {value:?} is not a host or URL ({e})")))
}

fn join(base: &Url, path: &str) -> Result<Url, Error> {
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    Ok(url)
}

/// Builds a provider's endpoints from its documented URL patterns
/// (shared/research/providers.md).
fn preset(
    provider: Provider,
    tenant: Option<&str>,
    domain: Option<&str>,
    realm: Option<&str>,
) -> Result<Preset, Error> {
    let need = |value: Option<&str>, flag: &str, example: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--provider {} needs {flag} (for example {example})",
                    provider_name(provider)
                ))
            })
    };
    let fixed =
        |s: &str| Url::parse(s).map_err(|e| Error::Other(format!("bad preset URL {s}: {e}")));
    Ok(match provider {
        Provider::Github => Preset {
            endpoints: Endpoints {
                issuer: None,
                device_authorization: fixed("https://github.com/login/device/code")?,
                token: fixed("https://github.com/login/oauth/access_token")?,
                jwks_uri: None,
                revocation: None,
                introspection: None,
                userinfo: None,
                dpop_algs: None,
            },
            scope: None,
            auth: None,
        },
        Provider::Google => Preset {
            endpoints: Endpoints {
                issuer: Some("https://accounts.google.com".into()),
                device_authorization: fixed("https://oauth2.googleapis.com/device/code")?,
                token: fixed("https://oauth2.googleapis.com/token")?,
                jwks_uri: Some(fixed("https://www.googleapis.com/oauth2/v3/certs")?),
                revocation: Some(fixed("https://oauth2.googleapis.com/revoke")?),
                introspection: None,
                userinfo: Some(fixed("https://openidconnect.googleapis.com/v1/userinfo")?),
                dpop_algs: None,
            },
            scope: Some("openid email profile"),
            auth: Some(AuthMethod::Post),
        },
        Provider::Microsoft => {
            let tenant = tenant.unwrap_or("common").trim();
            if tenant.is_empty()
                || !tenant
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            {
                return Err(Error::Usage(format!(
                    "--tenant {tenant:?} is not a tenant name or id"
                )));
            }
            let base = fixed(&format!("https://login.microsoftonline.com/{tenant}/"))?;
            // The multi-tenant names have no single issuer: tokens carry the real tenant's.
            let multi = ["common", "organizations", "consumers"].contains(&tenant);
            Preset {
                endpoints: Endpoints {
                    issuer: (!multi)
                        .then(|| format!("https://login.microsoftonline.com/{tenant}/v2.0")),
                    device_authorization: join(&base, "/oauth2/v2.0/devicecode")?,
                    token: join(&base, "/oauth2/v2.0/token")?,
                    jwks_uri: Some(join(&base, "/discovery/v2.0/keys")?),
                    revocation: None,
                    introspection: None,
                    userinfo: Some(fixed("https://graph.microsoft.com/oidc/userinfo")?),
                    dpop_algs: None,
                },
                scope: Some("openid profile offline_access"),
                auth: None,
            }
        }
        Provider::Okta => {
            let base = base_url(
                "--domain",
                &need(domain, "--domain", "dev-123456.okta.com")?,
            )?;
            let issuer = join(&base, "/oauth2/default")?;
            Preset {
                endpoints: Endpoints {
                    issuer: Some(issuer.as_str().to_owned()),
                    device_authorization: join(&issuer, "/v1/device/authorize")?,
                    token: join(&issuer, "/v1/token")?,
                    jwks_uri: Some(join(&issuer, "/v1/keys")?),
                    revocation: Some(join(&issuer, "/v1/revoke")?),
                    introspection: Some(join(&issuer, "/v1/introspect")?),
                    userinfo: Some(join(&issuer, "/v1/userinfo")?),
                    dpop_algs: None,
                },
                scope: Some("openid profile offline_access"),
                auth: None,
            }
        }
        Provider::Auth0 => {
            let base = base_url(
                "--domain",
                &need(domain, "--domain", "example.eu.auth0.com")?,
            )?;
            Preset {
                endpoints: Endpoints {
                    issuer: Some(format!("{}/", base.as_str().trim_end_matches('/'))),
                    device_authorization: join(&base, "/oauth/device/code")?,
                    token: join(&base, "/oauth/token")?,
                    jwks_uri: Some(join(&base, "/.well-known/jwks.json")?),
                    revocation: Some(join(&base, "/oauth/revoke")?),
                    introspection: None,
                    userinfo: Some(join(&base, "/userinfo")?),
                    dpop_algs: None,
                },
                scope: Some("openid profile email offline_access"),
                auth: None,
            }
        }
        Provider::Keycloak => {
            let base = base_url(
                "--domain",
                &need(domain, "--domain", "https://sso.example.com")?,
            )?;
            let realm = need(realm, "--realm", "master")?;
            let realm: String = url::form_urlencoded::byte_serialize(realm.as_bytes()).collect();
            let issuer = join(&base, &format!("/realms/{realm}"))?;
            let oidc = join(&issuer, "/protocol/openid-connect")?;
            Preset {
                endpoints: Endpoints {
                    issuer: Some(issuer.as_str().to_owned()),
                    device_authorization: join(&oidc, "/auth/device")?,
                    token: join(&oidc, "/token")?,
                    jwks_uri: Some(join(&oidc, "/certs")?),
                    revocation: Some(join(&oidc, "/revoke")?),
                    introspection: Some(join(&oidc, "/token/introspect")?),
                    userinfo: Some(join(&oidc, "/userinfo")?),
                    dpop_algs: None,
                },
                scope: Some("openid"),
                auth: None,
            }
        }
    })
}

/// The lowercase name, as typed on the command line.
pub fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Github => "github",
        Provider::Google => "google",
        Provider::Microsoft => "microsoft",
        Provider::Okta => "okta",
        Provider::Auth0 => "auth0",
        Provider::Keycloak => "keycloak",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn resolve(args: LoginSettings, file: &str) -> Result<LoginConfig, Error> {
        let file: ConfigFile = toml::from_str(file).map_err(|e| Error::Usage(e.to_string()))?;
        LoginConfig::resolve(args, &file, Path::new("/cfg/config.toml"), &no_env)
    }

    fn fixed(config: &LoginConfig) -> &Endpoints {
        match &config.source {
            EndpointSource::Fixed(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn presets_build_documented_urls() {
        let table = [
            (
                Provider::Github,
                None,
                None,
                None,
                "https://github.com/login/device/code",
                "https://github.com/login/oauth/access_token",
            ),
            (
                Provider::Google,
                None,
                None,
                None,
                "https://oauth2.googleapis.com/device/code",
                "https://oauth2.googleapis.com/token",
            ),
            (
                Provider::Microsoft,
                Some("contoso.onmicrosoft.com"),
                None,
                None,
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode",
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
            ),
            (
                Provider::Microsoft,
                None,
                None,
                None,
                "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
                "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            ),
            (
                Provider::Okta,
                None,
                Some("dev-1.okta.com"),
                None,
                "https://dev-1.okta.com/oauth2/default/v1/device/authorize",
                "https://dev-1.okta.com/oauth2/default/v1/token",
            ),
            (
                Provider::Auth0,
                None,
                Some("acme.eu.auth0.com"),
                None,
                "https://acme.eu.auth0.com/oauth/device/code",
                "https://acme.eu.auth0.com/oauth/token",
            ),
            (
                Provider::Keycloak,
                None,
                Some("http://localhost:8080/"),
                Some("demo"),
                "http://localhost:8080/realms/demo/protocol/openid-connect/auth/device",
                "http://localhost:8080/realms/demo/protocol/openid-connect/token",
            ),
        ];
        for (provider, tenant, domain, realm, device, token) in table {
            let p = preset(provider, tenant, domain, realm)
                .unwrap_or_else(|e| panic!("{provider:?}: {e}"));
            assert_eq!(p.endpoints.device_authorization.as_str(), device);
            assert_eq!(p.endpoints.token.as_str(), token);
        }
        let ms = preset(Provider::Microsoft, Some("organizations"), None, None).ok();
        assert_eq!(ms.and_then(|p| p.endpoints.issuer), None);
        let kc = preset(
            Provider::Keycloak,
            None,
            Some("sso.example.com"),
            Some("demo"),
        )
        .ok();
        assert_eq!(
            kc.and_then(|p| p.endpoints.issuer).as_deref(),
            Some("https://sso.example.com/realms/demo")
        );
    }

    #[test]
    fn presets_say_what_they_need() {
        for (provider, want) in [
            (Provider::Okta, "--domain"),
            (Provider::Auth0, "--domain"),
            (Provider::Keycloak, "--domain"),
        ] {
            let err = preset(provider, None, None, None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(want), "{err}");
        }
        let err = preset(Provider::Keycloak, None, Some("sso.example.com"), None).err();
        assert!(
            err.map(|e| e.to_string())
                .unwrap_or_default()
                .contains("--realm")
        );
        let err = preset(Provider::Microsoft, Some("a/b"), None, None).err();
        assert!(err.is_some());
    }

    #[test]
    fn flags_win_over_the_profile() {
        let file = r#"
            [profiles.work]
            issuer = "https://idp.example"
            client_id = "from-profile"
            scope = "openid"
            resource = ["https://api.example"]
            timeout = 9
        "#;
        let args = LoginSettings {
            profile: Some("work".into()),
            client_id: Some("from-flag".into()),
            ..LoginSettings::default()
        };
        let config = resolve(args, file).expect("resolve the login configuration");
        assert_eq!(config.client.id, "from-flag");
        assert_eq!(config.request.scope.as_deref(), Some("openid"));
        assert_eq!(config.request.resources, ["https://api.example"]);
        assert_eq!(config.http.timeout, Duration::from_secs(9));
        assert_eq!(
            config.source,
            EndpointSource::Discover(Url::parse("https://idp.example").expect("parse the URL"))
        );
    }

    #[test]
    fn explicit_endpoints_beat_discovery_and_presets() {
        let args = LoginSettings {
            provider: Some(Provider::Github),
            token_endpoint: Some("https://ghe.example/login/oauth/access_token".into()),
            device_authorization_endpoint: Some("https://ghe.example/login/device/code".into()),
            client_id: Some("c".into()),
            ..LoginSettings::default()
        };
        let config = resolve(args, "").expect("resolve the login configuration");
        assert_eq!(
            fixed(&config).token.as_str(),
            "https://ghe.example/login/oauth/access_token"
        );
        // A single override applies over a preset.
        let args = LoginSettings {
            provider: Some(Provider::Github),
            revocation_endpoint: Some("https://api.github.com/applications/c/token".into()),
            client_id: Some("c".into()),
            ..LoginSettings::default()
        };
        let config = resolve(args, "").expect("resolve the login configuration");
        assert_eq!(
            fixed(&config).token.as_str(),
            "https://github.com/login/oauth/access_token"
        );
        assert!(fixed(&config).revocation.is_some());
    }

    /// With an issuer, every endpoint setting replaces its discovered value on its own (the
    /// metadata is read, then the settings applied); without one, the device and token
    /// endpoints are both needed. The profile's name changes none of it.
    #[test]
    fn endpoint_settings_override_discovery_one_by_one() {
        let d = "https://idp.example/device";
        let t = "https://idp.example/token";
        let r = "https://idp.example/revoke";
        let discover = Ok("discover");
        let fixed = Ok("fixed");
        // issuer, device, token, revocation, profile → source, or the error's words.
        type Row<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Result<&'a str, &'a str>,
        );
        let iss = Some("https://idp.example");
        let table: Vec<Row<'_>> = vec![
            (iss, None, None, None, None, discover),
            (iss, Some(d), None, None, None, discover),
            (iss, None, Some(t), None, None, discover),
            (iss, Some(d), Some(t), Some(r), None, discover),
            (iss, None, None, Some(r), Some("newprof"), discover),
            (None, Some(d), Some(t), None, None, fixed),
            (None, Some(d), Some(t), None, Some("newprof"), fixed),
            (
                None,
                Some(d),
                None,
                None,
                None,
                Err("needs --token-endpoint too"),
            ),
            (
                None,
                Some(d),
                None,
                None,
                Some("newprof"),
                Err("needs --token-endpoint too"),
            ),
            (
                None,
                None,
                Some(t),
                None,
                Some("newprof"),
                Err("needs --device-authorization-endpoint too"),
            ),
            (
                None,
                None,
                None,
                Some(r),
                Some("newprof"),
                Err("no profile named \"newprof\""),
            ),
            (
                None,
                None,
                None,
                None,
                Some("newprof"),
                Err("no profile named \"newprof\""),
            ),
            (
                None,
                None,
                None,
                None,
                None,
                Err("no authorization server given"),
            ),
        ];
        for (issuer, device, token, revocation, profile, want) in table {
            let args = LoginSettings {
                profile: profile.map(str::to_owned),
                issuer: issuer.map(str::to_owned),
                device_authorization_endpoint: device.map(str::to_owned),
                token_endpoint: token.map(str::to_owned),
                revocation_endpoint: revocation.map(str::to_owned),
                client_id: Some("c".into()),
                ..LoginSettings::default()
            };
            let row = format!("{issuer:?} {device:?} {token:?} {revocation:?} {profile:?}");
            match (resolve(args, "[profiles.work]\nclient_id = 'w'\n"), want) {
                (Ok(config), Ok(kind)) => {
                    let got = match &config.source {
                        EndpointSource::Discover(_) => "discover",
                        EndpointSource::Fixed(_) => "fixed",
                    };
                    assert_eq!(got, kind, "{row}");
                    fn set(u: &Option<Url>) -> Option<&str> {
                        u.as_ref().map(Url::as_str)
                    }
                    if kind == "discover" {
                        assert_eq!(set(&config.overrides.device_authorization), device, "{row}");
                        assert_eq!(set(&config.overrides.token), token, "{row}");
                        assert_eq!(set(&config.overrides.revocation), revocation, "{row}");
                    }
                }
                (Err(e), Err(words)) => {
                    assert!(e.to_string().contains(words), "{row}: {e}");
                    assert_eq!(e.exit().code(), 2, "{row}");
                }
                (got, want) => panic!("{row}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn usage_errors_are_specific() {
        let cases: Vec<(LoginSettings, &str, &str)> = vec![
            (
                LoginSettings::default(),
                "",
                "no authorization server given",
            ),
            (
                LoginSettings {
                    issuer: Some("https://i.example".into()),
                    ..Default::default()
                },
                "",
                "no client id",
            ),
            (
                LoginSettings {
                    provider: Some(Provider::Github),
                    ..Default::default()
                },
                "",
                "Enable Device Flow",
            ),
            (
                LoginSettings {
                    issuer: Some("not a url".into()),
                    client_id: Some("c".into()),
                    ..Default::default()
                },
                "",
                "--issuer",
            ),
            (
                LoginSettings {
                    token_endpoint: Some("https://t.example".into()),
                    client_id: Some("c".into()),
                    ..Default::default()
                },
                "",
                "needs --device-authorization-endpoint",
            ),
            (
                LoginSettings {
                    profile: Some("nope".into()),
                    ..Default::default()
                },
                "[profiles.work]\nclient_id='x'",
                "no profile named \"nope\"",
            ),
            (
                LoginSettings {
                    issuer: Some("https://i.example".into()),
                    client_id: Some("c".into()),
                    auth: Some(AuthMethod::Basic),
                    ..Default::default()
                },
                "",
                "needs a client secret",
            ),
            (
                LoginSettings {
                    issuer: Some("https://i.example".into()),
                    client_id: Some("c".into()),
                    client_secret_env: Some("UNSET_VAR".into()),
                    ..Default::default()
                },
                "",
                "UNSET_VAR",
            ),
            (
                LoginSettings {
                    issuer: Some("https://i.example".into()),
                    client_id: Some("c".into()),
                    timeout: Some(0),
                    ..Default::default()
                },
                "",
                "--timeout",
            ),
        ];
        for (args, file, want) in cases {
            let err = resolve(args.clone(), file).err();
            let text = err.as_ref().map(ToString::to_string).unwrap_or_default();
            assert!(text.contains(want), "{args:?}: {text}");
            assert_eq!(err.map(|e| e.exit().code()), Some(2), "{args:?}");
        }
        let bad_file: Result<ConfigFile, _> = toml::from_str("[profiles.x]\nunknown_key = 1");
        assert!(bad_file.is_err());
    }

    #[test]
    fn secrets_come_from_the_environment_or_the_profile() {
        let env = |var: &str| (var == "MY_SECRET").then(|| "s3cret".to_string());
        let args = LoginSettings {
            issuer: Some("https://i.example".into()),
            client_id: Some("c".into()),
            client_secret_env: Some("MY_SECRET".into()),
            ..LoginSettings::default()
        };
        let config = LoginConfig::resolve(args, &ConfigFile::default(), Path::new("c"), &env)
            .expect("resolve the login configuration");
        assert_eq!(
            config.client.secret.as_ref().map(|s| s.secret().as_str()),
            Some("s3cret")
        );
        assert_eq!(config.client.auth, AuthMethod::Basic);
        assert!(!format!("{config:?}").contains("s3cret"));

        let file: ConfigFile = toml::from_str(
            "[profiles.default]\nissuer='https://i.example'\nclient_id='c'\nclient_secret='p'\nauth='post'",
        )
        .unwrap_or_default();
        let config = LoginConfig::resolve(LoginSettings::default(), &file, Path::new("c"), &no_env)
            .expect("resolve the login configuration");
        assert_eq!(config.client.auth, AuthMethod::Post);
        assert!(!format!("{file:?}").contains("'p'"));
        // Google defaults to client_secret_post.
        let args = LoginSettings {
            provider: Some(Provider::Google),
            client_id: Some("c".into()),
            ..LoginSettings::default()
        };
        let env = |var: &str| (var == "TVLOGIN_CLIENT_SECRET").then(|| "g".to_string());
        let config = LoginConfig::resolve(args, &ConfigFile::default(), Path::new("c"), &env)
            .expect("resolve the login configuration");
        assert_eq!(config.client.auth, AuthMethod::Post);
    }

    #[test]
    fn the_example_config_resolves_for_every_profile() {
        let file: ConfigFile = toml::from_str(include_str!("../assets/config.example.toml"))
            .unwrap_or_else(|e| panic!("assets/config.example.toml: {e}"));
        assert_eq!(file.profiles.len(), 8);
        // The profile for `tvlogin serve` names the client serve registers, on this machine.
        let local = &file.profiles["local"];
        assert_eq!(
            local.client_id.as_deref(),
            Some(tvlogin_server::DEMO_CLIENT_ID)
        );
        assert!(
            local
                .issuer
                .as_deref()
                .is_some_and(|i| i.starts_with("http://127.0.0.1:")),
            "{local:?}"
        );
        let env = |var: &str| var.ends_with("_CLIENT_SECRET").then(|| "s".to_string());
        for name in file.profiles.keys() {
            let args = LoginSettings {
                profile: Some(name.clone()),
                ..LoginSettings::default()
            };
            LoginConfig::resolve(args, &file, Path::new("example"), &env)
                .unwrap_or_else(|e| panic!("profile {name}: {e}"));
        }
    }

    #[test]
    fn config_errors_never_quote_the_file() {
        let dir = tempfile::tempdir().expect("make a temporary directory");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[profiles.x]\nclient_secret = 'hunter2\n").expect("write the file");
        let err = ConfigFile::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("is not valid at line 2"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn the_global_secret_never_makes_a_public_client_send_one() {
        let env = |var: &str| (var == GLOBAL_SECRET_ENV).then(|| "global".to_string());
        let public = LoginSettings {
            issuer: Some("https://i.example".into()),
            client_id: Some("c".into()),
            ..LoginSettings::default()
        };
        let config = LoginConfig::resolve(public, &ConfigFile::default(), Path::new("c"), &env)
            .expect("resolve the login configuration");
        assert_eq!(config.client.auth, AuthMethod::None);
        assert!(config.client.secret.is_none());
        // A profile's own source wins over the global variable.
        let file: ConfigFile = toml::from_str(
            "[profiles.default]\nissuer='https://i.example'\nclient_id='c'\nclient_secret_env='MINE'\nauth='basic'",
        )
        .unwrap_or_default();
        let env = |var: &str| match var {
            "MINE" => Some("mine".to_string()),
            GLOBAL_SECRET_ENV => Some("global".to_string()),
            _ => None,
        };
        let config = LoginConfig::resolve(LoginSettings::default(), &file, Path::new("c"), &env)
            .expect("resolve the login configuration");
        assert_eq!(
            config.client.secret.as_ref().map(|s| s.secret().as_str()),
            Some("mine")
        );
        assert_eq!(config.client_secret_env.as_deref(), Some("MINE"));
    }

    #[test]
    fn settings_from_the_environment_are_what_login_would_read() {
        let env = |k: &str| {
            match k {
                "TVLOGIN_PROFILE" => Some("elsewhere"),
                "TVLOGIN_ISSUER" => Some("https://idp.example"),
                "TVLOGIN_PROVIDER" => Some("keycloak"),
                "TVLOGIN_CLIENT_ID" => Some(""),
                "TVLOGIN_SCOPE" => Some("openid"),
                "TVLOGIN_STORE" => Some("file"),
                _ => None,
            }
            .map(str::to_owned)
        };
        let s = LoginSettings::from_env("work", &env).expect("settings");
        assert_eq!(
            s,
            LoginSettings {
                // The profile asked for, not TVLOGIN_PROFILE.
                profile: Some("work".into()),
                issuer: Some("https://idp.example".into()),
                provider: Some(Provider::Keycloak),
                // Set but empty still counts, as clap reads it (resolving then says no client
                // id was given, as `login` does).
                client_id: Some(String::new()),
                scope: Some("openid".into()),
                store: Some(Backend::File),
                ..LoginSettings::default()
            }
        );
        for (var, value) in [
            ("TVLOGIN_PROVIDER", "GitHub"),
            ("TVLOGIN_STORE", "disk\u{1b}"),
        ] {
            let env = |k: &str| (k == var).then(|| value.to_owned());
            let err = LoginSettings::from_env("p", &env).expect_err(var);
            let text = err.to_string();
            assert!(text.contains(var), "{text}");
            assert!(!text.contains('\u{1b}'), "{text}");
            assert_eq!(err.exit().code(), 2, "{text}");
        }
    }

    #[test]
    fn the_flow_is_remembered_and_flags_and_profiles_win() {
        let file: ConfigFile = toml::from_str(
            "[profiles.b]\nissuer = \"https://idp.example\"\nclient_id = \"c\"\nflow = \"device\"\n\
             redirect_port = 8400\nredirect_path = \"/cb\"\n",
        )
        .expect("parse");
        let args = LoginSettings {
            issuer: Some("https://idp.example".into()),
            client_id: Some("c".into()),
            flow: Some(LoginFlow::Browser),
            ..LoginSettings::default()
        };
        let config = LoginConfig::resolve(args, &ConfigFile::default(), Path::new("x"), &|_| None)
            .expect("resolve");
        assert_eq!(config.flow, LoginFlow::Browser);
        let memory = RememberedLogin::of(&config);
        assert_eq!(memory.flow, Some(LoginFlow::Browser));
        // `login --profile P` alone again: the remembered flow.
        let again = LoginConfig::resolve_remembering(
            LoginSettings::default(),
            &ConfigFile::default(),
            Path::new("x"),
            &|_| None,
            Some(&memory),
        )
        .expect("resolve again");
        assert_eq!(again.flow, LoginFlow::Browser);
        // The profile's own flow wins over the remembered one; its redirect settings apply.
        let profile = LoginConfig::resolve_remembering(
            LoginSettings {
                profile: Some("b".into()),
                ..LoginSettings::default()
            },
            &file,
            Path::new("x"),
            &|_| None,
            Some(&memory),
        )
        .expect("resolve the profile");
        assert_eq!(profile.flow, LoginFlow::Device);
        assert_eq!(profile.redirect.port, Some(8400));
        assert_eq!(profile.redirect.path.as_deref(), Some("/cb"));
        // Nothing said: the device flow; the browser wait from its variable.
        let plain = LoginConfig::resolve(
            LoginSettings {
                issuer: Some("https://idp.example".into()),
                client_id: Some("c".into()),
                ..LoginSettings::default()
            },
            &ConfigFile::default(),
            Path::new("x"),
            &|k| (k == BROWSER_TIMEOUT_ENV).then(|| "7".to_owned()),
        )
        .expect("resolve plain");
        assert_eq!(plain.flow, LoginFlow::Device);
        assert_eq!(plain.redirect.timeout, Duration::from_secs(7));
    }
}
