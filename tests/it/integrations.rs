//! The tools people log in for, for real: git (clone, fetch, `credential fill`) through
//! `tvlogin git-credential`, kubectl through `tvlogin kubectl-credential`, the Python docker
//! library's credential-store client through `docker-credential-tvlogin`, `tvlogin exec`, and
//! `token --format header` — each against a bearer-protected HTTPS server that accepts only
//! tokens the embedded authorization server issued. Each tool's configuration is written by
//! `tvlogin setup`. A test whose tool is missing says so on stderr and passes.
// Helpers outside #[test] functions use `expect` too, and clippy.toml's
// allow-expect-in-tests covers only #[test] functions: test code, not product code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::common;
use crate::resource_server;

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
        common::skip::skip_or_fail(
            program,
            &format!("{program} is not available here ({why}); .ci/run installs it"),
        );
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
        common::skip::skip_or_fail(
            "git_clones_and_fetches_with_tokens_from_the_credential_helper",
            &format!(
                "{} is missing (git's smart HTTP server); .ci/run installs git",
                resource_server::GIT_HTTP_BACKEND
            ),
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
        common::skip::note(
            "git_credential",
            "git older than 2.41 drops password_expiry_utc; not checked",
        );
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
        common::skip::note(
            "git_credential",
            "git older than 2.46 has no authtype capability; Bearer not checked",
        );
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

    // The context "test" and the user "admin" are not tvlogin's: refused, nothing written.
    for args in [&["--context", "test"][..], &["--user", "admin"][..]] {
        let mut argv = vec!["setup", "kubectl", "--kubeconfig", &path];
        argv.extend_from_slice(args);
        let refused = tools.tvlogin(&argv, "");
        assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
        let stderr = text(&refused.stderr);
        assert!(
            stderr.contains("--force") && stderr.contains("did not write"),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(&kubeconfig).unwrap_or_default(),
            original
        );
    }

    let dry = ok(
        &tools.tvlogin(
            &[
                "setup",
                "kubectl",
                "--kubeconfig",
                &path,
                "--context",
                "tv",
                "--cluster",
                "test",
                "--dry-run",
            ],
            "",
        ),
        "setup kubectl --dry-run",
    );
    assert!(dry.contains("would add"), "{dry}");
    // The diff is what kubectl itself would write (run on a scratch copy).
    assert!(dry.contains("\n+- name: tvlogin-default\n"), "{dry}");
    assert!(dry.contains("\n+      command: "), "{dry}");
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
                "tv",
                "--cluster",
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
                "tv",
                "--cluster",
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
                "tv",
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

    // --undo: tvlogin's user and the context setup created go; everything else stays.
    let undo = ok(
        &tools.tvlogin(&["setup", "kubectl", "--kubeconfig", &path, "--undo"], ""),
        "setup kubectl --undo",
    );
    assert!(undo.contains("removed"), "{undo}");
    let users = ok(
        &tools.run(
            "kubectl",
            &["--kubeconfig", &path, "config", "get-users"],
            "",
        ),
        "kubectl config get-users",
    );
    assert_eq!(
        users.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "admin"]
    );
    let contexts = ok(
        &tools.run(
            "kubectl",
            &[
                "--kubeconfig",
                &path,
                "config",
                "get-contexts",
                "-o",
                "name",
            ],
            "",
        ),
        "kubectl config get-contexts",
    );
    let mut contexts: Vec<&str> = contexts.split_whitespace().collect();
    contexts.sort_unstable();
    assert_eq!(contexts, ["other", "test"]);
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

// ----- `setup` at the edges: other programs' files, their locks, links and undo -----

/// A file of the round-trip corpus (tests/data/setup).
fn corpus(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/setup")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `program` on the test's own PATH, for running it where tvlogin's PATH lacks it.
fn real(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777)
}

