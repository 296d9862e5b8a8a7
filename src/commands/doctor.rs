//! `tvlogin doctor`: which token stores work here and why the others do not, where the files
//! are, and whether each known issuer answers and agrees with this machine's clock.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use url::Url;

use crate::cli::DoctorArgs;
use crate::clock::UnixTime;
use crate::config::ConfigFile;
use crate::error::Error;
use crate::exit::Exit;
use crate::oauth::discovery::well_known_urls;
use crate::oauth::http::{Http, HttpSettings};
use crate::oauth::normalize::OAuthResponse;
use crate::paths::Paths;
use crate::sanitize::escape;
use crate::store::file::{profiles_dir, remove, write_atomic};
use crate::store::keyring::{KeyringKind, probe_kind, timeout_reason};
use crate::store::{Backend, STORE_TIMEOUT, off_runtime, state};

/// Clock differences up to this are normal (HTTP dates have one-second resolution, and
/// requests take time); beyond it token expiry checks start to be off.
const SKEW_WARNING: i64 = 30;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    /// Works, but something deserves attention (or an optional backend is missing).
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

struct Check {
    name: String,
    level: Level,
    detail: String,
}

fn check(name: impl Into<String>, level: Level, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        level,
        detail: detail.into(),
    }
}

/// `tvlogin doctor`.
pub async fn doctor(args: DoctorArgs) -> Result<Exit, Error> {
    let paths = Paths::from_env()?;
    let mut checks = Vec::new();

    let config_path = paths.config_file();
    let file = match ConfigFile::load(&config_path) {
        Ok(file) => {
            let names: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
            checks.push(check(
                "config",
                Level::Ok,
                if config_path.exists() {
                    format!(
                        "{}: {} profile(s){}",
                        config_path.display(),
                        names.len(),
                        if names.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", names.join(", "))
                        }
                    )
                } else {
                    format!("{} does not exist (optional)", config_path.display())
                },
            ));
            file
        }
        Err(e) => {
            checks.push(check("config", Level::Error, e.to_string()));
            ConfigFile::default()
        }
    };

    let data_ok = data_dir_check(&paths).await;
    checks.push(match &data_ok {
        Ok(()) => check(
            "data",
            Level::Ok,
            format!(
                "{}: writable, files private (0600)",
                paths.data_dir.display()
            ),
        ),
        Err(e) => check(
            "data",
            Level::Error,
            format!("{}: {e}", paths.data_dir.display()),
        ),
    });

    let mut keyring_works = None;
    for kind in KeyringKind::native() {
        let kind = *kind;
        let result = off_runtime(STORE_TIMEOUT, move || probe_kind(kind, "doctor"))
            .await
            .unwrap_or_else(|| Err(timeout_reason(STORE_TIMEOUT)));
        checks.push(match result {
            Ok(()) => {
                keyring_works.get_or_insert(kind);
                check("keyring", Level::Ok, format!("{}: works", kind.label()))
            }
            Err(why) => check(
                "keyring",
                Level::Warning,
                format!("{}: {why}", kind.label()),
            ),
        });
    }
    checks.push(match &data_ok {
        Ok(()) => check(
            "file",
            Level::Ok,
            format!(
                "works: {}",
                profiles_dir(&paths).join("PROFILE.tokens.json").display()
            ),
        ),
        Err(_) => check("file", Level::Error, "the data directory is not writable"),
    });
    checks.push(check(
        "memory",
        Level::Ok,
        "works (tokens last for one run)",
    ));
    let from_env = std::env::var("TVLOGIN_STORE")
        .ok()
        .filter(|v| !v.is_empty());
    checks.push(match (&from_env, keyring_works) {
        (Some(v), _) => check("login", Level::Ok, format!("stores in {v} (TVLOGIN_STORE)")),
        (None, Some(kind)) => check(
            "login",
            Level::Ok,
            format!(
                "stores in the keyring ({}) unless a profile remembers another choice",
                kind.label()
            ),
        ),
        (None, None) => check(
            "login",
            Level::Warning,
            "no keyring works here: log in with --store file (or set TVLOGIN_STORE=file), \
             or --store memory for one run",
        ),
    });

    checks.extend(profile_checks(
        &paths,
        keyring_works.is_some(),
        data_ok.is_ok(),
    ));
    checks.extend(not_logged_in_checks(&paths).await);

    for (issuer, allow_http) in issuers(&paths, &file, args.issuer.as_deref()) {
        checks.push(issuer_check(&issuer, allow_http).await);
    }

    let failed = checks.iter().any(|c| c.level == Level::Error);
    if args.json {
        let doc = json!({
            "config_dir": paths.config_dir,
            "data_dir": paths.data_dir,
            "ok": !failed,
            "checks": checks.iter().map(|c| json!({
                "check": c.name,
                "status": c.level.name(),
                "detail": c.detail,
            })).collect::<Vec<_>>(),
        });
        println!("{}", crate::sanitize::json(&doc));
    } else {
        println!("config dir: {}", paths.config_dir.display());
        println!("data dir:   {}", paths.data_dir.display());
        for c in &checks {
            println!(
                "{:<9} {:<8} {}",
                format!("[{}]", c.level.name()),
                c.name,
                escape(&c.detail)
            );
        }
    }
    Ok(if failed { Exit::Failure } else { Exit::Ok })
}

