//! Command-line flags as the user types them (clap). Doc comments here are the `--help`
//! text. Nothing outside this module and `config.rs` sees clap's types: flags are resolved
//! once into a [`crate::config::LoginConfig`].

use clap::{Args, Parser, Subcommand};

use crate::config::{self, LoginSettings, Provider};
use crate::oauth::authcode::LoginFlow;
use crate::oauth::client::AuthMethod;
use crate::store::Backend;

/// Log a terminal into an OAuth 2.0 / OpenID Connect provider the way a smart TV does
/// (RFC 8628 device authorization grant).
#[derive(Debug, Parser)]
#[command(
    name = "tvlogin",
    version,
    propagate_version = true,
    after_help = format!("{NO_COMMAND}\n\nExit codes: {}", crate::exit::contract_text())
)]
pub struct Cli {
    /// What to do; without a command, the dashboard of stored profiles (a plain table like
    /// `tvlogin status` when stdout is not a terminal).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What bare `tvlogin` does, said once for `--help` and the man page.
pub const NO_COMMAND: &str = "Without a command, tvlogin opens the dashboard of stored profiles \
     (a live view: countdowns, refresh, login, inspect); when stdout is not a terminal it \
     prints the table `tvlogin status` prints.";

/// The program name under which tvlogin speaks docker's credential-helper protocol.
pub const DOCKER_HELPER_NAME: &str = "docker-credential-tvlogin";

/// The process's arguments as clap should see them: run as `docker-credential-tvlogin OP`
/// (docker's naming), they become `tvlogin docker-credential OP`.
pub fn args_os() -> Vec<std::ffi::OsString> {
    rewrite_args(std::env::args_os().collect())
}

/// Parses the process's command line the way `Cli::parse_from(args_os())` does: help,
/// version and usage errors are printed and exit exactly as clap does it.
///
/// Building clap's whole command tree (every subcommand's flags and help) costs about as much
/// as the rest of a quick command's start-up, so the commands that scripts and helpers run
/// often (`inspect`, `token`, and the git, kubectl and docker credential helpers) are first
/// parsed with their own flags alone. That small parser accepts a subset of what the full one
/// accepts, with the same meaning; whatever it does not accept (`--help`, `--version`, a
/// mistake) is handed to the full parser, which prints what it always printed. Both read the
/// one clap definition of each command's flags.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let args = args_os();
    if let Some(cli) = parse_quick(&args) {
        return cli;
    }
    let mut command = Cli::command();
    let cli = match command.try_get_matches_from_mut(args) {
        Ok(mut matches) => Cli::from_arg_matches_mut(&mut matches)
            .unwrap_or_else(|e| e.format(&mut Cli::command()).exit()),
        Err(e) => e.exit(),
    };
    // The process exits soon: freeing the tree would cost about as much as building it.
    std::mem::forget(command);
    cli
}

/// The quick parse of [`parse`]: `Some` only when the subcommand's own flags alone accept
/// the arguments.
fn parse_quick(args: &[std::ffi::OsString]) -> Option<Cli> {
    fn one<A: clap::Args + clap::FromArgMatches>(
        name: &'static str,
        rest: &[std::ffi::OsString],
        wrap: fn(A) -> Command,
    ) -> Option<Cli> {
        let command = A::augment_args(clap::Command::new(name).no_binary_name(true));
        let mut matches = command.try_get_matches_from(rest).ok()?;
        let parsed = A::from_arg_matches_mut(&mut matches).ok()?;
        Some(Cli {
            command: Some(wrap(parsed)),
        })
    }
    let name = args.get(1)?.to_str()?;
    let rest = &args[2..];
    match name {
        "inspect" => one("inspect", rest, Command::Inspect),
        "token" => one("token", rest, Command::Token),
        "git-credential" => one("git-credential", rest, Command::GitCredential),
        "kubectl-credential" => one("kubectl-credential", rest, Command::KubectlCredential),
        "docker-credential" => one("docker-credential", rest, Command::DockerCredential),
        _ => None,
    }
}

fn rewrite_args(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let invoked_as = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .is_some_and(|stem| stem == DOCKER_HELPER_NAME);
    if invoked_as {
        args[0] = "tvlogin".into();
        args.insert(1, "docker-credential".into());
    }
    args
}

