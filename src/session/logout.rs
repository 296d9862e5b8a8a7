//! Logout (RFC 7009): revoke, then delete locally, reporting each step.

use std::sync::Arc;
use std::time::Duration;

use super::persist::{read_state, remembered_from_meta, write_state_locked};
use super::{Context, client_for, critical, parse_url};
use crate::clock::UnixTime;
use crate::config;
use crate::error::Error;
use crate::humanize;
use crate::oauth::client::OAuthClient;
use crate::oauth::http::{Http, HttpSettings};
use crate::oauth::revoke::{self, Revocation};
use crate::store::lock::{LOCK_WAIT, ProfileLock};
use crate::store::state;
use crate::store::{self, Backend, Secrets};

/// How `logout` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogoutOptions {
    /// The limit of each revocation request (`--timeout`, default 10 s).
    pub timeout: Duration,
    /// Also forget how the profile logged in, and its store choice (`--forget`).
    pub forget: bool,
}

impl Default for LogoutOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            forget: false,
        }
    }
}

/// How one logout step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// It worked.
    Done,
    /// It was not attempted, and why.
    Skipped(String),
    /// It failed, and why.
    Failed(Error),
}

/// One reported step of `logout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What was attempted, e.g. "revoke the refresh token".
    pub what: String,
    /// How it went.
    pub outcome: StepOutcome,
}

/// Revokes (RFC 7009) the refresh token, then the access token, then deletes the session
/// locally whether or not revocation worked. `report` sees each step as it ends. Returns the
/// first failure, after everything was attempted; `Ok(false)` when there was no session.
///
/// When the store cannot be opened or read (a locked or hung keyring), nothing is known to
/// revoke: both revocations are reported failed with the reason, and the session (state and
/// secrets) is kept so that a later `logout` can revoke the tokens instead of orphaning them.
pub async fn logout(
    ctx: &Context,
    profile: &str,
    report: &mut (dyn FnMut(&Step) + Send),
) -> Result<bool, Error> {
    logout_with(ctx, profile, LogoutOptions::default(), report).await
}

/// [`logout`] with options: each revocation bounded by `options.timeout`, and with
/// `options.forget` the profile's remembered login and store choice deleted too (also when it
/// was already logged out). Signals are noted, not obeyed, until it ends ([`critical`]).
///
/// Revocation outcomes and the exit code: revoked, `unsupported_token_type` (the token stays
/// valid until it expires, and the step says how long), a public client refused (401/403)
/// and no revocation endpoint are reported and are not failures. A network error, a timeout
/// or a 5xx while revoking the refresh token means a live refresh token may remain at the
/// server: the local copies are still deleted and the result is that error (exit 5).
pub async fn logout_with(
    ctx: &Context,
    profile: &str,
    options: LogoutOptions,
    report: &mut (dyn FnMut(&Step) + Send),
) -> Result<bool, Error> {
    critical::shield(
        critical::LOGOUT,
        logout_steps(ctx, profile, options, report),
    )
    .await
}