/// `path` made a link to `dotfiles/NAME` (a dotfiles repository's layout), holding `text`
/// with mode 0640.
#[cfg(unix)]
fn linked_file(dir: &Path, path: &Path, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dotfiles = dir.join("dotfiles");
    std::fs::create_dir_all(&dotfiles).expect("create dotfiles");
    let name = path.file_name().expect("a file name");
    let target = dotfiles.join(name);
    std::fs::write(&target, text).expect("write the dotfile");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the link's directory");
    }
    std::os::unix::fs::symlink(&target, path).expect("link");
    target
}

/// The tvlogin helpers in git's global config for `url`.
fn git_helpers(tools: &Tools, url: &str) -> Vec<String> {
    let out = tools.run(
        "git",
        &[
            "config",
            "--global",
            "--get-all",
            &format!("credential.{url}.helper"),
        ],
        "",
    );
    text(&out.stdout).lines().map(str::to_owned).collect()
}

#[cfg(unix)]
#[test]
fn setup_git_refuses_a_users_helper_backs_up_when_forced_strips_passwords_and_undoes_exactly() {
    if !have("git", &["--version"], "the git client") {
        return;
    }
    let home = Home::new();
    let tools = Tools::new(&home);
    let url = "https://git.example.test";
    let gitconfig = tools.path().join("gitconfig");
    let original = "# my git settings\n[user]\n\tname = Alice\n[credential \"https://git.example.test\"]\n\thelper = store\n";
    let target = linked_file(tools.path(), &gitconfig, original);
    let exe = env!("CARGO_BIN_EXE_tvlogin");
    let ours = format!("{exe} git-credential --profile default");

    // A helper of the user's: refused, exit 2, the file as it was.
    let with_password = "https://alice:s3cr3t@git.example.test";
    let refused = tools.tvlogin(&["setup", "git", with_password], "");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("\"store\"") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cr3t"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap_or_default(),
        original
    );

    // --dry-run prints the diff and writes nothing, byte for byte.
    let dry = ok(
        &tools.tvlogin(&["setup", "git", with_password, "--force", "--dry-run"], ""),
        "setup git --dry-run",
    );
    assert!(dry.contains("-\thelper = store\n"), "{dry}");
    assert!(dry.contains(&format!("+\thelper = {ours}\n")), "{dry}");
    assert!(!dry.contains("s3cr3t"), "{dry}");
    assert_eq!(
        std::fs::read(&target).unwrap_or_default(),
        original.as_bytes()
    );
    assert!(!home.dir.path().join("config/config.toml").exists());

    // --force: a backup first, named in the output; the link stays a link, its mode kept.
    let forced = ok(
        &tools.tvlogin(&["setup", "git", with_password, "--force"], ""),
        "setup git --force",
    );
    assert!(!forced.contains("s3cr3t"), "{forced}");
    let backup = forced
        .lines()
        .find_map(|l| l.trim().strip_prefix("backup: "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("no backup named: {forced}"));
    assert!(backup.contains("gitconfig.tvlogin-backup-"), "{backup}");
    assert_eq!(
        std::fs::read_to_string(backup).unwrap_or_default(),
        original
    );
    assert!(is_link(&gitconfig), "the link was replaced by a file");
    assert_eq!(mode(&target), 0o640);
    assert_eq!(git_helpers(&tools, url), ["".to_owned(), ours.clone()]);
    let written = std::fs::read_to_string(&target).unwrap_or_default();
    assert!(
        !written.contains("s3cr3t") && !written.contains("alice"),
        "{written}"
    );
    assert!(
        written.starts_with("# my git settings\n[user]\n\tname = Alice\n"),
        "{written}"
    );

    // Again: nothing changes.
    let again = ok(
        &tools.tvlogin(&["setup", "git", url], ""),
        "setup git again",
    );
    assert!(
        again.contains("unchanged") && !again.contains("added"),
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap_or_default(),
        written
    );

    // Undo removes tvlogin's values (and the host in config.toml), nothing else.
    ok(
        &tools.tvlogin(&["setup", "git", url, "--undo"], ""),
        "setup git --undo",
    );
    assert!(git_helpers(&tools, url).is_empty());
    let name = text(
        &tools
            .run("git", &["config", "--global", "user.name"], "")
            .stdout,
    );
    assert_eq!(name, "Alice\n");
    let config =
        std::fs::read_to_string(home.dir.path().join("config/config.toml")).unwrap_or_default();
    assert!(!config.contains("git.example.test"), "{config}");

    // On a file with no helper for the URL, setup then undo gives back the same bytes.
    let plain = "# mine\n[user]\n\tname = Alice\n[alias]\n\tco = checkout\n";
    std::fs::write(&target, plain).expect("write");
    ok(&tools.tvlogin(&["setup", "git", url], ""), "setup git");
    assert_eq!(git_helpers(&tools, url), ["".to_owned(), ours.clone()]);
    ok(
        &tools.tvlogin(&["setup", "git", url, "--undo"], ""),
        "setup git --undo",
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap_or_default(), plain);
    assert!(is_link(&gitconfig));
}

