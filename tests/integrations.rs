//! The tools people log in for, for real: git (clone, fetch, `credential fill`) through
//! `tvlogin git-credential`, kubectl through `tvlogin kubectl-credential`, the Python docker
//! library's credential-store client through `docker-credential-tvlogin`, `tvlogin exec`, and
//! `token --format header` — each against a bearer-protected HTTPS server that accepts only
//! tokens the embedded authorization server issued. Each tool's configuration is written by
//! `tvlogin setup`. A test whose tool is missing says so on stderr and passes.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;
mod resource_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::Home;
use resource_server::ResourceServer;

/// Whether `program` runs here; says why the test is skipped when not.
fn have(program: &str, args: &[&str], why: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: {program} is not available here ({why}); .ci/run installs it");
    }
    ok
}

/// A scratch environment for the tools: HOME, git's global config, tvlogin's directories.
struct Tools {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Tools {
    fn new(home: &Home) -> Self {
        let dir = tempfile::tempdir().expect("create the tools' temp dir");
        let path = std::env::var("PATH").unwrap_or_default();
        let env = vec![
            ("PATH".into(), path),
            ("HOME".into(), dir.path().display().to_string()),
            (
                "GIT_CONFIG_GLOBAL".into(),
                dir.path().join("gitconfig").display().to_string(),
            ),
            ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
            // A helper that fails must fail the command, not leave git asking for a password.
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            (
                "TVLOGIN_CONFIG_DIR".into(),
                home.dir.path().join("config").display().to_string(),
            ),
            (
                "TVLOGIN_DATA_DIR".into(),
                home.dir.path().join("data").display().to_string(),
            ),
            ("TVLOGIN_STORE".into(), "file".into()),
        ];
        Self { dir, env }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// `program args…` in this environment, with `stdin` as its input.
    fn run(&self, program: &str, args: &[&str], stdin: &str) -> Output {
        self.run_in(self.path(), program, args, stdin)
    }

    fn run_in(&self, dir: &Path, program: &str, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("{program}: {e}"))
    }