async fn logout_steps(
    ctx: &Context,
    profile: &str,
    options: LogoutOptions,
    report: &mut (dyn FnMut(&Step) + Send),
) -> Result<bool, Error> {
    // The one clock reading of this logout (an edge: the command's own IO workflow).
    let now = UnixTime::now();
    let st = read_state(&ctx.paths, profile).await?;
    if st.is_none_or(|s| s.session.is_none()) {
        if options.forget {
            forget(ctx, profile, report).await?;
        }
        return Ok(false);
    }
    let lock = Arc::new(ProfileLock::acquire(&ctx.paths, profile, LOCK_WAIT).await?);
    let Some(mut st) = read_state(&ctx.paths, profile).await? else {
        return Ok(false);
    };
    let Some(meta) = st.session.clone() else {
        return Ok(false);
    };
    let mut first_error: Option<Error> = None;
    let mut step = |what: String, outcome: StepOutcome, first_error: &mut Option<Error>| {
        if let StepOutcome::Failed(e) = &outcome
            && first_error.is_none()
        {
            *first_error = Some(e.clone());
        }
        report(&Step { what, outcome });
    };

    let backend = st.store.unwrap_or(Backend::Keyring);
    let opened = store::open(&ctx.paths, backend, st.keyring)
        .await
        .map(|store| store.holding(&lock));
    // `Err` holds why the tokens are unknown: then nothing may be deleted.
    let secrets: Result<Secrets, String> = match &opened {
        Ok(store) => match store.load(profile).await {
            Ok(s) => Ok(s.unwrap_or_default()),
            Err(e) => {
                let why = e.to_string();
                step(
                    format!("read the tokens from {}", store.location(profile)),
                    StepOutcome::Failed(e.into()),
                    &mut first_error,
                );
                Err(why)
            }
        },
        Err(e) => {
            step(
                format!("open the {backend} store"),
                StepOutcome::Failed(e.clone().into()),
                &mut first_error,
            );
            Err(e.to_string())
        }
    };
    let secrets = match secrets {
        Ok(secrets) => secrets,
        Err(why) => {
            for name in ["refresh token", "access token"] {
                step(
                    format!("revoke the {name}"),
                    StepOutcome::Failed(Error::Other(format!(
                        "the tokens could not be read, so nothing was revoked: {why}"
                    ))),
                    &mut first_error,
                );
            }
            step(
                "delete the session".into(),
                StepOutcome::Skipped(format!(
                    "kept, so that its tokens are not left unrevoked in the store; run `tvlogin \
                     logout{}` again once the store answers",
                    if profile == config::DEFAULT_PROFILE {
                        String::new()
                    } else {
                        format!(" --profile {profile}")
                    }
                )),
                &mut first_error,
            );
            return Err(first_error.unwrap_or(Error::Other(why)));
        }
    };

    let tokens: [(&str, &str, Option<String>); 2] = [
        (
            "refresh token",
            "refresh_token",
            secrets.refresh_token.as_ref().map(|t| t.secret().clone()),
        ),
        (
            "access token",
            "access_token",
            secrets.access_token.as_ref().map(|t| t.secret().clone()),
        ),
    ];
    let endpoint = meta.endpoints.revocation.as_deref();
    let prepared = match endpoint {
        None => Err(format!(
            "profile {profile:?} has no revocation endpoint (the provider does not advertise \
             one); the tokens stay valid at the server until they expire"
        )),
        Some(url) => parse_url("revocation endpoint", url)
            .and_then(|u| {
                let http = Http::new(HttpSettings {
                    timeout: options.timeout,
                    connect_timeout: options.timeout.min(Duration::from_secs(10)),
                    allow_http: meta.allow_http,
                })
                .map_err(Error::Other)?;
                Ok((u, client_for(ctx, profile, &meta)?, http))
            })
            .map_err(|e| e.to_string()),
    };
    let access_left = match super::seconds_left(now, meta.access_expires_at) {
        Some(0) => "it has expired already".to_owned(),
        Some(s) => format!(
            "it stays valid at the server until it expires, in {}",
            humanize::duration(Duration::from_secs(s))
        ),
        None => "it stays valid at the server until it expires (when is unknown)".to_owned(),
    };
    for (name, hint, value) in tokens {
        let what = format!("revoke the {name}");
        let stays = if hint == "access_token" {
            access_left.clone()
        } else {
            "it stays valid at the server until it expires".to_owned()
        };
        let outcome = match (&value, &prepared) {
            (None, _) => StepOutcome::Skipped(format!("no {name} is stored")),
            (Some(_), Err(why)) if endpoint.is_none() => StepOutcome::Skipped(why.clone()),
            (Some(_), Err(why)) => StepOutcome::Failed(Error::Usage(why.clone())),
            (Some(token), Ok((url, client, http))) => {
                match revoke::revoke(http, client, url, token, hint).await {
                    Ok(Revocation::Revoked) if hint == "access_token" => {
                        still_active(http, client, &meta, token, &stays).await
                    }
                    Ok(Revocation::Revoked) => StepOutcome::Done,
                    Ok(Revocation::Unsupported) => StepOutcome::Skipped(format!(
                        "the server cannot revoke this kind of token (unsupported_token_type); \
                         {stays}"
                    )),
                    Ok(Revocation::RefusedPublicClient { status }) => {
                        StepOutcome::Skipped(format!(
                            "the server refuses revocation requests from public clients \
                             ({status}); {stays}"
                        ))
                    }
                    Err(e) if hint == "refresh_token" && e.exit().code() == 5 => {
                        StepOutcome::Failed(Error::Protocol(format!(
                            "{e}; a live refresh token may remain at the server (its local copy \
                             is deleted all the same)"
                        )))
                    }
                    Err(e) => StepOutcome::Failed(e),
                }
            }
        };
        step(what, outcome, &mut first_error);
    }

    if let Ok(store) = &opened {
        let outcome = match store.delete(profile).await {
            Ok(()) => StepOutcome::Done,
            Err(e) => StepOutcome::Failed(e.into()),
        };
        step(
            format!("delete the tokens from {}", store.location(profile)),
            outcome,
            &mut first_error,
        );
    }
    // How the profile logged in stays (unless forgotten): `login --profile P` alone logs in
    // again.
    if st.login.is_none() {
        st.login = Some(remembered_from_meta(&meta));
    }
    if let Some(login) = &mut st.login {
        login.session_ended = None;
    }
    st.session = None;
    let path = state::path(&ctx.paths, profile);
    let outcome = match write_state_locked(&ctx.paths, st, &lock).await {
        Ok(()) => StepOutcome::Done,
        Err(e) => StepOutcome::Failed(e.into()),
    };
    step(
        format!("delete the session metadata ({})", path.display()),
        outcome,
        &mut first_error,
    );
    drop(lock);
    if options.forget
        && let Err(e) = forget(ctx, profile, &mut *report).await
        && first_error.is_none()
    {
        first_error = Some(e);
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(true),
    }
}