#[test]
fn setup_git_never_leaves_zero_helpers_while_git_config_writes_concurrently() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    if !have("git", &["--version"], "the git client") {
        return;
    }
    let home = Home::new();
    let tools = Arc::new(Tools::new(&home));
    let url = "https://git.example.test";
    let gitconfig = tools.path().join("gitconfig");
    let exe = env!("CARGO_BIN_EXE_tvlogin");
    let ours = format!("{exe} git-credential --profile default");
    for round in 0..12 {
        std::fs::write(
            &gitconfig,
            format!("[credential \"{url}\"]\n\thelper = store\n[user]\n\tname = Alice\n"),
        )
        .expect("write gitconfig");
        let stop = Arc::new(AtomicBool::new(false));
        let zero = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicUsize::new(0));
        // A concurrent writer through git's own lock (it fails while the lock is held, as
        // git does, and tries again).
        let writer = {
            let (tools, stop, written) = (tools.clone(), stop.clone(), written.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let out = tools.run(
                        "git",
                        &["config", "--global", "--add", "user.note", &format!("n{n}")],
                        "",
                    );
                    if out.status.success() {
                        written.fetch_add(1, Ordering::SeqCst);
                        n += 1;
                    }
                }
            })
        };
        // A reader: at no moment may the URL have no helper at all.
        let reader = {
            let (tools, stop, zero) = (tools.clone(), stop.clone(), zero.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    if git_helpers(&tools, url).iter().all(String::is_empty) {
                        zero.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(30));
        let run = tools.tvlogin(&["setup", "git", url, "--force"], "");
        std::thread::sleep(Duration::from_millis(30));
        stop.store(true, Ordering::SeqCst);
        writer.join().expect("writer");
        reader.join().expect("reader");
        ok(&run, &format!("setup git --force, round {round}"));
        assert_eq!(
            zero.load(Ordering::SeqCst),
            0,
            "round {round}: a moment with no helper"
        );
        assert_eq!(
            git_helpers(&tools, url),
            ["".to_owned(), ours.clone()],
            "round {round}"
        );
        let notes = text(
            &tools
                .run("git", &["config", "--global", "--get-all", "user.note"], "")
                .stdout,
        );
        assert_eq!(
            notes.lines().count(),
            written.load(Ordering::SeqCst),
            "round {round}: the other writer's values all survive"
        );
    }
}

/// A directory with nothing in it, for a PATH where kubectl is not found.
fn empty_path(tools: &Tools) -> String {
    let dir = tools.path().join("empty-bin");
    std::fs::create_dir_all(&dir).expect("create the empty bin dir");
    dir.display().to_string()
}