/// For every logged-in profile: whether its next refresh can work, and if not why (the
/// client secret's variable unset, unsafe folder permissions, its store unreachable).
fn profile_checks(paths: &Paths, keyring_works: bool, data_writable: bool) -> Vec<Check> {
    let ctx = crate::session::Context {
        paths: paths.clone(),
        file: ConfigFile::load(&paths.config_file()).unwrap_or_default(),
        env: Box::new(|var| std::env::var(var).ok()),
    };
    let mut out = Vec::new();
    for entry in state::list(paths) {
        let st = match entry {
            Ok(st) => st,
            Err(e) => {
                out.push(check("profile", Level::Error, e.to_string()));
                continue;
            }
        };
        let name = format!("profile {}", st.profile);
        let Some(meta) = &st.session else {
            if let Some(login) = &st.login {
                out.push(check(
                    name,
                    Level::Ok,
                    format!(
                        "{}; `{}` logs in again the same way",
                        login.how_it_ended(),
                        crate::session::login_command(&st.profile)
                    ),
                ));
            }
            continue;
        };
        let mut problems = Vec::new();
        if let Err(e) = crate::session::client_for(&ctx, &st.profile, meta) {
            problems.push(e.to_string());
        }
        if let Err(e) = crate::store::state::read(paths, &st.profile) {
            problems.push(e.to_string());
        }
        match st.store {
            Some(Backend::Keyring) | None if !keyring_works => {
                problems.push("its tokens are in the keyring, which does not answer here".into());
            }
            Some(Backend::File) if !data_writable => problems.push(
                "its tokens are in the data directory, which is not writable (no room would \
                 be kept for the new tokens, so no refresh is sent)"
                    .into(),
            ),
            _ => {}
        }
        if !meta.has_refresh_token {
            out.push(check(
                name.clone(),
                Level::Warning,
                "no refresh token: when the access token expires, log in again",
            ));
        }
        out.push(if problems.is_empty() {
            check(name, Level::Ok, "the next refresh can work")
        } else {
            check(
                name,
                Level::Error,
                format!("the next refresh will fail: {}", problems.join("; ")),
            )
        });
    }
    out
}

/// For the profiles that have never logged in: the login command that works for each (a
/// whole `--issuer URL --client-id ID` line when nothing says where to log in), and for a
/// new installation with no profile at all, how to start.
async fn not_logged_in_checks(paths: &Paths) -> Vec<Check> {
    let ctx = crate::session::Context {
        paths: paths.clone(),
        file: ConfigFile::load(&paths.config_file()).unwrap_or_default(),
        env: Box::new(|var| std::env::var(var).ok()),
    };
    let with_state: BTreeSet<String> = state::list(paths)
        .into_iter()
        .flatten()
        .map(|st| st.profile)
        .collect();
    if with_state.is_empty() && ctx.file.profiles.is_empty() {
        return vec![check("profiles", Level::Warning, NO_PROFILE_YET)];
    }
    let mut out = Vec::new();
    for name in ctx
        .file
        .profiles
        .keys()
        .filter(|n| !with_state.contains(*n))
    {
        let command = crate::session::login_command(name);
        out.push(match super::helper::login_config_for(&ctx, name).await {
            Ok(_) => check(
                format!("profile {name}"),
                Level::Ok,
                format!("not logged in yet; `{command}` logs in"),
            ),
            Err(e) => check(
                format!("profile {name}"),
                Level::Warning,
                format!(
                    "not logged in, and `{command}` cannot work yet: {e}; give its \
                     [profiles.{name}] table an issuer (or provider) and a client_id, or run \
                     `{command} --issuer URL --client-id ID`"
                ),
            ),
        });
    }
    out
}