/// The subcommands.
// Parsed once per process; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in with the device flow: shows a URL and a code, waits for approval
    ///
    /// Plain text goes to stderr; with --json, one JSON object per line goes to stdout.
    /// Exit codes: 0 ok, 1 failure, 2 usage or configuration, 3 access denied,
    /// 4 code expired, 5 network or server error, 130 cancelled. `tvlogin login --profile P`
    /// alone logs in again the way P last did (flags still win).
    Login(LoginArgs),
    /// Print a valid access token on stdout, refreshing it first when needed
    ///
    /// Never starts a login. stdout holds the token and a newline, nothing else (with
    /// --json: one JSON document). Exit codes: 0 ok, 2 configuration, 5 network or server
    /// error, 7 not logged in or the session has ended (log in again:
    /// `tvlogin token || tvlogin login`), 128+N a signal arrived (the refresh in progress was
    /// finished and stored first).
    Token(TokenArgs),
    /// Send one HTTP request with a profile's authorization, like `gh api`
    ///
    /// Bearer sessions send `Authorization: Bearer`; sessions bound to this machine's key
    /// (DPoP) send `Authorization: DPoP` and a fresh proof, answer a resource server's nonce
    /// challenge once, and refresh once on `invalid_token`. The body goes to stdout (-i adds
    /// the status line and headers). Redirects are not followed. Exit codes: 0 for a 2xx
    /// status, 8 for any other status, 5 network error, 7 not logged in, 2 usage.
    Api(ApiArgs),
    /// Show the stored profiles: issuer, subject, scopes, store, time left on the tokens
    ///
    /// Reads only the state files (never a keyring), and never starts a login.
    Status(StatusArgs),
    /// Refresh a profile's tokens now
    ///
    /// Exit codes as for `token`: 7 when the server has ended the session.
    Refresh(ProfileArgs),
    /// Revoke a profile's refresh and access tokens (RFC 7009), then delete them locally
    ///
    /// The local copies are deleted even when revocation fails; each step is reported. The
    /// profile remembers how it logged in (`tvlogin login --profile P` alone logs in again)
    /// unless --forget is given. Exit 0 also when the server cannot revoke a token type or
    /// refuses public clients (reported); 5 when the refresh token may still be live.
    Logout(LogoutArgs),
    /// Check the token stores, config and data paths, and the issuers' reachability and clocks
    Doctor(DoctorArgs),
    /// Log in against the embedded authorization server: the whole flow with no account
    Demo(DemoArgs),
    /// Run the embedded authorization server in the foreground, for testing other clients
    ///
    /// Prints the issuer URL on stdout, then serves until Ctrl-C. Registered clients:
    /// tvlogin-demo (public), tvlogin-basic / basic-secret (client_secret_basic),
    /// tvlogin-post / post-secret (client_secret_post). With --grade it grades the
    /// device-flow clients that log in against it: a report card per flow on stdout.
    Serve(ServeArgs),
    /// Decode a JWT or opaque token and check it against the issuer's keys
    ///
    /// The token is read from FILE or stdin, never from the command line. A TUI on a terminal,
    /// plain text otherwise. One verdict: verified (the signature, or the issuer's
    /// introspection, vouches for it and every check passed), invalid, or unverified. Exit
    /// codes: 0 verified, or unverified by a plain decode (no --jwks, --issuer or --secret-env);
    /// 6 invalid, not a token, or not verifiable with the key source given (the reason is
    /// shown); 2 usage.
    Inspect(InspectArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    ///
    /// For example: `tvlogin completions bash > ~/.local/share/bash-completion/completions/tvlogin`
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `tvlogin man | man -l -`
    ///
    /// With --dir DIR, write it as DIR/tvlogin.1 with a page per command beside it
    /// (tvlogin-login.1, tvlogin-setup-git.1, …) and print the files' paths.
    Man {
        /// Write the pages into this directory (created when missing) instead of stdout
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
    /// Run a command with a valid access token in an environment variable
    ///
    /// The token goes into NAME (default BEARER_TOKEN, the WLCG bearer-token convention);
    /// client secrets are removed from the command's environment. The command replaces
    /// tvlogin (Unix), so its exit status and signals are its own. Without a session, a
    /// device login runs on stderr when it is a terminal. As in shells: exit 127 when the
    /// command is not found (a missing path, or not on PATH), 126 when it cannot be executed.
    Exec(ExecArgs),
    /// git's credential helper: `get` answers with the access token as the password
    ///
    /// Set it up with `tvlogin setup git URL`. Answers only where the profile was set up to
    /// send its token: a profile with `git_hosts` only for those (exact host and port; a path
    /// in the setting is matched when git sends one, with credential.useHttpPath), with or
    /// without --profile; without --profile, the profile whose `git_hosts` holds the host,
    /// else nobody; a profile without `git_hosts` only when named by --profile. Always over
    /// https, or http to this machine only. Otherwise it prints nothing and exits 0, so git
    /// asks its next helper. Without a session, a device login runs on /dev/tty when it can
    /// be opened; otherwise it fails at once with a hint on stderr.
    GitCredential(GitCredentialArgs),
    /// kubectl's exec credential plugin: one client.authentication.k8s.io/v1 ExecCredential
    ///
    /// Set it up with `tvlogin setup kubectl`. Human text goes to stderr only. When kubectl
    /// names the cluster (provideClusterInfo: true), its server must be https (or http to
    /// this machine) and, when the profile lists `kube_servers`, one of them exactly; a
    /// profile with `kube_servers` needs kubectl to name it. Otherwise: no token, exit 2.
    KubectlCredential(KubectlCredentialArgs),
    /// Docker's credential helper protocol (also run as `docker-credential-tvlogin`)
    ///
    /// Set it up with `tvlogin setup docker REGISTRY`. Registries map to profiles through
    /// `docker_registries` in config.toml (exact host and port); only over https (a bare
    /// host means https), or http to this machine. Anything else is "credentials not found".
    DockerCredential(DockerCredentialArgs),
    /// Configure git, kubectl or docker to get their tokens from tvlogin
    ///
    /// Shows what it changes; --dry-run shows the diff without writing. Running it again
    /// changes nothing. An entry tvlogin did not write is never replaced without --force
    /// (which backs the file up first). `tvlogin setup TOOL ARGS --undo` removes what setup
    /// added, and nothing else.
    Setup(SetupArgs),
}

/// Flags of `tvlogin login`. Flags win over environment variables, which win over the
/// profile in config.toml.
#[derive(Debug, Clone, Default, Args)]
pub struct LoginArgs {
    /// Profile in config.toml to read settings from (and, later, to store tokens under)
    #[arg(long, env = config::PROFILE_ENV, value_name = "NAME")]
    pub profile: Option<String>,
    /// Issuer URL; endpoints come from its metadata (the OpenID and RFC 8414 documents,
    /// merged), and each endpoint flag below replaces its discovered value on its own
    #[arg(long, env = config::ISSUER_ENV, value_name = "URL")]
    pub issuer: Option<String>,
    /// Device authorization endpoint (over discovery; without --issuer, needs --token-endpoint)
    #[arg(long, value_name = "URL")]
    pub device_authorization_endpoint: Option<String>,
    /// Token endpoint (over discovery; without --issuer, needs --device-authorization-endpoint)
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,
    /// JWKS URL, for checking token signatures
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,
    /// RFC 7009 revocation endpoint
    #[arg(long, value_name = "URL")]
    pub revocation_endpoint: Option<String>,
    /// RFC 7662 introspection endpoint
    #[arg(long, value_name = "URL")]
    pub introspection_endpoint: Option<String>,
    /// OpenID Connect userinfo endpoint
    #[arg(long, value_name = "URL")]
    pub userinfo_endpoint: Option<String>,
    /// Use a provider's known endpoints and quirks
    #[arg(long, env = config::PROVIDER_ENV, value_enum)]
    pub provider: Option<Provider>,
    /// Microsoft Entra tenant: common, organizations, consumers, a domain or a GUID
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// Okta or Auth0 domain (e.g. dev-123.okta.com), or Keycloak base URL
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Keycloak realm
    #[arg(long, value_name = "REALM")]
    pub realm: Option<String>,
    /// OAuth client id
    #[arg(long, env = config::CLIENT_ID_ENV, value_name = "ID")]
    pub client_id: Option<String>,
    /// Name of the environment variable holding the client secret (never the secret itself;
    /// with --auth basic|post and nothing else naming one, TVLOGIN_CLIENT_SECRET is read)
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,
    /// How the client authenticates [default: basic with a secret, none without]
    #[arg(long, value_enum)]
    pub auth: Option<AuthMethod>,
    /// Space-separated scopes to request
    #[arg(long, env = config::SCOPE_ENV, value_name = "SCOPES")]
    pub scope: Option<String>,
    /// Audience (API identifier) to request, for providers that use it (Auth0)
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,
    /// RFC 8707 resource indicator; repeat for several
    #[arg(long, value_name = "URI")]
    pub resource: Vec<String>,
    /// Where to keep the tokens: the OS keyring (default), a private file in the data
    /// directory, or memory (this run only). Remembered per profile
    #[arg(
        long,
        env = config::STORE_ENV,
        value_enum,
        value_name = "keyring|file|memory"
    )]
    pub store: Option<Backend>,
    /// Never open a browser (the login screen's `o` says why instead); the URL, code and QR
    /// code are shown as always
    #[arg(long)]
    pub no_browser: bool,
    /// Plain text output even on a terminal
    #[arg(long)]
    pub no_tui: bool,
    /// In plain text output, no QR code on stderr (it is only printed when stderr is a
    /// terminal)
    #[arg(long)]
    pub no_qr: bool,
    /// One JSON object per line on stdout (events: device_authorization, authorization_url,
    /// poll, slow_down, tokens, error)
    #[arg(long)]
    pub json: bool,
    /// Allow http:// to hosts other than loopback (tokens then cross the network in clear)
    #[arg(long)]
    pub allow_http: bool,
    /// Timeout for each HTTP request, in seconds [default: 30]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Bind the session to a key of this machine (DPoP, RFC 9449): tokens are useless
    /// elsewhere [default: on when the server advertises DPoP, unless the profile says
    /// dpop = false]
    #[arg(long, conflicts_with = "no_dpop")]
    pub dpop: bool,
    /// Never bind the session to a key, even when the server advertises DPoP
    #[arg(long)]
    pub no_dpop: bool,
    /// How to log in: device (a code to enter elsewhere; the default), browser (a browser on
    /// this machine, authorization code with PKCE), auto (browser when one can be opened here,
    /// else device). Remembered with the login
    #[arg(long, value_enum, value_name = "FLOW")]
    pub flow: Option<LoginFlow>,
}