#[cfg(unix)]
#[test]
fn setup_kubectl_without_kubectl_keeps_the_text_and_kubectl_reads_the_result() {
    let Some(kubectl) = real("kubectl") else {
        common::skip::skip_or_fail(
            "setup_kubectl_without_kubectl_keeps_the_text_and_kubectl_reads_the_result",
            "kubectl is not installed (it reads the result); .ci/run installs it",
        );
        return;
    };
    let home = Home::new();
    let mut tools = Tools::new(&home);
    tools.set("PATH", empty_path(&tools));
    let exe = env!("CARGO_BIN_EXE_tvlogin");
    for name in [
        "kind.yaml",
        "minikube.yaml",
        "eks.yaml",
        "gke.yaml",
        "crlf-empty-lists.yaml",
    ] {
        let original = corpus(name);
        let dir = tools.path().join(name.trim_end_matches(".yaml"));
        let link = dir.join(".kube/config");
        let target = linked_file(&dir, &link, &original);
        let path = link.display().to_string();
        let args = [
            "setup",
            "kubectl",
            "--kubeconfig",
            &path,
            "--context",
            "tvlogin",
            "--cluster",
            "on",
        ];
        let before_users = ok(
            &tools.run(
                kubectl.to_str().unwrap_or("kubectl"),
                &["--kubeconfig", &path, "config", "get-users"],
                "",
            ),
            "kubectl get-users",
        );

        // --dry-run: the diff, not a byte written.
        let mut dry_args = args.to_vec();
        dry_args.push("--dry-run");
        let dry = ok(&tools.tvlogin(&dry_args, ""), "setup kubectl --dry-run");
        assert!(dry.contains("kubectl not found: edited as text"), "{dry}");
        assert!(
            dry.lines()
                .any(|l| l.starts_with('+') && l.trim_end().ends_with("- name: tvlogin-default")),
            "{name}: {dry}"
        );
        assert_eq!(
            std::fs::read(&target).unwrap_or_default(),
            original.as_bytes(),
            "{name}"
        );

        let out = ok(&tools.tvlogin(&args, ""), "setup kubectl");
        assert!(out.contains("added"), "{name}: {out}");
        assert!(is_link(&link), "{name}: the link was replaced by a file");
        assert_eq!(mode(&target), 0o640, "{name}");
        assert!(
            !Path::new(&format!("{path}.lock")).exists(),
            "{name}: the lock is left"
        );
        let written = std::fs::read_to_string(&target).unwrap_or_default();
        // Every line that was there is still there, in order (comments, "on", numbers).
        let mut rest = written.lines();
        for line in original
            .lines()
            .filter(|l| !l.starts_with("users:") && !l.starts_with("contexts:"))
        {
            assert!(rest.any(|l| l == line), "{name}: lost {line:?}:\n{written}");
        }
        // kubectl (YAML 1.1) reads it: every user, tvlogin's with its exec plugin.
        let users = ok(
            &tools.run(
                kubectl.to_str().unwrap_or("kubectl"),
                &["--kubeconfig", &path, "config", "get-users"],
                "",
            ),
            "kubectl config get-users",
        );
        for user in before_users.lines().skip(1) {
            assert!(users.contains(user.trim()), "{name}: {user} lost: {users}");
        }
        assert!(users.contains("tvlogin-default"), "{name}: {users}");
        let view = ok(
            &tools.run(
                kubectl.to_str().unwrap_or("kubectl"),
                &["--kubeconfig", &path, "config", "view", "-o", "json"],
                "",
            ),
            "kubectl config view",
        );
        let view: serde_json::Value = serde_json::from_str(&view).expect("kubectl's JSON");
        let ours = view["users"]
            .as_array()
            .and_then(|u| u.iter().find(|u| u["name"] == "tvlogin-default"))
            .unwrap_or_else(|| panic!("{name}: {view}"));
        assert_eq!(ours["user"]["exec"]["command"], exe, "{name}");
        assert_eq!(
            ours["user"]["exec"]["args"],
            serde_json::json!(["kubectl-credential", "--profile", "default"])
        );
        let context = view["contexts"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "tvlogin"))
            .unwrap_or_else(|| panic!("{name}: {view}"));
        assert_eq!(context["context"]["cluster"], "on", "{name}");

        // Again: byte for byte the same.
        let again = ok(&tools.tvlogin(&args, ""), "setup kubectl again");
        assert!(
            !again.contains("added") && !again.contains("updated"),
            "{again}"
        );
        assert_eq!(
            std::fs::read_to_string(&target).unwrap_or_default(),
            written
        );

        // Undo: the original bytes.
        let undo = ok(
            &tools.tvlogin(&["setup", "kubectl", "--kubeconfig", &path, "--undo"], ""),
            "setup kubectl --undo",
        );
        assert!(undo.contains("removed"), "{undo}");
        assert_eq!(
            std::fs::read_to_string(&target).unwrap_or_default(),
            original,
            "{name}"
        );
        assert!(is_link(&link));
    }

    // A shape the editor cannot change safely is refused, not rewritten.
    let flow = tools.path().join("flow.yaml");
    let text_before = "{\"apiVersion\": \"v1\", \"kind\": \"Config\", \"users\": []}\n";
    std::fs::write(&flow, text_before).expect("write");
    let refused = tools.tvlogin(
        &[
            "setup",
            "kubectl",
            "--kubeconfig",
            &flow.display().to_string(),
        ],
        "",
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("Install kubectl"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&flow).unwrap_or_default(),
        text_before
    );
}

