//! `tvlogin status`: what is stored, for whom, and for how long. Reads only the state files,
//! so it never waits on a keyring and never starts a login.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::StatusArgs;
use crate::clock::UnixTime;
use crate::config::ConfigFile;
use crate::error::Error;
use crate::exit::Exit;
use crate::humanize;
use crate::paths::Paths;
use crate::sanitize::escape;
use crate::session::{self, ProfileStatus, collect};
use crate::store::state::SessionMeta;

fn expiry(now: UnixTime, at: Option<u64>) -> Value {
    json!({"expires_at": at, "expires_in": session::seconds_left(now, at)})
}

/// The JSON form of one row.
pub fn row_json(row: &ProfileStatus, now: UnixTime) -> Value {
    let st = row.state.as_ref();
    let mut v = json!({
        "profile": row.profile,
        "configured": row.configured,
        "logged_in": st.is_some_and(|s| s.session.is_some()),
        "store": st.and_then(|s| s.store).map(|b| b.name()),
        "keyring": st.and_then(|s| s.keyring),
    });
    if let Some(l) = st.and_then(|s| s.login.as_ref()) {
        // How it logs in again; never a secret, only the variable's name.
        v["remembered_login"] = json!({
            "issuer": l.issuer,
            "token_endpoint": l.token_endpoint,
            "client_id": l.client_id,
            "auth": l.auth.rfc_name(),
            "client_secret_env": l.client_secret_env,
            "scope": l.scope,
            "audience": l.audience,
            "resources": l.resources,
        });
    }
    if let Some(m) = st.and_then(|s| s.session.as_ref()) {
        let mut access = expiry(now, m.access_expires_at);
        access["issued_at"] = json!(m.access_issued_at);
        let mut refresh = expiry(now, m.refresh_expires_at);
        refresh["present"] = json!(m.has_refresh_token);
        let mut id = expiry(now, m.id_expires_at);
        id["present"] = json!(m.has_id_token);
        let fields = json!({
            "issuer": m.issuer,
            "client_id": m.client_id,
            "subject": m.subject,
            "subject_label": m.subject_label,
            "scope": m.scope,
            "token_type": m.token_type,
            "obtained_at": m.obtained_at,
            "refreshed_at": m.refreshed_at,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": id,
            "endpoints": m.endpoints,
            // The key's thumbprint only (RFC 7638); the key itself never leaves its store.
            "dpop": m.dpop_jkt.as_ref().map(|jkt| json!({
                "jkt": jkt,
                "access_token_bound": m.dpop_bound_access,
            })),
        });
        if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), fields) {
            obj.extend(more);
        }
    }
    v
}

fn left(now: UnixTime, at: Option<u64>, present: bool) -> String {
    if !present {
        return "-".into();
    }
    match session::seconds_left(now, at) {
        None => "no expiry".into(),
        Some(0) => "expired".into(),
        Some(s) => humanize::duration(Duration::from_secs(s)),
    }
}

/// A session bound to this machine's key says so beside its access token's lifetime.
fn dpop_marked(text: String, m: &SessionMeta) -> String {
    if m.dpop_jkt.is_some() {
        format!("{text} (DPoP-bound)")
    } else {
        text
    }
}

fn server(m: &SessionMeta) -> String {
    m.issuer.clone().unwrap_or_else(|| {
        url::Url::parse(&m.endpoints.token)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|_| m.endpoints.token.clone())
    })
}

fn remembered_server(l: &crate::store::state::RememberedLogin) -> String {
    let issuer = l
        .issuer
        .as_deref()
        .map(|i| i.trim_end_matches('/').to_owned());
    issuer.unwrap_or_else(|| {
        let token = l.token_endpoint.clone().unwrap_or_default();
        url::Url::parse(&token)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or(token)
    })
}