/// The flags that say how to log in, for the configuration to merge over the profile (the
/// rest of [`LoginArgs`] says how to show the login).
impl From<&LoginArgs> for LoginSettings {
    fn from(args: &LoginArgs) -> Self {
        Self {
            profile: args.profile.clone(),
            issuer: args.issuer.clone(),
            device_authorization_endpoint: args.device_authorization_endpoint.clone(),
            token_endpoint: args.token_endpoint.clone(),
            jwks_uri: args.jwks_uri.clone(),
            revocation_endpoint: args.revocation_endpoint.clone(),
            introspection_endpoint: args.introspection_endpoint.clone(),
            userinfo_endpoint: args.userinfo_endpoint.clone(),
            provider: args.provider,
            tenant: args.tenant.clone(),
            domain: args.domain.clone(),
            realm: args.realm.clone(),
            client_id: args.client_id.clone(),
            client_secret_env: args.client_secret_env.clone(),
            auth: args.auth,
            scope: args.scope.clone(),
            audience: args.audience.clone(),
            resource: args.resource.clone(),
            store: args.store,
            allow_http: args.allow_http,
            timeout: args.timeout,
            dpop: match (args.dpop, args.no_dpop) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            flow: args.flow,
        }
    }
}

/// Flags of `tvlogin token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Profile whose token to print
    #[arg(long, env = "TVLOGIN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Print the OpenID Connect id token instead of the access token
    #[arg(long)]
    pub id_token: bool,
    /// Print {token, token_type, expires_at, expires_in, scope} as one JSON document
    /// (expires_at in Unix seconds, expires_in in seconds left); same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// bare: the token; header: `Authorization: Bearer <token>`; json: as --json;
    /// env: `export BEARER_TOKEN=…` and `export BEARER_TOKEN_EXPIRES_AT=…` for `eval`
    /// dpop: `Authorization: DPoP <token>` and `DPoP: <proof>` for one request (needs
    /// --method and --url), for a session bound to this machine's key
    #[arg(long, value_enum, value_name = "bare|header|json|env|dpop")]
    pub format: Option<TokenFormat>,
    /// Refresh first when the token has less than this many seconds left (capped at half
    /// the token's lifetime)
    #[arg(long, value_name = "SECS", default_value_t = crate::session::DEFAULT_MIN_TTL)]
    pub min_ttl: u64,
    /// With --format dpop: the HTTP method of the request the proof is for
    #[arg(long, value_name = "METHOD", requires = "url")]
    pub method: Option<String>,
    /// With --format dpop: the URL of the request the proof is for (query and fragment are
    /// not part of the proof)
    #[arg(long, value_name = "URL", requires = "method")]
    pub url: Option<String>,
}