/// Takes client-go's kubeconfig lock (`FILE.lock`, created exclusively), waiting while
/// another writer holds it; the lock goes when the value is dropped.
struct KubeLock(PathBuf);

impl KubeLock {
    fn take(file: &Path) -> KubeLock {
        let lock = PathBuf::from(format!("{}.lock", file.display()));
        let start = std::time::Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(_) => return KubeLock(lock),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    assert!(
                        start.elapsed() < Duration::from_secs(60),
                        "the lock was never freed"
                    );
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("take {}: {e}", lock.display()),
            }
        }
    }
}

impl Drop for KubeLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A writer that honours the lock for its whole read-modify-write, as the lock is meant to
/// be used: lock, read, add a user, write (through a temp file and a rename), unlock.
fn locked_writer_adds_user(file: &Path, name: &str) {
    let _lock = KubeLock::take(file);
    let text = std::fs::read_to_string(file).expect("read the kubeconfig");
    let entry = format!("users:\n- name: {name}\n  user:\n    token: t\n");
    let new = text.replacen("users:\n", &entry, 1);
    assert_ne!(new, text, "no users: list to add to");
    let tmp = PathBuf::from(format!("{}.writer-{name}", file.display()));
    std::fs::write(&tmp, new).expect("write the temp file");
    std::fs::rename(&tmp, file).expect("rename over the kubeconfig");
}