/// What a new installation is told: the whole command line of a first login.
const NO_PROFILE_YET: &str = "none yet: log in with `tvlogin login --issuer URL --client-id \
     ID` (or `tvlogin login --provider NAME --client-id ID`); `tvlogin demo` shows the whole \
     flow with no account";

/// Creates the data directory if needed and writes, checks and deletes a private file there.
async fn data_dir_check(paths: &Paths) -> Result<(), String> {
    let probe = profiles_dir(paths).join(".doctor-probe");
    off_runtime(STORE_TIMEOUT, move || {
        write_atomic(&probe, b"probe").map_err(|e| e.to_string())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&probe)
                .map(|m| m.permissions().mode() & 0o777)
                .map_err(|e| e.to_string())?;
            if mode != 0o600 {
                return Err(format!("a new file got mode {mode:o}, not 600"));
            }
        }
        remove(&probe).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|| Err("no answer within 5s".into()))
}

/// Issuers to check: `--issuer`, the stored sessions' and the configured profiles'. Without
/// an issuer, a session's token endpoint stands in. With whether http:// may be used.
fn issuers(paths: &Paths, file: &ConfigFile, extra: Option<&str>) -> Vec<(String, bool)> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut add = |url: String, allow_http: bool| {
        if seen.insert(url.clone()) {
            out.push((url, allow_http));
        }
    };
    if let Some(i) = extra {
        add(i.to_owned(), false);
    }
    for st in state::list(paths).into_iter().filter_map(Result::ok) {
        if let Some(m) = st.session {
            add(m.issuer.unwrap_or(m.endpoints.token), m.allow_http);
        }
    }
    for p in file.profiles.values() {
        if let Some(i) = &p.issuer {
            add(i.clone(), p.allow_http.unwrap_or(false));
        }
    }
    out
}

/// Fetches the issuer's discovery document (or the URL itself) and compares clocks.
async fn issuer_check(issuer: &str, allow_http: bool) -> Check {
    let name = "issuer";
    let Ok(url) = Url::parse(issuer) else {
        return check(name, Level::Error, format!("{issuer}: not a URL"));
    };
    let target = if url.path().contains("token") {
        url.clone()
    } else {
        let [openid, _] = well_known_urls(&url);
        openid
    };
    let http = match Http::new(HttpSettings {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        allow_http,
    }) {
        Ok(http) => http,
        Err(e) => return check(name, Level::Error, e),
    };
    let started = Instant::now();
    let raw = match http.get(&target).await {
        Ok(raw) => raw,
        Err(e) => return check(name, Level::Error, format!("{issuer}: {e}")),
    };
    let took = started.elapsed();
    let response = OAuthResponse::from_raw(&raw);
    let skew = response.date.map(|date| skew_seconds(date, raw.received));
    let level = match skew {
        Some(s) if s.abs() > SKEW_WARNING => Level::Warning,
        _ => Level::Ok,
    };
    check(
        name,
        level,
        format!(
            "{issuer}: answered HTTP {} in {} ms; {}",
            response.status,
            took.as_millis(),
            match skew {
                None => "no Date header, clock skew unknown".to_owned(),
                Some(s) if s.abs() > SKEW_WARNING => format!(
                    "clock skew {s:+} s: this machine's clock is off, so token expiry times will be too"
                ),
                Some(s) => format!("clock skew {s:+} s"),
            }
        ),
    )
}

/// The server's clock minus ours, in whole seconds (positive: the server is ahead).
fn skew_seconds(server: UnixTime, local: UnixTime) -> i64 {
    local.until(server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_sign() {
        let t = UnixTime::from_secs(1_000_000);
        assert_eq!(skew_seconds(t.plus_secs(90), t), 90);
        assert_eq!(skew_seconds(t, t.plus_secs(90)), -90);
        assert_eq!(skew_seconds(t, t), 0);
    }
}
