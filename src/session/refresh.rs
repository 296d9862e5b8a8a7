//! The refresh: spend a refresh token only when its successor can be kept.
//!
//! Order, under the profile's lock: pre-flight (the store answers, the room for the new state
//! is reserved: otherwise nothing is sent), then the critical section (send, judge, store,
//! record) on a task of its own that signals do not abandon ([`super::critical`]). An answer
//! larger than the room reserved ahead gets room of its size before anything is replaced;
//! where the disk has none, the new refresh token is kept in the room already reserved, and
//! the caches that do not fit (access, then id token) are left out with a warning.

use std::sync::Arc;
use std::time::Duration;

use crate::secret::RefreshToken;

use super::expiry::refresh_expiry;
use super::persist::{
    fit_answer, keep_secrets, keep_state, preflight, refreshed_meta, remembered_from_meta,
};
use super::{Context, critical, not_logged_in, parse_url, timeout_for};
use crate::clock::UnixTime;
use crate::error::Error;
use crate::oauth::dpop::Dpop;
use crate::oauth::http::{Http, HttpSettings};
use crate::oauth::refresh::{self, RefreshFailure};
use crate::store::lock::ProfileLock;
use crate::store::state::{ProfileState, SessionMeta};
use crate::store::{Secrets, Store, StoreError};

/// How long past the request timeout the HTTP layer may still deliver an answer. The timeout
/// itself is applied around the request (see [`send`]); the client's own limit only catches
/// a connection that never ends.
const TRANSPORT_SLACK: Duration = Duration::from_secs(24 * 3600);

/// Refreshes with the lock held: pre-flight, then server, then store (durable), then state.
/// `store` should be [`Store::holding`] `lock`, so that a store write that outlives its time
/// limit still ends under the lock. `now` is the command's clock.
#[allow(clippy::too_many_arguments)] // one call site per command; a struct would only rename them
pub(super) async fn refresh_locked(
    ctx: &Context,
    profile: &str,
    lock: &Arc<ProfileLock>,
    st: ProfileState,
    meta: SessionMeta,
    secrets: Secrets,
    store: &Store,
    now: UnixTime,
) -> Result<(SessionMeta, Secrets), Error> {
    let Some(rt) = secrets.refresh_token.clone() else {
        return Err(not_logged_in(
            profile,
            format!(
                "the access token of profile {profile:?} has expired and the server issued no \
                 refresh token, so the session cannot be renewed"
            ),
        ));
    };
    let client = super::client_for(ctx, profile, &meta)?;
    // A bound session refreshes with a proof from its key, or not at all (never as Bearer).
    let dpop = super::dpop_key_for(profile, &meta, &secrets)?.map(Dpop::new);
    let timeout = timeout_for(ctx, profile);
    let http = Http::new(HttpSettings {
        timeout: TRANSPORT_SLACK,
        allow_http: meta.allow_http,
        ..HttpSettings::default()
    })
    .map_err(Error::Other)?;
    let token_endpoint = parse_url("token endpoint", &meta.endpoints.token)?;
    http.check_url(&token_endpoint)?;
    preflight(&ctx.paths, profile, store, &secrets).await?;

    let (paths, profile_owned, lock, store) = (
        ctx.paths.clone(),
        profile.to_owned(),
        Arc::clone(lock),
        store.clone(),
    );
    let work = async move {
        let profile = profile_owned.as_str();
        trace("sending");
        let answer = send(&http, &client, &token_endpoint, &rt, dpop.as_ref(), timeout).await;
        trace("answered");
        let mut st = st;
        match answer {
            Ok(tokens) => {
                let new_secrets = Secrets {
                    // Never worse: no (or an empty) refresh token in the answer keeps ours.
                    refresh_token: tokens.refresh_token.clone().or(Some(rt)),
                    access_token: Some(tokens.access_token.clone()),
                    id_token: tokens.id_token.clone().or(secrets.id_token),
                    // The same key for the whole session: the refresh token stays bound to it.
                    dpop_key: secrets.dpop_key,
                };
                // Room for the answer before anything is replaced; what cannot have it is
                // left out (never the refresh token), and this run still uses all of it.
                let (kept, left_out) = fit_answer(&store, profile, &new_secrets).await;
                // Durable before used: if this fails, the new access token is not handed out.
                keep_secrets(&store, profile, &kept)
                    .await
                    .map_err(|e| lost(profile, &e))?;
                if let Some(note) = left_out {
                    warn(&note);
                }
                trace("stored");
                let meta = refreshed_meta(now, meta, &tokens, &new_secrets);
                st.session = Some(meta.clone());
                keep_state(&paths, st, &lock).await?;
                trace("recorded");
                Ok((meta, new_secrets))
            }
            Err(RefreshFailure::Ended { detail }) => {
                // The refresh token is dead, and so is its access token; how the profile
                // logged in is kept for the next login.
                let _ = store.delete(profile).await;
                let mut login = st
                    .login
                    .take()
                    .unwrap_or_else(|| remembered_from_meta(&meta));
                login.session_ended = Some(detail.clone());
                st.login = Some(login);
                st.session = None;
                let _ = keep_state(&paths, st, &lock).await;
                Err(not_logged_in(
                    profile,
                    format!("the session of profile {profile:?} has ended: {detail}"),
                ))
            }
            Err(RefreshFailure::Unusable {
                refresh_token: Some(new_rt),
                detail,
            }) => {
                // The server may have retired our refresh token: keep its successor before
                // reporting that the rest of the answer was unusable.
                keep_new_refresh_token(
                    &paths, profile, &lock, &store, st, meta, secrets, new_rt, now,
                )
                .await?;
                Err(Error::Protocol(format!(
                    "{detail}; the new refresh token it carried was stored, so the session goes \
                     on (try again)"
                )))
            }
            Err(RefreshFailure::Unusable {
                refresh_token: None,
                detail,
            }) => Err(Error::Protocol(detail)),
            Err(RefreshFailure::Failed(e)) => Err(e),
        }
    };
    critical::protect(critical::REFRESH, work).await?
}