/// Deletes the profile's state file: how it logged in and its store choice.
async fn forget(
    ctx: &Context,
    profile: &str,
    report: &mut (dyn FnMut(&Step) + Send),
) -> Result<(), Error> {
    let path = state::path(&ctx.paths, profile);
    let (paths, name) = (ctx.paths.clone(), profile.to_owned());
    let result = store::off_runtime(store::STORE_TIMEOUT, move || state::forget(&paths, &name))
        .await
        .unwrap_or_else(|| {
            Err(store::StoreError::Io {
                action: "gave up on",
                path: path.clone(),
                detail: format!("no answer within {}s", store::STORE_TIMEOUT.as_secs()),
            })
        })
        .map_err(Error::from);
    report(&Step {
        what: format!(
            "forget how the profile logged in and its store choice ({})",
            path.display()
        ),
        outcome: match &result {
            Ok(()) => StepOutcome::Done,
            Err(e) => StepOutcome::Failed(e.clone()),
        },
    });
    result
}
/// RFC 7009 §2.2 lets a server answer 200 for a token it did not revoke, and a server that
/// issues self-contained JWT access tokens often cannot revoke them. When the session knows
/// an introspection endpoint, a JWT access token is looked up once more: still active means
/// the revocation did nothing, and the step says so instead of "done".
async fn still_active(
    http: &Http,
    client: &OAuthClient,
    meta: &state::SessionMeta,
    token: &str,
    stays: &str,
) -> StepOutcome {
    let endpoint = meta
        .endpoints
        .introspection
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok());
    let Some(endpoint) = endpoint.filter(|_| token.split('.').count() == 3) else {
        return StepOutcome::Done;
    };
    let mut remote = crate::token::remote::Remote::new(http.clone());
    match remote.introspect(&endpoint, client, token).await {
        Ok(fields) if fields.get("active") == Some(&serde_json::Value::Bool(true)) => {
            StepOutcome::Skipped(format!(
                "the server answered the revocation with 200, but its introspection still \
                 calls the token active (a self-contained JWT it cannot revoke); {stays}"
            ))
        }
        _ => StepOutcome::Done,
    }
}