/// How `tvlogin token` prints the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenFormat {
    /// The token and a newline.
    Bare,
    /// An HTTP `Authorization` header line.
    Header,
    /// One JSON document.
    Json,
    /// Shell `export` lines.
    Env,
    /// `Authorization: DPoP <token>` and `DPoP: <proof>` (RFC 9449) for one request.
    Dpop,
}

/// Flags of `tvlogin api`.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Profile whose session authorizes the request
    #[arg(long, env = "TVLOGIN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// HTTP method [default: GET, or POST when a body is given]
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// A request header, `Name: value` (repeatable); Authorization and DPoP are tvlogin's
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The request body
    #[arg(
        short = 'd',
        long = "data",
        value_name = "DATA",
        conflicts_with = "data_file"
    )]
    pub data: Option<String>,
    /// The request body from a file (- for stdin)
    #[arg(long = "data-file", value_name = "FILE")]
    pub data_file: Option<std::path::PathBuf>,
    /// Print the status line and the response headers before the body
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// The URL (https, or http to this machine)
    pub url: String,
}

/// Flags of `tvlogin status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// One JSON document on stdout
    #[arg(long)]
    pub json: bool,
}

/// Flags of commands acting on one profile (`refresh`, `logout`).
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// The profile
    #[arg(long, env = "TVLOGIN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
}