/// After the limit has passed, how long an answer is still waited for. A process stopped
/// (`kill -STOP`, a suspended laptop) past its limit wakes up with the answer possibly already
/// in its socket: the server may have rotated the refresh token, so that answer is worth a
/// moment before giving up.
const GRACE: Duration = Duration::from_secs(2);

/// Sends the refresh within `timeout` (then [`GRACE`]). The limit is applied around the
/// request, which is polled first, so an answer that arrived meanwhile is taken, never dropped.
async fn send(
    http: &Http,
    client: &crate::oauth::client::OAuthClient,
    endpoint: &url::Url,
    rt: &RefreshToken,
    dpop: Option<&Dpop>,
    timeout: Duration,
) -> Result<crate::oauth::token::TokenResponse, RefreshFailure> {
    let request = refresh::refresh_bound(http, client, endpoint, rt, None, dpop);
    tokio::pin!(request);
    if let Ok(answer) = tokio::time::timeout(timeout, &mut request).await {
        return answer;
    }
    match tokio::time::timeout(GRACE, &mut request).await {
        Ok(answer) => answer,
        Err(_) => Err(RefreshFailure::Failed(Error::Http(
            crate::oauth::http::HttpError::Timeout {
                url: endpoint.to_string(),
                after: timeout,
            },
        ))),
    }
}

/// Stores a refresh token from an otherwise unusable answer, with the access and id tokens
/// we had, and records it in the state.
#[allow(clippy::too_many_arguments)]
async fn keep_new_refresh_token(
    paths: &crate::paths::Paths,
    profile: &str,
    lock: &Arc<ProfileLock>,
    store: &Store,
    mut st: ProfileState,
    mut meta: SessionMeta,
    secrets: Secrets,
    new_rt: RefreshToken,
    now: UnixTime,
) -> Result<(), Error> {
    let (kept, left_out) = fit_answer(
        store,
        profile,
        &Secrets {
            refresh_token: Some(new_rt),
            ..secrets
        },
    )
    .await;
    keep_secrets(store, profile, &kept)
        .await
        .map_err(|e| lost(profile, &e))?;
    if let Some(note) = left_out {
        warn(&note);
    }
    meta.generation += 1;
    meta.has_refresh_token = true;
    meta.refresh_expires_at = refresh_expiry(
        now,
        None,
        kept.refresh_token.as_ref().map(|t| t.secret().as_str()),
        false,
        None,
    );
    st.session = Some(meta);
    keep_state(paths, st, lock).await?;
    Ok(())
}

/// Set to print when each stage of a refresh ends (`scripts/kill-loop.sh` measures the window
/// between the server's rotation and the local write with it). Never prints a token.
pub const TRACE_ENV: &str = "TVLOGIN_TRACE_REFRESH";

/// A warning on stderr; the text names only local paths and the system's words.
fn warn(note: &str) {
    eprintln!("tvlogin: warning: {}", crate::sanitize::escape(note));
}

fn trace(stage: &str) {
    if std::env::var_os(TRACE_ENV).is_some() {
        let ms = crate::clock::wall_millis();
        eprintln!("tvlogin: trace: refresh {stage} {ms}");
    }
}