/// tvlogin's own editor holds client-go's lock over its whole read-modify-write: racing ten
/// writers that do the same, every one of twenty entries survives (without the lock, most of
/// tvlogin's were lost). Through kubectl, setup waits while the lock is held and writes once
/// it is free (kubectl's own writes read the file before locking it, so two kubectl writers
/// can still lose each other's entries: that race is kubectl's, not raced here).
#[test]
fn setup_kubectl_honours_the_kubeconfig_lock() {
    let Some(kubectl) = real("kubectl") else {
        common::skip::skip_or_fail(
            "setup_kubectl_honours_the_kubeconfig_lock",
            "kubectl is not installed (it reads the result); .ci/run installs it",
        );
        return;
    };
    let kubectl = kubectl.display().to_string();
    let home = Home::new();
    let users_in = |tools: &Tools, path: &str| -> std::collections::BTreeSet<String> {
        let users = ok(
            &tools.run(&kubectl, &["--kubeconfig", path, "config", "get-users"], ""),
            "get-users",
        );
        users
            .split_whitespace()
            .skip(1)
            .map(str::to_owned)
            .collect()
    };

    // tvlogin's editor (no kubectl on its PATH) against lock-honouring writers.
    let mut tools = Tools::new(&home);
    tools.set("PATH", empty_path(&tools));
    let tools = std::sync::Arc::new(tools);
    let file = tools.path().join("config");
    std::fs::write(&file, corpus("kind.yaml")).expect("write");
    let path = file.display().to_string();
    let mut runs = Vec::new();
    for n in 0..10 {
        let (tools, path, file) = (tools.clone(), path.clone(), file.clone());
        runs.push(std::thread::spawn(move || {
            let ours = tools.tvlogin(
                &[
                    "setup",
                    "kubectl",
                    "--kubeconfig",
                    &path,
                    "--user",
                    &format!("tv-{n}"),
                ],
                "",
            );
            locked_writer_adds_user(&file, &format!("other-{n}"));
            ours
        }));
    }
    for run in runs {
        ok(&run.join().expect("a writer thread"), "setup kubectl");
    }
    let names = users_in(&tools, &path);
    for n in 0..10 {
        for name in [format!("tv-{n}"), format!("other-{n}")] {
            assert!(names.contains(&name), "{name} lost: {names:?}");
        }
    }
    assert!(names.contains("kind-kind"), "{names:?}");
    assert!(!Path::new(&format!("{path}.lock")).exists());

    // Through kubectl (on setup's PATH): nothing is written while the lock is held.
    for with_kubectl in [false, true] {
        let mut tools = Tools::new(&home);
        if with_kubectl {
            tools.set("PATH", std::env::var("PATH").unwrap_or_default());
        } else {
            tools.set("PATH", empty_path(&tools));
        }
        let file = tools.path().join(format!("held-{with_kubectl}"));
        std::fs::write(&file, corpus("kind.yaml")).expect("write");
        let path = file.display().to_string();
        let before = std::fs::read(&file).expect("read");
        let held = KubeLock::take(&file);
        let tools = std::sync::Arc::new(tools);
        let setup = {
            let (tools, path) = (tools.clone(), path.clone());
            std::thread::spawn(move || {
                tools.tvlogin(
                    &[
                        "setup",
                        "kubectl",
                        "--kubeconfig",
                        &path,
                        "--user",
                        "tv-held",
                    ],
                    "",
                )
            })
        };
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            std::fs::read(&file).expect("read"),
            before,
            "with kubectl: {with_kubectl}: written while the lock was held"
        );
        assert!(
            !setup.is_finished(),
            "with kubectl: {with_kubectl}: did not wait"
        );
        drop(held);
        ok(&setup.join().expect("the setup thread"), "setup kubectl");
        assert!(
            users_in(&tools, &path).contains("tv-held"),
            "with kubectl: {with_kubectl}"
        );
    }
}