/// Flags of `tvlogin logout`.
#[derive(Debug, Clone, Args)]
pub struct LogoutArgs {
    /// The profile
    #[arg(long, env = "TVLOGIN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Also forget how the profile logged in (server, client, scopes) and its store choice
    #[arg(long)]
    pub forget: bool,
    /// Limit for each revocation request, in seconds
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub timeout: u64,
}

/// Flags of `tvlogin doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Also check this issuer's reachability and clock (besides the profiles' issuers)
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// One JSON document on stdout
    #[arg(long)]
    pub json: bool,
}

/// Flags of `tvlogin demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Which provider's behaviour the embedded server replays
    #[arg(
        long,
        default_value = "rfc",
        value_name = "rfc|github|google|microsoft|auth0|keycloak"
    )]
    pub quirks: tvlogin_server::Quirks,
    /// Approve each code automatically this many seconds after it was issued (for recordings
    /// and scripts)
    #[arg(long, value_name = "SECS")]
    pub approve_after: Option<u64>,
    /// One JSON object per line on stdout, as `login --json`
    #[arg(long)]
    pub json: bool,
    /// Plain text output even on a terminal
    #[arg(long)]
    pub no_tui: bool,
    /// In plain text output, no QR code on stderr
    #[arg(long)]
    pub no_qr: bool,
}

/// Flags of `tvlogin serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Which provider's documented behaviour to replay (hostile: RFC behaviour whose free text
    /// carries terminal controls, for testing a client's escaping; dot: django-oauth-toolkit's
    /// rules: no device endpoint in discovery, revocation and introspection only in the RFC
    /// 8414 document, exact form content type, client_id in the body with Basic, no
    /// slow_down, the ID token only with a refresh)
    #[arg(
        long,
        default_value = "rfc",
        value_name = "rfc|github|google|microsoft|auth0|keycloak|hostile|dot"
    )]
    pub quirks: tvlogin_server::Quirks,
    /// Polling interval the server asks for, in seconds
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub interval: u64,
    /// Lifetime of device and user codes, in seconds
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub device_code_ttl: u64,
    /// Lifetime of access tokens, in seconds
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub access_token_ttl: u64,
    /// A real server's behaviour to replay (repeatable): refresh-delay-ms=N,
    /// refresh-errors-empty, lowercase-token-type, revoke-jwt-unsupported,
    /// revoke-jwt-ignored, revoke-refuses-public, revoke-status=N, revoke-delay-ms=N,
    /// no-device-endpoint-discovered, endpoints-only-in-rfc8414, exact-content-type,
    /// client-id-with-basic, never-slow-down, no-interval, errors-with-200,
    /// id-token-only-on-refresh, introspection-needs-secret, device-grant-blocked,
    /// verification-uri=URL, dpop-nonce (DPoP proofs must carry a server nonce, rotated),
    /// dpop-bind-refresh-only (bearer access tokens, DPoP-bound refresh tokens, as Google does)
    #[arg(long = "knob", value_name = "NAME[=VALUE]")]
    pub knobs: Vec<String>,
    /// Approve each device authorization this many seconds after it was issued, as if a
    /// person had (for scripts; `demo --approve-after` does the same). With --grade: decide
    /// at the first poll that late (the deny scenario denies, expire never decides)
    #[arg(long, value_name = "SECS")]
    pub approve_after: Option<u64>,
    /// DPoP (RFC 9449): off, optional (proofs bind the tokens when sent) or required
    #[arg(long, default_value = "optional", value_name = "off|optional|required")]
    pub dpop: tvlogin_server::DpopMode,
    /// Grade the device-flow clients that log in: record each flow, provoke what is
    /// checked, and print a report card on stdout when the flow ends (tokens and the first
    /// refresh, denied, expired, or quiet for --grade-idle)
    #[arg(long)]
    pub grade: bool,
    /// With --grade: a flow ends this many seconds after its last request (or after it was
    /// decided)
    #[arg(long, value_name = "SECS", default_value_t = 30, requires = "grade")]
    pub grade_idle: u64,
    /// With --grade: also write one JSON document per flow, one per line, to FILE (- for
    /// stdout; the report cards then go to stderr)
    #[arg(long, value_name = "FILE|-", requires = "grade")]
    pub grade_json: Option<std::path::PathBuf>,
    /// With --grade: what to provoke in successive flows, in turn (repeatable): pending,
    /// slow-down, backoff, rotate, deny, expire, no-interval, redirect, nonce; default: all
    /// of them in that order
    #[arg(long = "grade-scenario", value_name = "NAME", requires = "grade")]
    pub grade_scenarios: Vec<tvlogin_server::Scenario>,
}

