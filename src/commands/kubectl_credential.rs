//! `tvlogin kubectl-credential`: kubectl's (client-go's) exec credential plugin.
//!
//! stdout carries exactly one `ExecCredential` (`client.authentication.k8s.io/v1`, or
//! `v1beta1` when `KUBERNETES_EXEC_INFO` asks for it) with `status.token` and
//! `status.expirationTimestamp` (RFC 3339); human text goes to stderr only.
//!
//! **Which clusters get a token** ([`check_cluster`]): when `KUBERNETES_EXEC_INFO` names the
//! cluster's server (the kubeconfig's exec section says `provideClusterInfo: true`), it must
//! be https, or http to this machine only; and when the profile lists `kube_servers`, it must
//! be one of them exactly (scheme, host, port and path). A profile with `kube_servers` answers
//! nothing when kubectl does not name the server. A refusal prints no token: a message on
//! stderr and exit 2.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::cli::KubectlCredentialArgs;
use crate::config::ConfigFile;
use crate::error::Error;
use crate::exit::Exit;
use crate::session::{Context, IssuedToken};

use super::helper::{self, Prompt};
use super::places::{Pattern, Place};

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
    /// Whether kubectl (client-go) ran the plugin: `KUBERNETES_EXEC_INFO` was set.
    pub from_kubectl: bool,
    /// The cluster's server (`spec.cluster.server`), when kubectl gave the cluster
    /// (`provideClusterInfo: true`); an empty text when it gave a cluster without one.
    pub server: Option<String>,
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
                from_kubectl: text.is_some(),
                server: None,
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
        let server = value
            .get("spec")
            .and_then(|s| s.get("cluster"))
            .filter(|c| !c.is_null())
            .map(|c| {
                c.get("server")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            });
        Self {
            api_version,
            interactive,
            from_kubectl: true,
            server,
        }
    }
}

/// Refuses (exit 2, no token) a cluster this profile was not set up for: a server that is not
/// https (or http to this machine), not one of `kube_servers` when the profile lists them, or
/// not named at all by kubectl when it does.
pub fn check_cluster(info: &ExecInfo, file: &ConfigFile, profile: &str) -> Result<(), Error> {
    let servers = file
        .profiles
        .get(profile)
        .and_then(|p| p.kube_servers.as_ref());
    let server = match (&info.server, servers) {
        (Some(server), _) => server,
        (None, Some(_)) if info.from_kubectl => {
            return Err(Error::Usage(format!(
                "not answering: profile {profile:?} lists kube_servers, but kubectl did not say \
                 which cluster it is for; set `provideClusterInfo: true` in the kubeconfig's \
                 exec section for tvlogin"
            )));
        }
        (None, _) => return Ok(()),
    };
    // Debug quoting shows control characters as escapes; the message is escaped again on
    // output.
    let shown = server;
    let Some(place) = Place::from_url(server, None) else {
        return Err(Error::Usage(format!(
            "not answering: kubectl names the cluster server {shown:?}, which is not an \
             https://HOST[:PORT] URL"
        )));
    };
    if !place.secure_transport() {
        return Err(Error::Usage(format!(
            "not answering for the cluster {shown:?}: tokens are only sent over https (or \
             http to this machine)"
        )));
    }
    if let Some(servers) = servers
        && !servers
            .iter()
            .filter_map(|s| Pattern::parse(s))
            .any(|s| s.is_exactly(&place))
    {
        return Err(Error::Usage(format!(
            "not answering for the cluster {shown:?}: profile {profile:?} is set up for {} \
             (kube_servers in config.toml)",
            crate::sanitize::escape(&servers.join(", "))
        )));
    }
    Ok(())
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
    helper::check_profile_exists(&ctx, &profile).await?;
    check_cluster(&info, &ctx.file, &profile)?;
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
                    interactive,
                    from_kubectl: text.is_some(),
                    server: None,
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
            from_kubectl: true,
            server: None,
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

    fn exec_info(server: Option<&str>) -> String {
        let cluster = match server {
            Some(s) => json!({"server": s, "certificate-authority-data": "Zm9v"}),
            None => Value::Null,
        };
        json!({
            "apiVersion": V1,
            "kind": "ExecCredential",
            "spec": {"interactive": false, "cluster": cluster},
        })
        .to_string()
    }

    /// `Ok` is "the token may be handed out"; the number is the exit code of a refusal.
    #[test]
    fn only_clusters_the_profile_was_set_up_for_get_a_token() {
        let mut file = ConfigFile::default();
        file.profiles.insert(
            "prod".into(),
            crate::config::Profile {
                kube_servers: Some(vec!["https://k8s.example.test:6443".into()]),
                ..Default::default()
            },
        );
        file.profiles
            .insert("any".into(), crate::config::Profile::default());
        let table: &[(&str, Option<Option<&str>>, bool)] = &[
            // Run by hand: nothing to check against.
            ("any", None, true),
            ("prod", None, true),
            // kubectl without provideClusterInfo.
            ("any", Some(None), true),
            ("prod", Some(None), false),
            // The cluster named.
            ("any", Some(Some("https://anything.example.test")), true),
            ("any", Some(Some("http://k8s.example.test:6443")), false),
            ("any", Some(Some("http://127.0.0.1:8080")), true),
            ("any", Some(Some("http://localhost:8080")), true),
            ("any", Some(Some("k8s.example.test:6443")), false),
            ("any", Some(Some("")), false),
            (
                "any",
                Some(Some("https://k8s.example.test\u{0}.evil")),
                false,
            ),
            ("prod", Some(Some("https://k8s.example.test:6443")), true),
            ("prod", Some(Some("https://K8S.example.test:6443/")), true),
            ("prod", Some(Some("https://k8s.example.test:6443/x")), false),
            ("prod", Some(Some("https://k8s.example.test")), false),
            (
                "prod",
                Some(Some("https://k8s.example.test.evil.example:6443")),
                false,
            ),
            ("prod", Some(Some("http://k8s.example.test:6443")), false),
            ("prod", Some(Some("https://127.0.0.1:6443")), false),
        ];
        for (profile, told, want) in table {
            let text = told.map(exec_info);
            let info = ExecInfo::parse(text.as_deref());
            let got = check_cluster(&info, &file, profile);
            assert_eq!(got.is_ok(), *want, "{profile} {told:?}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.exit().code(), 2, "{e}");
                assert!(!e.to_string().contains('\0'), "{e}");
            }
        }
        let missing = check_cluster(&ExecInfo::parse(Some(&exec_info(None))), &file, "prod");
        assert!(
            missing
                .err()
                .is_some_and(|e| e.to_string().contains("provideClusterInfo: true")),
        );
    }

    #[test]
    fn credentials_carry_rfc3339_expiry() {
        let token = IssuedToken {
            token: "tok".into(),
            token_type: "Bearer".into(),
            expires_at: Some(1_700_000_000),
            scope: None,
            refreshed: false,
            dpop_key: None,
            dpop_bound_access: false,
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