#[cfg(unix)]
#[test]
fn setup_docker_splices_keeps_numbers_and_links_refuses_a_users_helper_and_undoes() {
    let home = Home::new();
    let mut tools = Tools::new(&home);
    let docker_dir = tools.path().join("docker");
    let config = docker_dir.join("config.json");
    let original = corpus("docker-everything.json");
    let target = linked_file(tools.path(), &config, &original);
    tools.set("DOCKER_CONFIG", docker_dir.display().to_string());
    // ~/.local/bin exists and is on PATH: the helper link goes there.
    let local_bin = tools.path().join(".local/bin");
    std::fs::create_dir_all(&local_bin).expect("create ~/.local/bin");
    // A link left from a binary that is gone: replaced.
    std::os::unix::fs::symlink(
        tools.path().join("gone/tvlogin"),
        local_bin.join("docker-credential-tvlogin"),
    )
    .expect("a dangling link");
    tools.set(
        "PATH",
        format!(
            "{}:{}",
            local_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );

    let dry = ok(
        &tools.tvlogin(
            &["setup", "docker", "registry.example.test", "--dry-run"],
            "",
        ),
        "setup docker --dry-run",
    );
    assert!(
        dry.contains("+\t\t\"registry.example.test\": \"tvlogin\""),
        "{dry}"
    );
    assert!(dry.contains("would link"), "{dry}");
    assert_eq!(
        std::fs::read(&target).unwrap_or_default(),
        original.as_bytes()
    );
    assert!(
        !local_bin.join("docker-credential-tvlogin").exists(),
        "still dangling after --dry-run"
    );

    let out = ok(
        &tools.tvlogin(&["setup", "docker", "registry.example.test"], ""),
        "setup docker",
    );
    assert!(out.contains("added"), "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("docker-credential-tvlogin"))
            .count(),
        1,
        "said once: {out}"
    );
    let helper = local_bin.join("docker-credential-tvlogin");
    assert_eq!(
        std::fs::read_link(&helper).ok(),
        Some(PathBuf::from(env!("CARGO_BIN_EXE_tvlogin")))
    );
    assert!(is_link(&config), "the link was replaced by a file");
    let written = std::fs::read_to_string(&target).unwrap_or_default();
    // Exactly one insertion: the rest byte for byte (30-digit number, 1.50, 1E+2, order).
    assert_eq!(
        written,
        original.replace(
            "\"ecr-login\"\n",
            "\"ecr-login\",\n\t\t\"registry.example.test\": \"tvlogin\"\n"
        )
    );
    let again = ok(
        &tools.tvlogin(&["setup", "docker", "registry.example.test"], ""),
        "setup docker again",
    );
    assert!(
        !again.contains("added") && !again.contains("docker-credential-tvlogin"),
        "{again}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap_or_default(),
        written
    );

    // The ECR helper is the user's: refused unless --force, which backs up first.
    let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    let refused = tools.tvlogin(&["setup", "docker", ecr], "");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("\"ecr-login\""),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap_or_default(),
        written
    );
    let forced = ok(
        &tools.tvlogin(&["setup", "docker", ecr, "--force"], ""),
        "--force",
    );
    let backup = forced
        .lines()
        .find_map(|l| l.trim().strip_prefix("backup: "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("no backup named: {forced}"));
    assert!(backup.contains("config.json.tvlogin-backup-"), "{backup}");
    assert_eq!(std::fs::read_to_string(backup).unwrap_or_default(), written);

    // The Python docker library reads the result.
    if have(
        "python3",
        &["-c", "import docker.auth"],
        "the Python docker library (pip install docker)",
    ) {
        let script = "import json, sys, docker.auth\nc = docker.auth.load_config(config_path=sys.argv[1])\nprint(json.dumps(c.cred_helpers))";
        let helpers = ok(
            &tools.run(
                "python3",
                &["-c", script, &config.display().to_string()],
                "",
            ),
            "python docker",
        );
        let helpers: serde_json::Value = serde_json::from_str(&helpers).expect("json");
        assert_eq!(helpers["registry.example.test"], "tvlogin");
        assert_eq!(helpers[ecr], "tvlogin");
    }

    // Undo removes tvlogin's entries; the file is the original but for the forced one.
    ok(
        &tools.tvlogin(&["setup", "docker", "registry.example.test", "--undo"], ""),
        "setup docker --undo",
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap_or_default(),
        original.replace("\"ecr-login\"", "\"tvlogin\"")
    );
    assert!(is_link(&config));
    let toml =
        std::fs::read_to_string(home.dir.path().join("config/config.toml")).unwrap_or_default();
    assert!(!toml.contains("registry.example.test"), "{toml}");
}

#[test]
fn setup_docker_names_the_directory_to_link_into_once_when_none_is_on_path() {
    let home = Home::new();
    let mut tools = Tools::new(&home);
    tools.set(
        "DOCKER_CONFIG",
        tools.path().join("docker").display().to_string(),
    );
    let out = ok(
        &tools.tvlogin(&["setup", "docker", "r.example.test"], ""),
        "setup docker",
    );
    assert_eq!(out.matches("note: docker runs").count(), 1, "{out}");
    let local_bin = tools.path().join(".local/bin");
    assert!(
        out.contains(&format!(
            "ln -s {} {}/docker-credential-tvlogin",
            env!("CARGO_BIN_EXE_tvlogin"),
            local_bin.display()
        )),
        "{out}"
    );
    assert!(
        !out.contains("target/debug/docker-credential"),
        "no link into the build dir: {out}"
    );
}

#[cfg(unix)]
#[test]
fn setup_writes_plain_tvlogin_when_path_finds_this_binary_and_warns_about_build_dirs() {
    if !have("git", &["--version"], "the git client") {
        return;
    }
    let home = Home::new();
    let mut tools = Tools::new(&home);
    let exe = env!("CARGO_BIN_EXE_tvlogin");
    let url = "https://git.example.test";
    // From the build directory, tvlogin not on PATH: the absolute path and a warning.
    let run = tools.tvlogin(&["setup", "git", url], "");
    ok(&run, "setup git");
    assert!(
        text(&run.stderr).contains("cargo build directory"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(
        git_helpers(&tools, url)[1],
        format!("{exe} git-credential --profile default")
    );
    ok(&tools.tvlogin(&["setup", "git", url, "--undo"], ""), "undo");
    // tvlogin on PATH is this binary: plain `tvlogin`, run by git through the shell.
    let bin = tools.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(exe, bin.join("tvlogin")).expect("link");
    tools.set(
        "PATH",
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let run = tools.tvlogin(&["setup", "git", url], "");
    ok(&run, "setup git");
    assert!(
        !text(&run.stderr).contains("warning"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(
        git_helpers(&tools, url)[1],
        "!tvlogin git-credential --profile default"
    );
    let mut traced = tools.env.clone();
    traced.push(("GIT_TRACE".into(), "1".into()));
    let fill = Command::new("git")
        .args(["credential", "fill"])
        .env_clear()
        .envs(traced)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            if let Some(mut input) = child.stdin.take() {
                let _ = input.write_all(b"protocol=https\nhost=git.example.test\n\n");
            }
            child.wait_with_output()
        })
        .expect("git credential fill");
    let trace = text(&fill.stderr);
    assert!(
        trace.contains("tvlogin git-credential --profile default get"),
        "git runs the helper: {trace}"
    );
    let kubeconfig = tools.path().join("kubeconfig");
    ok(
        &tools.tvlogin(
            &[
                "setup",
                "kubectl",
                "--kubeconfig",
                &kubeconfig.display().to_string(),
            ],
            "",
        ),
        "setup kubectl",
    );
    let written = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
    assert!(written.contains("command: tvlogin\n"), "{written}");
}

#[cfg(unix)]
#[test]
fn setup_kubectl_through_kubectl_backs_up_a_file_whose_comments_kubectl_drops() {
    if !have("kubectl", &["version", "--client"], "the Kubernetes CLI") {
        return;
    }
    let home = Home::new();
    let tools = Tools::new(&home);
    let file = tools.path().join(".kube/config");
    let original = corpus("gke.yaml");
    // A dotfiles link: kubectl writes through it, the link stays.
    let target = linked_file(tools.path(), &file, &original);
    let path = file.display().to_string();
    let out = ok(
        &tools.tvlogin(&["setup", "kubectl", "--kubeconfig", &path], ""),
        "setup kubectl",
    );
    assert!(out.contains("without its comments"), "{out}");
    let backup = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("backup: "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("no backup named: {out}"));
    assert_eq!(
        std::fs::read_to_string(backup).unwrap_or_default(),
        original
    );
    let users = ok(
        &tools.run(
            "kubectl",
            &["--kubeconfig", &path, "config", "get-users"],
            "",
        ),
        "get-users",
    );
    assert!(
        users.contains("tvlogin-default") && users.contains("gke_my-project"),
        "{users}"
    );
    assert!(is_link(&file), "the link was replaced by a file");
    let written = std::fs::read_to_string(&target).unwrap_or_default();
    assert!(written.contains("tvlogin-default"), "{written}");
}