/// Flags of `tvlogin inspect`.
#[derive(Debug, Clone, Default, Args)]
pub struct InspectArgs {
    /// File holding the token, or - for stdin (the default). Never the token itself: argv
    /// lands in shell history and process lists
    #[arg(value_name = "FILE|-")]
    pub file: Option<std::path::PathBuf>,
    /// Public keys to verify the signature with: a JWKS file or URL
    #[arg(long, value_name = "FILE|URL")]
    pub jwks: Option<String>,
    /// Issuer URL: its discovery document gives the JWKS (and introspection, userinfo); the
    /// token's iss must match
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// An audience the token's aud must contain
    #[arg(long, value_name = "A")]
    pub audience: Option<String>,
    /// Name of the environment variable holding the HMAC secret for HS256/384/512 tokens
    /// (never the secret itself)
    #[arg(long, value_name = "VAR")]
    pub secret_env: Option<String>,
    /// Client id for introspecting opaque tokens (RFC 7662)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// RFC 7662 introspection endpoint, over the one the issuer's metadata names (or without
    /// --issuer)
    #[arg(long, value_name = "URL")]
    pub introspection_endpoint: Option<String>,
    /// Name of the environment variable holding the client secret for introspection
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,
    /// How the client authenticates at the introspection endpoint [default: basic with a
    /// secret, none without]
    #[arg(long, value_enum)]
    pub auth: Option<AuthMethod>,
    /// One JSON document on stdout: header, claims, times, each verification result
    #[arg(long)]
    pub json: bool,
    /// Plain text output even on a terminal
    #[arg(long)]
    pub no_tui: bool,
    /// Allow http:// to hosts other than loopback
    #[arg(long)]
    pub allow_http: bool,
    /// Timeout for each HTTP request, in seconds [default: 30]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Clock skew to forgive in the time checks, in seconds: an exp this long ago still
    /// passes [default: 0 for exp; nbf and iat forgive 60]
    #[arg(long, value_name = "SECS")]
    pub leeway: Option<u32>,
}

/// Flags of `tvlogin exec`.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Profile whose access token to pass
    #[arg(long, env = "TVLOGIN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// The environment variable that receives the token
    #[arg(long = "env", default_value = "BEARER_TOKEN", value_name = "NAME")]
    pub env_name: String,
    /// Refresh first when the token has less than this many seconds left
    #[arg(long, value_name = "SECS", default_value_t = crate::session::DEFAULT_MIN_TTL)]
    pub min_ttl: u64,
    /// The command and its arguments (after `--`)
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

/// Flags of `tvlogin git-credential`.
#[derive(Debug, Clone, Args)]
pub struct GitCredentialArgs {
    /// Profile to answer from, still only for its `git_hosts` when it lists any [default:
    /// the profile whose `git_hosts` holds the host, else none]. TVLOGIN_PROFILE is not read
    /// here: every git command would inherit it
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// What git asks: get, store or erase
    #[arg(value_enum)]
    pub operation: GitOperation,
}

/// The operations of git's credential-helper protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GitOperation {
    /// Answer with a credential.
    Get,
    /// A credential worked (ignored: tvlogin keeps its own tokens).
    Store,
    /// A credential was refused: the next `get` refreshes.
    Erase,
}

/// Flags of `tvlogin kubectl-credential`.
#[derive(Debug, Clone, Args)]
pub struct KubectlCredentialArgs {
    /// Profile whose access token to hand out
    #[arg(long, env = "TVLOGIN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Refresh first when the token has less than this many seconds left
    #[arg(long, value_name = "SECS", default_value_t = crate::session::DEFAULT_MIN_TTL)]
    pub min_ttl: u64,
}