/// The answer could not be stored. A disk the person must fix (full, read-only) exits 2, as
/// everywhere else; anything else 1.
fn lost(profile: &str, e: &StoreError) -> Error {
    let text = format!(
        "the server issued new tokens but they could not be stored ({e}); if it rotated the \
         refresh token, run `{}` for a new session",
        super::login_command(profile)
    );
    if e.is_disk() {
        Error::Usage(text)
    } else {
        Error::Other(text)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use crate::secret::AccessToken;

    use super::*;
    use crate::config::ConfigFile;
    use crate::oauth::client::AuthMethod;
    use crate::paths::Paths;
    use crate::store::state::StoredEndpoints;
    use crate::store::{Backend, StoreError, TokenStore};
    use tvlogin_server::{DEMO_CLIENT_ID, ServerConfig, ServerHandle};

    /// A store that records what happens to it; `full` makes its pre-flight fail the way a
    /// full disk does.
    #[derive(Default)]
    struct Recording {
        full: bool,
        calls: Mutex<Vec<String>>,
    }

    impl TokenStore for Recording {
        fn backend(&self) -> Backend {
            Backend::File
        }
        fn location(&self, _: &str) -> String {
            "recording".into()
        }
        fn load(&self, _: &str) -> Result<Option<Secrets>, StoreError> {
            Ok(None)
        }
        fn save(&self, _: &str, _: &Secrets) -> Result<(), StoreError> {
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push("save".into());
            Ok(())
        }
        fn delete(&self, _: &str) -> Result<(), StoreError> {
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push("delete".into());
            Ok(())
        }
        fn prepare(&self, _: &str, _: &Secrets) -> Result<(), StoreError> {
            if self.full {
                return Err(StoreError::io(
                    "cannot reserve space in",
                    "/full/.p.tokens.json.tmp",
                    &std::io::Error::from_raw_os_error(28), // ENOSPC
                ));
            }
            Ok(())
        }
    }

    async fn attempt(
        full: bool,
    ) -> (
        Result<(SessionMeta, Secrets), Error>,
        ServerHandle,
        Vec<String>,
    ) {
        let server = ServerHandle::start(ServerConfig::default())
            .await
            .expect("start the embedded server");
        let tmp = tempfile::tempdir().expect("make a temporary directory");
        let ctx = Context {
            paths: Paths {
                config_dir: tmp.path().join("c"),
                data_dir: tmp.path().join("d"),
            },
            file: ConfigFile::default(),
            env: Box::new(|_| None),
        };
        let meta = SessionMeta {
            generation: 1,
            issuer: None,
            client_id: DEMO_CLIENT_ID.into(),
            auth: AuthMethod::None,
            client_secret_env: None,
            allow_http: false,
            endpoints: StoredEndpoints {
                token: server.token_endpoint().to_string(),
                device_authorization: server.device_authorization_endpoint().to_string(),
                ..StoredEndpoints::default()
            },
            subject: None,
            subject_label: None,
            scope: None,
            token_type: "Bearer".into(),
            obtained_at: 1000,
            refreshed_at: None,
            access_issued_at: 1000,
            access_expires_at: Some(1060),
            has_refresh_token: true,
            refresh_expires_at: None,
            has_id_token: false,
            id_expires_at: None,
            dpop_jkt: None,
            dpop_bound_access: false,
        };
        let secrets = Secrets {
            refresh_token: Some(RefreshToken::new("rt-unknown-to-the-server".into())),
            access_token: Some(AccessToken::new("at".into())),
            id_token: None,
            dpop_key: None,
        };
        let recording = Arc::new(Recording {
            full,
            ..Recording::default()
        });
        let lock = Arc::new(
            ProfileLock::acquire(&ctx.paths, "p", Duration::ZERO)
                .await
                .expect("take the profile lock"),
        );
        let store = Store::new(recording.clone()).holding(&lock);
        let mut st = ProfileState::new("p");
        st.store = Some(Backend::File);
        st.session = Some(meta.clone());
        let result = refresh_locked(
            &ctx,
            "p",
            &lock,
            st,
            meta,
            secrets,
            &store,
            UnixTime::from_secs(2000),
        )
        .await;
        let calls = recording
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        (result, server, calls)
    }

    #[tokio::test]
    async fn a_store_that_cannot_keep_the_successor_stops_the_refresh_before_sending() {
        let (result, server, calls) = attempt(true).await;
        let e = result.err().unwrap_or_else(|| panic!("refreshed"));
        let text = e.to_string();
        assert!(
            text.contains("nothing was sent") && text.contains("No space left"),
            "{text}"
        );
        // A full disk is the person's to fix: exit 2, like the other storage refusals.
        assert_eq!(e.exit().code(), 2, "{text}");
        assert!(server.refreshes().is_empty(), "the refresh token was spent");
        assert!(calls.is_empty(), "{calls:?}");
    }

    #[tokio::test]
    async fn a_refused_refresh_token_ends_the_session_with_exit_7() {
        let (result, server, calls) = attempt(false).await;
        let e = result.err().unwrap_or_else(|| panic!("refreshed"));
        assert_eq!(e.exit().code(), 7, "{e}");
        assert!(e.to_string().contains("invalid_grant"), "{e}");
        assert_eq!(server.refreshes().len(), 1);
        assert_eq!(calls, ["delete"], "the dead tokens are deleted");
    }
}
