//! `tvlogin kubectl-credential`: kubectl's (client-go's) exec credential plugin.
//!
//! stdout carries exactly one `ExecCredential` (`client.authentication.k8s.io/v1`, or
//! `v1beta1` when `KUBERNETES_EXEC_INFO` asks for it) with `status.token` and
//! `status.expirationTimestamp` (RFC 3339); human text goes to stderr only. client-go runs
//! exec plugins only for https servers.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::cli::KubectlCredentialArgs;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::{Context, IssuedToken};

use super::helper::{self, Prompt};

/// The API version of the plugin protocol that kubectl and tvlogin's setup use.
pub const V1: &str = "client.authentication.k8s.io/v1";
/// The older version some clients still ask for.
pub const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// What client-go says in `KUBERNETES_EXEC_INFO`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecInfo {
    /// The API version to answer in.
    pub api_version: &'static str,
    /// Whether stdin is the person's terminal (`spec.interactive`); `None` when not told.
    pub interactive: Option<bool>,
}

impl ExecInfo {
    /// Reads `KUBERNETES_EXEC_INFO`'s text. Absent or unreadable: v1, interactivity unknown.
    /// An unknown version is answered as v1beta1, which every client-go still reads.
    pub fn parse(text: Option<&str>) -> Self {
        let value: Option<Value> = text.and_then(|t| serde_json::from_str(t).ok());
        let Some(value) = value else {
            return Self {
                api_version: V1,
                interactive: None,
            };
        };
        let api_version = match value.get("apiVersion").and_then(Value::as_str) {
            Some(V1) | None => V1,
            Some(_) => V1BETA1,
        };
        let interactive = value
            .get("spec")
            .and_then(|s| s.get("interactive"))
            .and_then(Value::as_bool);
        Self {
            api_version,
            interactive,
        }
    }
}

/// Where a login may run: client-go's word when it gives one (`interactive` means the
/// person's terminal is there; the login's text goes to stderr, which kubectl shows), else —
/// run by hand — stderr when it is a terminal.
pub fn prompt_for(info: &ExecInfo, stderr_is_terminal: bool) -> Prompt {
    match info.interactive {
        Some(true) => Prompt::Stderr,
        Some(false) => Prompt::Never,
        None if stderr_is_terminal => Prompt::Stderr,
        None => Prompt::Never,
    }
}

/// The `ExecCredential` document for `token`.
pub fn exec_credential(api_version: &str, token: &IssuedToken) -> Value {
    let mut status = json!({ "token": token.token.secret() });
    if let Some(at) = token
        .expires_at
        .and_then(|at| i64::try_from(at).ok())
        .and_then(|at| DateTime::<Utc>::from_timestamp(at, 0))
    {
        status["expirationTimestamp"] =
            Value::String(at.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    json!({
        "apiVersion": api_version,
        "kind": "ExecCredential",
        "status": status,
    })
}

/// `tvlogin kubectl-credential`.
pub async fn kubectl_credential(args: KubectlCredentialArgs) -> Result<Exit, Error> {
    let info = ExecInfo::parse(std::env::var("KUBERNETES_EXEC_INFO").ok().as_deref());
    let prompt = prompt_for(&info, std::io::stderr().is_terminal());
    let ctx = Context::from_env()?;
    let profile = helper::profile_or_default(args.profile);
    let token = helper::access_token(&ctx, &profile, args.min_ttl, prompt).await?;
    helper::printable(&token, "hand it out")?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}",
        crate::sanitize::json(&exec_credential(info.api_version, &token))
    )
    .and_then(|()| out.flush());
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_info_versions_and_interactivity() {
        let table = [
            (None, V1, None),
            (Some("not json"), V1, None),
            (
                Some(
                    r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}"#,
                ),
                V1,
                Some(true),
            ),
            (
                Some(
                    r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}"#,
                ),
                V1BETA1,
                Some(false),
            ),
            (
                Some(r#"{"apiVersion":"client.authentication.k8s.io/v2","spec":{}}"#),
                V1BETA1,
                None,
            ),
        ];
        for (text, version, interactive) in table {
            assert_eq!(
                ExecInfo::parse(text),
                ExecInfo {
                    api_version: version,
                    interactive
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn logins_run_only_where_client_go_says_a_person_is() {
        let info = |interactive| ExecInfo {
            api_version: V1,
            interactive,
        };
        let table = [
            (Some(true), false, Prompt::Stderr),
            (Some(true), true, Prompt::Stderr),
            (Some(false), true, Prompt::Never),
            (Some(false), false, Prompt::Never),
            (None, true, Prompt::Stderr),
            (None, false, Prompt::Never),
        ];
        for (interactive, tty, want) in table {
            assert_eq!(
                prompt_for(&info(interactive), tty),
                want,
                "{interactive:?} {tty}"
            );
        }
    }

    #[test]
    fn credentials_carry_rfc3339_expiry() {
        let token = IssuedToken {
            token: "tok".into(),
            token_type: "Bearer".into(),
            expires_at: Some(1_700_000_000),
            scope: None,
            refreshed: false,
        };
        assert_eq!(
            exec_credential(V1, &token),
            json!({
                "apiVersion": V1,
                "kind": "ExecCredential",
                "status": {"token": "tok", "expirationTimestamp": "2023-11-14T22:13:20Z"},
            })
        );
        let unknown = IssuedToken {
            expires_at: None,
            ..token
        };
        assert_eq!(
            exec_credential(V1BETA1, &unknown)["status"],
            json!({"token": "tok"})
        );
    }
}