/// Flags of `tvlogin docker-credential`.
#[derive(Debug, Clone, Args)]
pub struct DockerCredentialArgs {
    /// What docker asks: get, store, erase, list or version
    #[arg(value_enum)]
    pub operation: DockerOperation,
}

/// The operations of the docker-credential-helpers protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DockerOperation {
    /// The credential for the server URL on stdin.
    Get,
    /// Accepted for tvlogin's registries, nothing stored.
    Store,
    /// Accepted for tvlogin's registries, nothing deleted.
    Erase,
    /// The registries tvlogin serves.
    List,
    /// The program's version.
    Version,
}

/// Flags of `tvlogin setup`.
#[derive(Debug, Clone, Args)]
pub struct SetupArgs {
    /// Which tool to configure
    #[command(subcommand)]
    pub tool: SetupTool,
}

/// The tools `tvlogin setup` configures.
#[derive(Debug, Clone, Subcommand)]
pub enum SetupTool {
    /// git: `credential.<URL>.helper` in the global git config (through `git config`), and
    /// the host in the profile's `git_hosts`
    Git {
        /// The URL to use tvlogin for, e.g. `https://git.example.com`
        #[arg(value_name = "URL")]
        url: String,
        /// Common flags
        #[command(flatten)]
        common: SetupCommon,
    },
    /// kubectl: a user with tvlogin as its exec plugin in the kubeconfig (and optionally a
    /// context using it), through `kubectl config` when kubectl is installed
    Kubectl {
        /// The kubeconfig to edit [default: the first file of $KUBECONFIG, else ~/.kube/config]
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<std::path::PathBuf>,
        /// Name of the user entry [default: tvlogin-PROFILE]
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Also point this context at the user: a new context needs --cluster; an existing
        /// one whose user is not tvlogin's needs --force
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
        /// The cluster of a context created by --context
        #[arg(long, value_name = "NAME", requires = "context")]
        cluster: Option<String>,
        /// Common flags
        #[command(flatten)]
        common: SetupCommon,
    },
    /// docker: `credHelpers` in ~/.docker/config.json ($DOCKER_CONFIG honoured), and the
    /// registries in the profile's `docker_registries`
    Docker {
        /// Registries to get credentials from tvlogin, e.g. registry.example.com
        #[arg(required = true, value_name = "REGISTRY")]
        registries: Vec<String>,
        /// Common flags
        #[command(flatten)]
        common: SetupCommon,
    },
}