    fn tvlogin(&self, args: &[&str], stdin: &str) -> Output {
        self.run(env!("CARGO_BIN_EXE_tvlogin"), args, stdin)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The access token's expiry, from `tvlogin token --format json`.
fn expires_at(tools: &Tools) -> u64 {
    let out = ok(&tools.tvlogin(&["token", "--format", "json"], ""), "token");
    let json: serde_json::Value = serde_json::from_str(&out).expect("parse token --format json");
    json["expires_at"]
        .as_u64()
        .unwrap_or_else(|| panic!("no expiry: {out}"))
}

/// git's (major, minor) version.
fn git_version(tools: &Tools) -> (u32, u32) {
    let out = text(&tools.run("git", &["--version"], "").stdout);
    let mut numbers = out
        .split_whitespace()
        .nth(2)
        .unwrap_or("0.0")
        .split('.')
        .map(|n| n.parse().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
}

async fn resource(server: &tvlogin_server::ServerHandle, git_root: PathBuf) -> ResourceServer {
    resource_server::start(server.userinfo_endpoint().to_string(), git_root).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_clones_and_fetches_with_tokens_from_the_credential_helper() {
    if !have("git", &["--version"], "the git client") {
        return;
    }
    if !Path::new(resource_server::GIT_HTTP_BACKEND).exists() {
        eprintln!(
            "SKIPPED: {} is missing (git's smart HTTP server); .ci/run installs git",
            resource_server::GIT_HTTP_BACKEND
        );
        return;
    }
    // Tokens live 30 s (refreshed when under 15 s are left): long enough for setup and clone
    // without a refresh on a busy machine, short enough to wait out before the fetch.
    let (server, home) = common::logged_in(common::quick(30)).await;
    let tools = Tools::new(&home);
    let repos = tools.path().join("repos");
    std::fs::create_dir_all(&repos).expect("create the repos dir");
    resource_server::make_repo(&repos);
    let rs = resource(&server, repos).await;
    let mut tools = tools;
    tools.set(
        "GIT_SSL_CAINFO",
        rs.ca_file(tools.path()).display().to_string(),
    );

    // setup git: the helper for this URL in the global git config, the host in the profile.
    let out = ok(&tools.tvlogin(&["setup", "git", &rs.base], ""), "setup git");
    assert!(out.contains("added"), "{out}");
    let again = ok(&tools.tvlogin(&["setup", "git", &rs.base], ""), "setup git");
    assert!(
        !again.contains("added") && again.contains("unchanged"),
        "{again}"
    );
    let helpers = ok(
        &tools.run(
            "git",
            &[
                "config",
                "--global",
                "--get-all",
                &format!("credential.{}.helper", rs.base),
            ],
            "",
        ),
        "git config",
    );
    assert_eq!(
        helpers,
        format!(
            "\n{} git-credential --profile default\n",
            env!("CARGO_BIN_EXE_tvlogin")
        )
    );
    let config =
        std::fs::read_to_string(home.dir.path().join("config/config.toml")).unwrap_or_default();
    let host = rs.base.trim_start_matches("https://");
    assert!(
        config.contains(&format!("git_hosts = [\"{host}\"]")),
        "{config}"
    );

    // git credential fill: the password and its expiry, straight from the helper.
    let exp = expires_at(&tools);
    let fill = ok(
        &tools.run(
            "git",
            &["credential", "fill"],
            &format!("protocol=https\nhost={host}\n\n"),
        ),
        "git credential fill",
    );
    assert!(fill.contains("username=oauth2\n"), "{fill}");
    assert!(fill.contains("password="), "{fill}");
    // git passes password_expiry_utc through since 2.41.
    if git_version(&tools) >= (2, 41) {
        assert!(
            fill.contains(&format!("password_expiry_utc={exp}\n")),
            "{fill}"
        );
    } else {
        eprintln!("NOTE: git older than 2.41 drops password_expiry_utc; not checked");
    }

    // A real clone over HTTPS: git asks the helper after the server's 401.
    let clone = tools.run(
        "git",
        &["clone", "-q", &format!("{}/git/repo.git", rs.base), "clone"],
        "",
    );
    ok(&clone, "git clone");
    let readme = std::fs::read_to_string(tools.path().join("clone/README")).unwrap_or_default();
    assert_eq!(readme, "hello from the test repository\n");
    assert!(rs.accepted.load(Ordering::SeqCst) > 0);
    assert_eq!(
        server.refreshes().len(),
        0,
        "no refresh while the token is fresh"
    );

    // After the access token expired, a fetch goes through one refresh.
    let now = tvlogin::clock::UnixTime::now().unsigned();
    tokio::time::sleep(Duration::from_secs(exp.saturating_sub(now) + 1)).await;
    let accepted_before = rs.accepted.load(Ordering::SeqCst);
    let fetch = tools.run_in(&tools.path().join("clone"), "git", &["fetch", "-q"], "");
    ok(&fetch, "git fetch");
    assert_eq!(
        server.refreshes().len(),
        1,
        "exactly one refresh for the fetch"
    );
    assert!(rs.accepted.load(Ordering::SeqCst) > accepted_before);
    // The server refused a token (git's `reject` → the helper's `erase`): the next `get`
    // refreshes instead of answering with it again.
    let request = format!("protocol=https\nhost={host}\n\n");
    let password = |fill: &str| {
        fill.lines()
            .find_map(|l| l.strip_prefix("password="))
            .unwrap_or_default()
            .to_owned()
    };
    let before = password(&ok(
        &tools.run("git", &["credential", "fill"], &request),
        "fill",
    ));
    ok(
        &tools.run(
            "git",
            &["credential", "reject"],
            &format!("protocol=https\nhost={host}\nusername=oauth2\npassword={before}\n\n"),
        ),
        "git credential reject",
    );
    let after = password(&ok(
        &tools.run("git", &["credential", "fill"], &request),
        "fill",
    ));
    assert_ne!(after, before, "a refused token is not handed out again");
    assert_eq!(server.refreshes().len(), 2);
    let again = password(&ok(
        &tools.run("git", &["credential", "fill"], &request),
        "fill",
    ));
    assert_eq!(again, after, "one refresh per refusal");

    // With git_bearer, a git that knows `authtype` sends the token as a Bearer credential.
    if git_version(&tools) >= (2, 46) {
        let config_file = home.dir.path().join("config/config.toml");
        let mut config = std::fs::read_to_string(&config_file).unwrap_or_default();
        config.push_str("git_bearer = true\n");
        std::fs::write(&config_file, config).expect("write config.toml");
        let fill = ok(
            &tools.run(
                "git",
                &["credential", "fill"],
                &format!("capability[]=authtype\nprotocol=https\nhost={host}\n\n"),
            ),
            "fill with authtype",
        );
        assert!(fill.contains("authtype=Bearer\n"), "{fill}");
        assert!(fill.contains(&format!("credential={after}\n")), "{fill}");
        let accepted = rs.accepted.load(Ordering::SeqCst);
        ok(
            &tools.run_in(&tools.path().join("clone"), "git", &["fetch", "-q"], ""),
            "git fetch with a Bearer credential",
        );
        assert!(rs.accepted.load(Ordering::SeqCst) > accepted);
        assert!(
            rs.bearer_seen.load(Ordering::SeqCst) > 0,
            "git sent Authorization: Bearer"
        );
    } else {
        eprintln!("NOTE: git older than 2.46 has no authtype capability; Bearer not checked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_uses_the_exec_plugin_written_by_setup() {
    if !have("kubectl", &["version", "--client"], "the Kubernetes CLI") {
        return;
    }
    let (server, home) = common::logged_in(common::quick(3600)).await;
    let tools = Tools::new(&home);
    let rs = resource(&server, tools.path().to_owned()).await;
    let kubeconfig = tools.path().join("kubeconfig");
    let original = format!(
        "apiVersion: v1
kind: Config
current-context: other
clusters:
- name: test
  cluster:
    server: {}
    certificate-authority-data: {}
contexts:
- name: test
  context:
    cluster: test
    user: admin
- name: other
  context:
    cluster: test
    user: admin
users:
- name: admin
  user:
    token: keep-me
",
        rs.base,
        rs.ca_base64()
    );
    std::fs::write(&kubeconfig, &original).expect("write the kubeconfig");
    let path = kubeconfig.display().to_string();

    let dry = ok(
        &tools.tvlogin(
            &[
                "setup",
                "kubectl",
                "--kubeconfig",
                &path,
                "--context",
                "test",
                "--dry-run",
            ],
            "",
        ),
        "setup kubectl --dry-run",
    );
    assert!(dry.contains("would add"), "{dry}");
    assert_eq!(
        std::fs::read_to_string(&kubeconfig).unwrap_or_default(),
        original,
        "--dry-run writes nothing"
    );
    let out = ok(
        &tools.tvlogin(
            &[
                "setup",
                "kubectl",
                "--kubeconfig",
                &path,
                "--context",
                "test",
            ],
            "",
        ),
        "setup kubectl",
    );
    assert!(
        out.contains("added") && out.contains("tvlogin-default"),
        "{out}"
    );
    let written = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
    for kept in ["token: keep-me", "current-context: other", "name: other"] {
        assert!(written.contains(kept), "{kept} lost:\n{written}");
    }
    let again = ok(
        &tools.tvlogin(
            &[
                "setup",
                "kubectl",
                "--kubeconfig",
                &path,
                "--context",
                "test",
            ],
            "",
        ),
        "setup kubectl again",
    );
    assert!(
        !again.contains("added") && !again.contains("updated"),
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(&kubeconfig).unwrap_or_default(),
        written
    );

    let kubectl = |tools: &Tools| {
        tools.run(
            "kubectl",
            &[
                "--kubeconfig",
                &path,
                "--context",
                "test",
                "get",
                "--raw",
                "/api",
            ],
            "",
        )
    };
    let api = ok(&kubectl(&tools), "kubectl get --raw /api");
    assert!(api.contains("\"APIVersions\""), "{api}");
    assert!(rs.accepted.load(Ordering::SeqCst) > 0);

    // Logged out: kubectl fails, and what it shows names the way back in.
    ok(&tools.tvlogin(&["logout"], ""), "logout");
    let refused = kubectl(&tools);
    assert!(!refused.status.success(), "kubectl worked after logout");
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("tvlogin login"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docker_library_gets_tokens_for_registries_set_up_and_not_found_otherwise() {
    if !have(
        "python3",
        &["-c", "import docker.credentials, docker.auth"],
        "the Python docker library (pip install docker)",
    ) {
        return;
    }
    let (server, home) = common::logged_in(common::quick(3600)).await;
    let mut tools = Tools::new(&home);
    let rs = resource(&server, tools.path().to_owned()).await;
    // docker finds `docker-credential-tvlogin` on PATH: a link to the binary.
    let bin = tools.path().join("bin");
    std::fs::create_dir_all(&bin).expect("create the bin dir");
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_tvlogin"),
        bin.join("docker-credential-tvlogin"),
    )
    .expect("link docker-credential-tvlogin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    tools.set("PATH", path);
    let docker_dir = tools.path().join("docker");
    std::fs::create_dir_all(&docker_dir).expect("create the docker config dir");
    std::fs::write(
        docker_dir.join("config.json"),
        r#"{"auths":{"other.example":{"auth":"dTpw"}},"credHelpers":{"gcr.io":"gcloud"}}"#,
    )
    .expect("write docker's config.json");
    tools.set("DOCKER_CONFIG", docker_dir.display().to_string());

    let out = ok(
        &tools.tvlogin(&["setup", "docker", "registry.example.test"], ""),
        "setup docker",
    );
    assert!(out.contains("added"), "{out}");
    assert!(!out.contains("not on PATH"), "{out}");
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(docker_dir.join("config.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(config["credHelpers"]["registry.example.test"], "tvlogin");
    assert_eq!(config["credHelpers"]["gcr.io"], "gcloud");
    assert_eq!(config["auths"]["other.example"]["auth"], "dTpw");

    let script = r#"
import json, sys
import docker.auth, docker.credentials, docker.errors
config = docker.auth.load_config(config_path=sys.argv[1])
found = docker.auth.resolve_authconfig(config, "registry.example.test")
try:
    docker.credentials.Store("tvlogin").get("unknown.example.test")
    unknown = "found?!"
except docker.credentials.errors.CredentialsNotFound as e:
    unknown = "not found: " + str(e)
print(json.dumps({"found": found, "unknown": unknown}))
"#;
    let config_path = docker_dir.join("config.json").display().to_string();
    let result = ok(
        &tools.run("python3", &["-c", script, &config_path], ""),
        "python docker",
    );
    let result: serde_json::Value =
        serde_json::from_str(&result).unwrap_or_else(|e| panic!("{e}: {result}"));
    assert_eq!(result["found"]["Username"], "oauth2", "{result}");
    let secret = result["found"]["Password"].as_str().unwrap_or_default();
    assert_eq!(
        rs.get_api("authorization", &format!("Bearer {secret}"))
            .await,
        200,
        "the registry token is one the server accepts"
    );
    let unknown = result["unknown"].as_str().unwrap_or_default();
    assert!(unknown.starts_with("not found"), "{unknown}");

    // The protocol by hand: list, and the exact not-found text with exit 1.
    let list = ok(
        &tools.run("docker-credential-tvlogin", &["list"], ""),
        "list",
    );
    assert_eq!(list, r#"{"registry.example.test":"oauth2"}"#);
    let missing = tools.run("docker-credential-tvlogin", &["get"], "nowhere.example\n");
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        text(&missing.stdout),
        "credentials not found in native keychain"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_passes_the_token_and_the_exit_status_and_header_output_is_accepted() {
    let (server, home) = common::logged_in(common::quick(3600)).await;
    let mut tools = Tools::new(&home);
    let rs = resource(&server, tools.path().to_owned()).await;
    tools.set("TVLOGIN_CLIENT_SECRET", "s3cret-value");
    tools.set("KEEP_ME", "kept");

    let run = tools.tvlogin(
        &[
            "exec",
            "--",
            "sh",
            "-c",
            "printf %s \"$BEARER_TOKEN\" > token; env > environment; exit 3",
        ],
        "",
    );
    assert_eq!(run.status.code(), Some(3), "{}", text(&run.stderr));
    assert!(run.stdout.is_empty());
    let token = std::fs::read_to_string(tools.path().join("token")).unwrap_or_default();
    assert_eq!(
        rs.get_api("Authorization", &format!("Bearer {token}"))
            .await,
        200
    );
    let environment = std::fs::read_to_string(tools.path().join("environment")).unwrap_or_default();
    assert!(!environment.contains("s3cret-value"), "{environment}");
    assert!(
        !environment.contains("TVLOGIN_CLIENT_SECRET"),
        "{environment}"
    );
    assert!(environment.contains("KEEP_ME=kept"), "{environment}");

    // Another variable name, and a signal passed through as the command's own.
    let named = tools.tvlogin(
        &[
            "exec",
            "--env",
            "MY_TOKEN",
            "--",
            "sh",
            "-c",
            "test -n \"$MY_TOKEN\" && test -z \"$BEARER_TOKEN\"",
        ],
        "",
    );
    assert_eq!(named.status.code(), Some(0), "{}", text(&named.stderr));
    let killed = tools.tvlogin(&["exec", "--", "sh", "-c", "kill -TERM $$"], "");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(killed.status.signal(), Some(15), "{:?}", killed.status);
    let bad = tools.tvlogin(&["exec", "--env", "1BAD", "--", "true"], "");
    assert_eq!(bad.status.code(), Some(2));

    // token --format header is a header line the server accepts as is.
    let header = ok(
        &tools.tvlogin(&["token", "--format", "header"], ""),
        "token",
    );
    let (name, value) = header
        .trim_end()
        .split_once(": ")
        .unwrap_or_else(|| panic!("not a header: {header}"));
    assert_eq!(name, "Authorization");
    assert!(value.starts_with("Bearer "), "{value}");
    assert_eq!(rs.get_api(name, value).await, 200);
    assert_eq!(rs.get_api(name, "Bearer forged").await, 401);

    // --json is --format json; both at once is a usage error.
    let json = ok(&tools.tvlogin(&["token", "--json"], ""), "token --json");
    let same = ok(
        &tools.tvlogin(&["token", "--format", "json"], ""),
        "token --format json",
    );
    let keys = |text: &str| {
        let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(&json), keys(&same));
    assert!(keys(&json).contains(&"expires_at".to_owned()), "{json}");
    let both = tools.tvlogin(&["token", "--json", "--format", "env"], "");
    assert_eq!(both.status.code(), Some(2));

    // --format env: eval-able lines.
    let env = ok(
        &tools.tvlogin(&["token", "--format", "env"], ""),
        "token env",
    );
    let check = tools.run(
        "sh",
        &[
            "-c",
            &format!(
                "{env}\ntest \"$BEARER_TOKEN\" = '{token}' && test -n \"$BEARER_TOKEN_EXPIRES_AT\""
            ),
        ],
        "",
    );
    assert!(check.status.success(), "{env}");
}

/// The helpers answer only for the places their profile was set up for, with a live session
/// (so that a refusal can only come from the rule): through real git with tvlogin as the
/// global `credential.helper`, and by each helper's protocol by hand. A refusal prints
/// nothing on stdout (docker: its "not found" answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpers_answer_only_for_the_places_they_were_set_up_for() {
    const TEST: &str = "helpers_answer_only_for_the_places_they_were_set_up_for";
    let (_server, home) = common::logged_in(common::quick(3600)).await;
    let mut tools = Tools::new(&home);
    let config_file = home.dir.path().join("config/config.toml");
    let configure = |text: &str| {
        std::fs::create_dir_all(home.dir.path().join("config")).expect("config dir");
        std::fs::write(&config_file, text).expect("write config.toml");
    };
    configure(
        "[profiles.default]\ngit_hosts = [\"git.example.test\", \"team.example.test/team\"]\n\
         docker_registries = [\"registry.example.test\"]\n",
    );
    let bin = env!("CARGO_BIN_EXE_tvlogin");

    if have("git", &["--version"], "the git client") {
        for helper in [
            format!("{bin} git-credential"),
            format!("{bin} git-credential --profile default"),
        ] {
            ok(
                &tools.run(
                    "git",
                    &[
                        "config",
                        "--global",
                        "--replace-all",
                        "credential.helper",
                        &helper,
                    ],
                    "",
                ),
                "git config credential.helper",
            );
            let fill = |extra: &[&str], input: &str| {
                let mut args = extra.to_vec();
                args.extend(["credential", "fill"]);
                tools.run("git", &args, input)
            };
            // The host it was set up for: answered (the helper is wired and logged in).
            let yes = fill(&[], "protocol=https\nhost=git.example.test\n\n");
            assert!(password(&yes).is_some(), "{helper}: {}", text(&yes.stderr));
            let refused = [
                "protocol=https\nhost=evil.example\n\n",
                "protocol=https\nhost=github.com\n\n",
                "protocol=https\nhost=git.example.test.evil.example\n\n",
                "protocol=https\nhost=git.example.test:8443\n\n",
                "protocol=http\nhost=git.example.test\n\n",
                // A setting with a path needs git to send the path (useHttpPath).
                "protocol=https\nhost=team.example.test\n\n",
            ];
            for input in refused {
                let no = fill(&[], input);
                assert_eq!(password(&no), None, "{helper}: {input:?}");
                assert!(
                    !no.status.success(),
                    "{helper}: git found a password elsewhere?"
                );
            }
            let with_path = ["-c", "credential.useHttpPath=true"];
            let team = fill(
                &with_path,
                "url=https://team.example.test/team/repo.git\n\n",
            );
            assert!(
                password(&team).is_some(),
                "{helper}: {}",
                text(&team.stderr)
            );
            let other = fill(
                &with_path,
                "url=https://team.example.test/other/repo.git\n\n",
            );
            assert_eq!(password(&other), None, "{helper}");
            let escape = fill(
                &with_path,
                "url=https://team.example.test/teamx/repo.git\n\n",
            );
            assert_eq!(password(&escape), None, "{helper}");
        }
    } else {
        common::skip::skip_or_fail(TEST, "git is not installed: the real-git part did not run");
    }

    // git's protocol by hand: control characters and URL tricks get nothing, exit 0.
    let answered = git_get(&tools, &[], "protocol=https\nhost=git.example.test\n\n");
    assert!(password(&answered).is_some(), "{}", text(&answered.stderr));
    for input in [
        "protocol=https\nhost=git.example.test\0\n\n",
        "protocol=https\nhost=git.example.test\0.evil.example\n\n",
        "protocol=https\nhost=git.example.test\u{1b}[2J\n\n",
        "protocol=https\nhost=alice@git.example.test\n\n",
        "protocol=https\nhost=evil.example\n\n",
        "protocol=https\nhost=team.example.test\npath=team/../x\n\n",
    ] {
        for args in [&[][..], &["--profile", "default"]] {
            let out = git_get(&tools, args, input);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{input:?}: {}",
                text(&out.stderr)
            );
            assert!(
                out.stdout.is_empty(),
                "{input:?} {args:?}: {}",
                text(&out.stdout)
            );
            assert!(!text(&out.stderr).contains('\u{1b}'), "{input:?}");
        }
    }

    // docker: https (a bare host means https) to a listed registry only.
    let docker = |input: &str| tools.tvlogin(&["docker-credential", "get"], input);
    let found = docker("https://registry.example.test\n");
    assert_eq!(found.status.code(), Some(0), "{}", text(&found.stderr));
    assert!(text(&found.stdout).contains("\"Secret\""));
    for input in [
        "http://registry.example.test\n",
        "registry.example.test:5000\n",
        "https://registry.example.test.evil.example\n",
        "https://user@registry.example.test\n",
        "registry.example.test\0\n",
    ] {
        let out = docker(input);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert_eq!(
            text(&out.stdout),
            "credentials not found in native keychain",
            "{input:?}"
        );
    }

    // kubectl: the cluster kubectl names must be https (or loopback), and one of
    // kube_servers when the profile lists them; otherwise exit 2 and no token.
    let table: [(Option<&str>, bool); 4] = [
        (Some("https://k8s.example.test"), true),
        (Some("http://127.0.0.1:8080"), true),
        (Some("http://k8s.example.test"), false),
        (None, true),
    ];
    for (server, answers) in table {
        let out = kubectl_credential(&mut tools, server);
        assert_eq!(
            out.status.success(),
            answers,
            "{server:?}: {}",
            text(&out.stderr)
        );
        if !answers {
            assert_eq!(out.status.code(), Some(2), "{server:?}");
            assert!(out.stdout.is_empty(), "{server:?}");
        }
    }
    configure("[profiles.default]\nkube_servers = [\"https://k8s.example.test:6443\"]\n");
    let table: [(Option<&str>, bool); 4] = [
        (Some("https://k8s.example.test:6443"), true),
        (Some("https://k8s.example.test"), false),
        (Some("https://k8s.example.test:6443.evil.example"), false),
        (None, false),
    ];
    for (server, answers) in table {
        let out = kubectl_credential(&mut tools, server);
        assert_eq!(
            out.status.success(),
            answers,
            "{server:?}: {}",
            text(&out.stderr)
        );
        if !answers {
            assert_eq!(out.status.code(), Some(2), "{server:?}");
            assert!(out.stdout.is_empty(), "{server:?}");
            assert!(text(&out.stderr).contains("not answering"), "{server:?}");
        }
    }
    tools.env.retain(|(k, _)| k != "KUBERNETES_EXEC_INFO");

    // A profile with no git_hosts at all (this config has none) answers only a helper that
    // names it on its command line (not through TVLOGIN_PROFILE), and only over https or to
    // this machine.
    let named = git_get(
        &tools,
        &["--profile", "default"],
        "protocol=https\nhost=anything.example\n\n",
    );
    assert!(password(&named).is_some(), "{}", text(&named.stderr));
    for (args, input) in [
        (&[][..], "protocol=https\nhost=anything.example\n\n"),
        (
            &["--profile", "default"],
            "protocol=http\nhost=anything.example\n\n",
        ),
    ] {
        let out = git_get(&tools, args, input);
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stdout.is_empty(), "{args:?} {input:?}");
    }
    tools.set("TVLOGIN_PROFILE", "default");
    let out = git_get(&tools, &[], "protocol=https\nhost=anything.example\n\n");
    assert!(out.stdout.is_empty(), "TVLOGIN_PROFILE is not --profile");
}

/// The password line of a `git credential fill` or helper answer.
fn password(out: &Output) -> Option<String> {
    text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("password="))
        .map(str::to_owned)
}

/// `tvlogin git-credential [args] get` with `input` on stdin.
fn git_get(tools: &Tools, args: &[&str], input: &str) -> Output {
    let mut all = vec!["git-credential"];
    all.extend(args);
    all.push("get");
    tools.tvlogin(&all, input)
}

/// `tvlogin kubectl-credential` as kubectl runs it, told the cluster's `server` (or no
/// cluster: `provideClusterInfo: false`).
fn kubectl_credential(tools: &mut Tools, server: Option<&str>) -> Output {
    let cluster = server.map_or(
        serde_json::Value::Null,
        |s| serde_json::json!({"server": s}),
    );
    let info = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {"interactive": false, "cluster": cluster},
    });
    tools.set("KUBERNETES_EXEC_INFO", info.to_string());
    tools.tvlogin(&["kubectl-credential"], "")
}