/// The plain-text table.
pub fn table(rows: &[ProfileStatus], now: UnixTime) -> String {
    let mut lines = vec![
        [
            "PROFILE", "STORE", "SUBJECT", "ISSUER", "ACCESS", "REFRESH", "SCOPE",
        ]
        .map(str::to_owned),
    ];
    for row in rows {
        let st = row.state.as_ref();
        let store = st
            .and_then(|s| s.store)
            .map(|b| b.name().to_owned())
            .unwrap_or_else(|| "-".into());
        let line = match st.and_then(|s| s.session.as_ref()) {
            Some(m) => [
                escape(&row.profile),
                store,
                escape(
                    m.subject_label
                        .as_deref()
                        .or(m.subject.as_deref())
                        .unwrap_or("?"),
                ),
                escape(&server(m)),
                dpop_marked(left(now, m.access_expires_at, true), m),
                left(now, m.refresh_expires_at, m.has_refresh_token),
                escape(m.scope.as_deref().unwrap_or("-")),
            ],
            None => [
                escape(&row.profile),
                store,
                // A remembered login: `tvlogin login --profile P` alone logs in again.
                match st.and_then(|s| s.login.as_ref()) {
                    // Nobody logged out: say who ended it.
                    Some(l) if l.session_ended.is_some() => "(session ended by the server)".into(),
                    Some(_) => "(logged out)".into(),
                    None => "(not logged in)".into(),
                },
                st.and_then(|s| s.login.as_ref())
                    .map(|l| escape(&remembered_server(l)))
                    .unwrap_or_else(|| "-".into()),
                "-".into(),
                "-".into(),
                "-".into(),
            ],
        };
        lines.push(line);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    lines
        .iter()
        .map(|l| {
            let mut out = String::new();
            for (i, cell) in l.iter().enumerate() {
                if i + 1 == l.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
                }
            }
            out.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `tvlogin status`.
pub async fn status(args: StatusArgs) -> Result<Exit, Error> {
    let paths = Paths::from_env()?;
    let file = ConfigFile::load(&paths.config_file())?;
    let (rows, errors) = collect(&paths, &file);
    let now = UnixTime::now();
    if args.json {
        let doc = json!({
            "profiles": rows.iter().map(|r| row_json(r, now)).collect::<Vec<_>>(),
            "errors": errors,
        });
        println!("{}", crate::sanitize::json(&doc));
    } else if rows.is_empty() && errors.is_empty() {
        println!(
            "No profiles yet: log in with `tvlogin login --issuer URL --client-id ID` (or \
             `tvlogin login --provider NAME --client-id ID`); `tvlogin demo` shows the whole flow \
             with no account."
        );
    } else {
        if !rows.is_empty() {
            println!("{}", table(&rows, now));
        }
        for e in &errors {
            eprintln!("tvlogin: warning: {}", escape(e));
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::client::AuthMethod;
    use crate::store::Backend;
    use crate::store::state::{ProfileState, StoredEndpoints};

    #[test]
    fn table_and_json_agree_on_the_facts() {
        let meta = SessionMeta {
            generation: 1,
            issuer: Some("https://idp.example".into()),
            client_id: "c".into(),
            auth: AuthMethod::None,
            client_secret_env: None,
            allow_http: false,
            endpoints: StoredEndpoints {
                token: "https://idp.example/token".into(),
                device_authorization: "https://idp.example/device".into(),
                ..StoredEndpoints::default()
            },
            subject: Some("u1".into()),
            subject_label: Some("Ada \u{1b}[31m<ada@example.org>".into()),
            scope: Some("openid".into()),
            token_type: "Bearer".into(),
            obtained_at: 1000,
            refreshed_at: None,
            access_issued_at: 1000,
            access_expires_at: Some(4600),
            has_refresh_token: true,
            refresh_expires_at: None,
            has_id_token: false,
            id_expires_at: None,
            dpop_jkt: None,
            dpop_bound_access: false,
        };
        let rows = vec![
            ProfileStatus {
                profile: "default".into(),
                configured: false,
                state: Some(ProfileState {
                    login: None,
                    version: 1,
                    profile: "default".into(),
                    store: Some(Backend::File),
                    keyring: None,
                    session: Some(meta),
                }),
            },
            ProfileStatus {
                profile: "work".into(),
                configured: true,
                state: None,
            },
        ];
        let text = table(&rows, UnixTime::from_secs(1000));
        assert!(text.contains("1h 00m"), "{text}");
        assert!(text.contains("no expiry"), "{text}");
        assert!(text.contains("(not logged in)"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "escape sequences are escaped: {text}"
        );
        let v = row_json(&rows[0], UnixTime::from_secs(1000));
        assert_eq!(v["access_token"]["expires_in"], 3600);
        assert_eq!(v["store"], "file");
        assert_eq!(v["refresh_token"]["present"], true);
        assert_eq!(
            row_json(&rows[1], UnixTime::from_secs(1000))["logged_in"],
            false
        );
    }
}