/// Flags every `tvlogin setup` tool takes.
#[derive(Debug, Clone, Args)]
pub struct SetupCommon {
    /// The profile the tool gets tokens from
    #[arg(long, env = "TVLOGIN_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// Show what would change, as a diff of each file, without writing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Replace an entry tvlogin did not write (a user, context, helper or credHelpers entry of
    /// the same name); the file is first copied to FILE.tvlogin-backup-TIMESTAMP
    #[arg(long)]
    pub force: bool,
    /// Remove what `setup` added for these arguments, and nothing else
    #[arg(long, conflicts_with = "force")]
    pub undo: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// The dashboard logs a profile in without clap (`LoginSettings::from_env`): it must read
    /// every variable that stands in for a `login` flag, or a person's `TVLOGIN_ISSUER` would
    /// work on the command line and be ignored by the dashboard's `l`.
    #[test]
    fn the_dashboard_reads_every_variable_the_login_command_reads() {
        let command = super::Cli::command();
        let login = command
            .find_subcommand("login")
            .expect("the login subcommand");
        let mut flags: Vec<String> = login
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|v| v.to_string_lossy().into_owned())
            // The dashboard names the profile itself.
            .filter(|v| v != crate::config::PROFILE_ENV)
            .collect();
        flags.sort();
        let asked = std::sync::Mutex::new(Vec::new());
        let env = |name: &str| {
            asked.lock().expect("lock").push(name.to_owned());
            None
        };
        crate::config::LoginSettings::from_env("p", &env).expect("settings");
        let mut read = asked.into_inner().expect("lock");
        read.sort();
        assert_eq!(read, flags);
        assert!(!flags.is_empty());
    }

    /// The words of `line` (split on spaces) after `first`, as a process would get them.
    fn argv(first: &[&str], line: &str) -> Vec<std::ffi::OsString> {
        first
            .iter()
            .copied()
            .chain(line.split(' ').filter(|w| !w.is_empty()))
            .map(Into::into)
            .collect()
    }

    /// The quick parse of the frequent commands means what the full parse means, and leaves
    /// everything else (help, version, mistakes, other commands) to the full parse.
    #[test]
    fn the_quick_parse_agrees_with_the_full_parse() {
        use clap::Parser;
        let quick = [
            "inspect",
            "inspect -",
            "inspect --json --jwks k.json -",
            "inspect eyJ.e30.x --issuer https://i.example --leeway 30 --json",
            "inspect --secret-env K -- -token-starting-with-dash",
            "token",
            "token --profile work --min-ttl 120",
            "token --format header --id-token",
            "token --json",
            "git-credential get",
            "git-credential --profile w store",
            "kubectl-credential --profile w",
            "docker-credential get",
        ];
        for line in quick {
            let args = argv(&["tvlogin"], line);
            let full = super::Cli::try_parse_from(&args).expect(line);
            let fast = super::parse_quick(&args).unwrap_or_else(|| panic!("not quick: {line}"));
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{line}");
        }
        let full_only = [
            "inspect --help",
            "inspect -h",
            "inspect --version",
            "inspect --no-such-flag",
            "token --min-ttl soon",
            "token extra",
            "git-credential",
            "docker-credential get extra",
            "login",
            "status",
            "--version",
            "",
        ];
        for line in full_only {
            let args = argv(&["tvlogin"], line);
            assert!(super::parse_quick(&args).is_none(), "{line}");
        }
    }

    /// The flags that say how to log in all reach the configuration.
    #[test]
    fn login_flags_convert_into_settings_field_by_field() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from([
            "tvlogin",
            "login",
            "--profile",
            "p",
            "--issuer",
            "https://i.example",
            "--device-authorization-endpoint",
            "https://d.example",
            "--token-endpoint",
            "https://t.example",
            "--jwks-uri",
            "https://j.example",
            "--revocation-endpoint",
            "https://r.example",
            "--introspection-endpoint",
            "https://n.example",
            "--userinfo-endpoint",
            "https://u.example",
            "--provider",
            "keycloak",
            "--tenant",
            "t",
            "--domain",
            "d",
            "--realm",
            "r",
            "--client-id",
            "c",
            "--client-secret-env",
            "S",
            "--auth",
            "post",
            "--scope",
            "a b",
            "--audience",
            "aud",
            "--resource",
            "https://x.example",
            "--resource",
            "https://y.example",
            "--store",
            "file",
            "--allow-http",
            "--timeout",
            "7",
            "--no-tui",
            "--flow",
            "browser",
        ])
        .expect("parse the login flags");
        let Some(super::Command::Login(args)) = cli.command else {
            panic!("not login")
        };
        let s = crate::config::LoginSettings::from(&args);
        let some = |v: &str| Some(v.to_owned());
        assert_eq!(
            s,
            crate::config::LoginSettings {
                profile: some("p"),
                issuer: some("https://i.example"),
                device_authorization_endpoint: some("https://d.example"),
                token_endpoint: some("https://t.example"),
                jwks_uri: some("https://j.example"),
                revocation_endpoint: some("https://r.example"),
                introspection_endpoint: some("https://n.example"),
                userinfo_endpoint: some("https://u.example"),
                provider: Some(crate::config::Provider::Keycloak),
                tenant: some("t"),
                domain: some("d"),
                realm: some("r"),
                client_id: some("c"),
                client_secret_env: some("S"),
                auth: Some(crate::oauth::client::AuthMethod::Post),
                scope: some("a b"),
                audience: some("aud"),
                resource: vec!["https://x.example".into(), "https://y.example".into()],
                store: Some(crate::store::Backend::File),
                allow_http: true,
                timeout: Some(7),
                dpop: None,
                flow: Some(crate::oauth::authcode::LoginFlow::Browser),
            }
        );
    }

    #[test]
    fn docker_helper_name_selects_the_docker_protocol() {
        let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let table = [
            (
                args(&["/usr/bin/docker-credential-tvlogin", "get"]),
                args(&["tvlogin", "docker-credential", "get"]),
            ),
            (
                args(&["docker-credential-tvlogin.exe", "list"]),
                args(&["tvlogin", "docker-credential", "list"]),
            ),
            (args(&["tvlogin", "token"]), args(&["tvlogin", "token"])),
            (
                args(&["docker-credential-other", "get"]),
                args(&["docker-credential-other", "get"]),
            ),
        ];
        for (given, want) in table {
            assert_eq!(super::rewrite_args(given.clone()), want, "{given:?}");
        }
    }
}
