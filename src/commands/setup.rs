//! `tvlogin setup git|kubectl|docker`: writes the consumer's configuration so it gets its
//! tokens from tvlogin, and says what it changed. `--dry-run` says it without writing.
//! Running it twice changes nothing the second time, and every entry it does not own is
//! left as it was:
//!
//! - git: `credential.<URL>.helper` in the global git config, through `git config` (an empty
//!   value first, which stops helpers configured for all URLs from answering for this one),
//!   and the host in the profile's `git_hosts` in tvlogin's config.
//! - kubectl: a user whose exec plugin is `tvlogin kubectl-credential`, and optionally a
//!   context using it, in the kubeconfig — edited as YAML, not as text.
//! - docker: `credHelpers` entries in `config.json` (`$DOCKER_CONFIG` honoured), and the
//!   registries in the profile's `docker_registries` in tvlogin's config.
//!
//! The edits themselves are pure functions of the old contents, table-tested below; the
//! files are replaced atomically, keeping their permissions.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;
use serde_norway::{Mapping, Value as Yaml};
use url::Url;

use crate::cli::{SetupArgs, SetupCommon, SetupTool};
use crate::error::Error;
use crate::exit::Exit;
use crate::paths::Paths;
use crate::sanitize::escape;

use super::helper;

/// What one setup step did (or would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Something new was added.
    Added(String),
    /// Something tvlogin owns was replaced.
    Updated(String),
    /// Already as wanted.
    Unchanged(String),
}

impl Change {
    fn changed(&self) -> bool {
        !matches!(self, Change::Unchanged(_))
    }

    fn line(&self, dry_run: bool) -> String {
        let (verb, what) = match self {
            Change::Added(w) if dry_run => ("would add", w),
            Change::Updated(w) if dry_run => ("would update", w),
            Change::Added(w) => ("added", w),
            Change::Updated(w) => ("updated", w),
            Change::Unchanged(w) => ("unchanged", w),
        };
        format!("  {verb}: {}", escape(what))
    }
}

/// `tvlogin setup`.
pub async fn setup(args: SetupArgs) -> Result<Exit, Error> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Other(format!("cannot find tvlogin's own path: {e}")))?;
    let paths = Paths::from_env()?;
    let mut out = std::io::stdout().lock();
    match args.tool {
        SetupTool::Git { url, common } => setup_git(&mut out, &paths, &exe, &url, &common),
        SetupTool::Kubectl {
            kubeconfig,
            user,
            context,
            cluster,
            common,
        } => {
            let profile = helper::profile_or_default(common.profile.clone());
            let plan = KubePlan {
                user: user.unwrap_or_else(|| format!("tvlogin-{profile}")),
                command: exe.to_string_lossy().into_owned(),
                profile,
                context,
                cluster,
            };
            let path = match kubeconfig {
                Some(path) => path,
                None => default_kubeconfig()?,
            };
            setup_kubectl(&mut out, &path, &plan, common.dry_run)
        }
        SetupTool::Docker { registries, common } => {
            setup_docker(&mut out, &paths, &exe, &registries, &common)
        }
    }
}

fn say(out: &mut impl Write, line: &str) {
    let _ = writeln!(out, "{line}");
}

fn report(out: &mut impl Write, heading: &str, changes: &[Change], dry_run: bool) {
    say(out, heading);
    for change in changes {
        say(out, &change.line(dry_run));
    }
}

// ----- git -----

/// The URL git's configuration is keyed by: scheme, host, port and path as given, without
/// a trailing slash. Tokens go over https, or http to this machine only.
pub fn git_url(text: &str) -> Result<(String, String), Error> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::Usage(format!("{text:?} is not a URL ({e}); use https://HOST")))?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::Usage(format!("{text:?} has no host")))?;
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return Err(Error::Usage(format!(
            "{text:?}: tvlogin hands tokens to git over https only (http only to this machine)"
        )));
    }
    let host_port = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let key = url.as_str().trim_end_matches('/').to_owned();
    Ok((key, host_port))
}

/// The helper command line git runs (through the shell, as it does for absolute paths).
pub fn helper_command(exe: &Path, subcommand: &str, profile: &str) -> String {
    format!(
        "{} {subcommand} --profile {}",
        shell_word(&exe.to_string_lossy()),
        shell_word(profile)
    )
}

/// `text` as one shell word: as is when it is plain, else single-quoted.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%=,".contains(&b))
    {
        text.to_owned()
    } else {
        super::token::shell_quote(text)
    }
}

fn git(args: &[&str]) -> Result<std::process::Output, Error> {
    Command::new("git")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Other(format!("cannot run git: {e}")))
}

fn setup_git(
    out: &mut impl Write,
    paths: &Paths,
    exe: &Path,
    url: &str,
    common: &SetupCommon,
) -> Result<Exit, Error> {
    let profile = helper::profile_or_default(common.profile.clone());
    let (url_key, host) = git_url(url)?;
    let key = format!("credential.{url_key}.helper");
    let wanted = vec![
        String::new(),
        helper_command(exe, "git-credential", &profile),
    ];
    let current = git(&["config", "--global", "--get-all", &key])?;
    let current: Vec<String> = String::from_utf8_lossy(&current.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let shown = |values: &[String]| {
        values
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let change = if current == wanted {
        Change::Unchanged(format!("{key} = {}", shown(&wanted)))
    } else if current.is_empty() {
        Change::Added(format!("{key} = {}", shown(&wanted)))
    } else {
        Change::Updated(format!(
            "{key} = {} (was {})",
            shown(&wanted),
            shown(&current)
        ))
    };
    if change.changed() && !common.dry_run {
        if !current.is_empty() {
            git(&["config", "--global", "--unset-all", &key])?;
        }
        for value in &wanted {
            let done = git(&["config", "--global", "--add", &key, value])?;
            if !done.status.success() {
                return Err(Error::Other(format!(
                    "git config --global --add {key} failed: {}",
                    String::from_utf8_lossy(&done.stderr).trim()
                )));
            }
        }
    }
    report(out, "git (global config):", &[change], common.dry_run);
    let config_change = add_to_profile_list(paths, &profile, "git_hosts", &[host], common.dry_run)?;
    report(
        out,
        &format!("tvlogin ({}):", paths.config_file().display()),
        &config_change,
        common.dry_run,
    );
    Ok(Exit::Ok)
}

// ----- tvlogin's own config -----

/// Adds `values` to the list `key` of `[profiles.PROFILE]` in config.toml's text, keeping
/// everything else (comments included). Returns the new text and what changed.
pub fn add_to_list(
    text: &str,
    profile: &str,
    key: &str,
    values: &[String],
) -> Result<(String, Vec<Change>), Error> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Error::Usage(format!("config.toml is not valid TOML: {e}")))?;
    let profiles = doc
        .entry("profiles")
        .or_insert_with(|| {
            let mut t = toml_edit::Table::new();
            t.set_implicit(true);
            toml_edit::Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| Error::Usage("config.toml: `profiles` is not a table".into()))?;
    let table = profiles
        .entry(profile)
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| Error::Usage(format!("config.toml: profiles.{profile} is not a table")))?;
    let list = table
        .entry(key)
        .or_insert(toml_edit::value(toml_edit::Array::new()))
        .as_array_mut()
        .ok_or_else(|| {
            Error::Usage(format!(
                "config.toml: profiles.{profile}.{key} is not a list"
            ))
        })?;
    let mut changes = Vec::new();
    for value in values {
        let present = list
            .iter()
            .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(value)));
        let what = format!("profiles.{profile}.{key} has {value:?}");
        if present {
            changes.push(Change::Unchanged(what));
        } else {
            list.push(value.as_str());
            changes.push(Change::Added(what));
        }
    }
    Ok((doc.to_string(), changes))
}

fn add_to_profile_list(
    paths: &Paths,
    profile: &str,
    key: &str,
    values: &[String],
    dry_run: bool,
) -> Result<Vec<Change>, Error> {
    let path = paths.config_file();
    let text = read_optional(&path)?.unwrap_or_default();
    let (new_text, changes) = add_to_list(&text, profile, key, values)?;
    if changes.iter().any(Change::changed) && !dry_run {
        // What is written must still load: never leave a config tvlogin itself refuses.
        toml::from_str::<crate::config::ConfigFile>(&new_text)
            .map_err(|e| Error::Usage(format!("{} would not be valid: {e}", path.display())))?;
        write_atomically(&path, &new_text)?;
    }
    Ok(changes)
}

// ----- kubectl -----

/// What `setup kubectl` puts into a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubePlan {
    /// The user entry's name.
    pub user: String,
    /// The tvlogin binary.
    pub command: String,
    /// The profile the plugin answers from.
    pub profile: String,
    /// A context to point at the user.
    pub context: Option<String>,
    /// The cluster of a context that does not exist yet.
    pub cluster: Option<String>,
}

/// `$KUBECONFIG`'s first file, else `~/.kube/config` (kubectl writes to the first file too).
fn default_kubeconfig() -> Result<PathBuf, Error> {
    if let Some(list) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    let home = directories::BaseDirs::new()
        .map(|d| d.home_dir().to_owned())
        .ok_or_else(|| Error::Usage("no home directory; give --kubeconfig FILE".into()))?;
    Ok(home.join(".kube").join("config"))
}

fn ystr(s: &str) -> Yaml {
    Yaml::String(s.to_owned())
}

fn named_entry(name: &str, key: &str, body: Yaml) -> Yaml {
    let mut m = Mapping::new();
    m.insert(ystr("name"), ystr(name));
    m.insert(ystr(key), body);
    Yaml::Mapping(m)
}

/// The `user` body: the exec plugin.
pub fn user_body(plan: &KubePlan) -> Yaml {
    let mut exec = Mapping::new();
    exec.insert(ystr("apiVersion"), ystr(super::kubectl_credential::V1));
    exec.insert(ystr("command"), ystr(&plan.command));
    exec.insert(
        ystr("args"),
        Yaml::Sequence(vec![
            ystr("kubectl-credential"),
            ystr("--profile"),
            ystr(&plan.profile),
        ]),
    );
    // A login needs a person: client-go tells the plugin whether one is there.
    exec.insert(ystr("interactiveMode"), ystr("IfAvailable"));
    exec.insert(ystr("provideClusterInfo"), Yaml::Bool(false));
    let mut user = Mapping::new();
    user.insert(ystr("exec"), Yaml::Mapping(exec));
    Yaml::Mapping(user)
}

/// The list `key` of the kubeconfig, created when missing.
fn list_mut<'a>(doc: &'a mut Mapping, key: &str) -> Result<&'a mut Vec<Yaml>, Error> {
    let entry = doc.entry(ystr(key)).or_insert(Yaml::Sequence(Vec::new()));
    if entry.is_null() {
        *entry = Yaml::Sequence(Vec::new());
    }
    entry
        .as_sequence_mut()
        .ok_or_else(|| Error::Usage(format!("the kubeconfig's {key} is not a list")))
}

fn find_named<'a>(list: &'a mut [Yaml], name: &str) -> Option<&'a mut Yaml> {
    list.iter_mut()
        .find(|e| e.get("name").and_then(Yaml::as_str) == Some(name))
}

/// Applies `plan` to a kubeconfig document (`Null` for a new file).
pub fn apply_kubeconfig(doc: &mut Yaml, plan: &KubePlan) -> Result<Vec<Change>, Error> {
    if doc.is_null() {
        let mut m = Mapping::new();
        m.insert(ystr("apiVersion"), ystr("v1"));
        m.insert(ystr("kind"), ystr("Config"));
        m.insert(ystr("clusters"), Yaml::Sequence(Vec::new()));
        m.insert(ystr("contexts"), Yaml::Sequence(Vec::new()));
        m.insert(ystr("users"), Yaml::Sequence(Vec::new()));
        *doc = Yaml::Mapping(m);
    }
    let map = doc
        .as_mapping_mut()
        .ok_or_else(|| Error::Usage("the kubeconfig is not a YAML mapping".into()))?;
    let mut changes = Vec::new();

    let body = user_body(plan);
    let users = list_mut(map, "users")?;
    let what = format!(
        "user {:?} (exec: tvlogin kubectl-credential --profile {})",
        plan.user, plan.profile
    );
    match find_named(users, &plan.user) {
        Some(entry) if entry.get("user") == Some(&body) => changes.push(Change::Unchanged(what)),
        Some(entry) => {
            *entry = named_entry(&plan.user, "user", body);
            changes.push(Change::Updated(what));
        }
        None => {
            users.push(named_entry(&plan.user, "user", body));
            changes.push(Change::Added(what));
        }
    }

    if let Some(context) = &plan.context {
        let contexts = list_mut(map, "contexts")?;
        match find_named(contexts, context) {
            Some(entry) => {
                let body = entry
                    .as_mapping_mut()
                    .ok_or_else(|| Error::Usage(format!("context {context:?} is not a mapping")))?
                    .entry(ystr("context"))
                    .or_insert(Yaml::Mapping(Mapping::new()));
                if body.is_null() {
                    *body = Yaml::Mapping(Mapping::new());
                }
                let body = body
                    .as_mapping_mut()
                    .ok_or_else(|| Error::Usage(format!("context {context:?} is not a mapping")))?;
                let mut what = Vec::new();
                if body.get("user") != Some(&ystr(&plan.user)) {
                    body.insert(ystr("user"), ystr(&plan.user));
                    what.push(format!("user {:?}", plan.user));
                }
                if let Some(cluster) = &plan.cluster
                    && body.get("cluster") != Some(&ystr(cluster))
                {
                    body.insert(ystr("cluster"), ystr(cluster));
                    what.push(format!("cluster {cluster:?}"));
                }
                if what.is_empty() {
                    changes.push(Change::Unchanged(format!(
                        "context {context:?} uses user {:?}",
                        plan.user
                    )));
                } else {
                    changes.push(Change::Updated(format!(
                        "context {context:?} now uses {}",
                        what.join(" and ")
                    )));
                }
            }
            None => {
                let Some(cluster) = &plan.cluster else {
                    return Err(Error::Usage(format!(
                        "there is no context {context:?}; add --cluster NAME to create it"
                    )));
                };
                let mut body = Mapping::new();
                body.insert(ystr("cluster"), ystr(cluster));
                body.insert(ystr("user"), ystr(&plan.user));
                contexts.push(named_entry(context, "context", Yaml::Mapping(body)));
                changes.push(Change::Added(format!(
                    "context {context:?} (cluster {cluster:?}, user {:?})",
                    plan.user
                )));
            }
        }
    }
    Ok(changes)
}

fn setup_kubectl(
    out: &mut impl Write,
    path: &Path,
    plan: &KubePlan,
    dry_run: bool,
) -> Result<Exit, Error> {
    let text = read_optional(path)?;
    let mut doc: Yaml = match text.as_deref() {
        None => Yaml::Null,
        Some(t) if t.trim().is_empty() => Yaml::Null,
        Some(t) => serde_norway::from_str(t)
            .map_err(|e| Error::Usage(format!("{} is not valid YAML: {e}", path.display())))?,
    };
    let changes = apply_kubeconfig(&mut doc, plan)?;
    if changes.iter().any(Change::changed) && !dry_run {
        let text = serde_norway::to_string(&doc)
            .map_err(|e| Error::Other(format!("cannot write the kubeconfig: {e}")))?;
        write_atomically(path, &text)?;
    }
    report(
        out,
        &format!("kubectl ({}):", path.display()),
        &changes,
        dry_run,
    );
    if plan.context.is_none() {
        say(
            out,
            &format!(
                "  use it with: kubectl config set-context --current --user={}",
                shell_word(&plan.user)
            ),
        );
    }
    Ok(Exit::Ok)
}

// ----- docker -----

/// The helper name docker runs as `docker-credential-<name>`.
pub const DOCKER_HELPER: &str = "tvlogin";

fn docker_config_path() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("config.json"));
    }
    let home = directories::BaseDirs::new()
        .map(|d| d.home_dir().to_owned())
        .ok_or_else(|| Error::Usage("no home directory; set DOCKER_CONFIG".into()))?;
    Ok(home.join(".docker").join("config.json"))
}

/// Sets `credHelpers[registry] = "tvlogin"` for each registry in docker's config.json
/// document (`Null` for a new file), leaving every other key alone.
pub fn apply_docker_config(doc: &mut Json, registries: &[String]) -> Result<Vec<Change>, Error> {
    if doc.is_null() {
        *doc = Json::Object(serde_json::Map::new());
    }
    let map = doc
        .as_object_mut()
        .ok_or_else(|| Error::Usage("docker's config.json is not a JSON object".into()))?;
    let helpers = map
        .entry("credHelpers")
        .or_insert_with(|| Json::Object(serde_json::Map::new()))
        .as_object_mut()
        .ok_or_else(|| {
            Error::Usage("credHelpers in docker's config.json is not an object".into())
        })?;
    let mut changes = Vec::new();
    for registry in registries {
        let what = format!("credHelpers[{registry:?}] = {DOCKER_HELPER:?}");
        match helpers.get(registry) {
            Some(Json::String(s)) if s == DOCKER_HELPER => changes.push(Change::Unchanged(what)),
            Some(old) => {
                let what = format!("{what} (was {old})");
                helpers.insert(registry.clone(), Json::String(DOCKER_HELPER.into()));
                changes.push(Change::Updated(what));
            }
            None => {
                helpers.insert(registry.clone(), Json::String(DOCKER_HELPER.into()));
                changes.push(Change::Added(what));
            }
        }
    }
    Ok(changes)
}

/// A registry as docker's config keys it: `host[:port]`, no scheme or path.
fn registry_name(text: &str) -> Result<String, Error> {
    let name = super::docker_credential::registry_key(text);
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(Error::Usage(format!("{text:?} is not a registry host")));
    }
    Ok(name)
}

fn setup_docker(
    out: &mut impl Write,
    paths: &Paths,
    exe: &Path,
    registries: &[String],
    common: &SetupCommon,
) -> Result<Exit, Error> {
    let profile = helper::profile_or_default(common.profile.clone());
    let registries = registries
        .iter()
        .map(|r| registry_name(r))
        .collect::<Result<Vec<_>, _>>()?;
    let path = docker_config_path()?;
    let mut doc: Json = match read_optional(&path)? {
        None => Json::Null,
        Some(t) if t.trim().is_empty() => Json::Null,
        Some(t) => serde_json::from_str(&t)
            .map_err(|e| Error::Usage(format!("{} is not valid JSON: {e}", path.display())))?,
    };
    let changes = apply_docker_config(&mut doc, &registries)?;
    if changes.iter().any(Change::changed) && !common.dry_run {
        let text = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::Other(format!("cannot write docker's config: {e}")))?;
        write_atomically(&path, &format!("{text}\n"))?;
    }
    report(
        out,
        &format!("docker ({}):", path.display()),
        &changes,
        common.dry_run,
    );
    let config_changes = add_to_profile_list(
        paths,
        &profile,
        "docker_registries",
        &registries,
        common.dry_run,
    )?;
    report(
        out,
        &format!("tvlogin ({}):", paths.config_file().display()),
        &config_changes,
        common.dry_run,
    );
    let program = format!("docker-credential-{DOCKER_HELPER}");
    if find_on_path(&program).is_none() {
        let link = exe.with_file_name(&program);
        say(
            out,
            &format!(
                "  note: docker runs {program}, which is not on PATH; create it with:\n    ln -s {} {}",
                shell_word(&exe.to_string_lossy()),
                shell_word(&link.to_string_lossy())
            ),
        );
    }
    Ok(Exit::Ok)
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

// ----- files -----

fn read_optional(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Other(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Replaces `path` with `text` in one step (a temporary file renamed over it), keeping the
/// old file's permissions; a new file is private to the user (these files name credentials
/// helpers and clusters).
fn write_atomically(path: &Path, text: &str) -> Result<(), Error> {
    let fail = |what: &str, e: std::io::Error| {
        Error::Other(format!("cannot {what} {}: {e}", path.display()))
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail("create the directory of", e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tvlogin-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        let permissions = match std::fs::metadata(path) {
            Ok(meta) => Some(meta.permissions()),
            Err(_) => private_permissions(),
        };
        if let Some(p) = permissions {
            std::fs::set_permissions(&tmp, p)?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail("write", e));
    }
    Ok(())
}

#[cfg(unix)]
fn private_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn private_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(context: Option<&str>, cluster: Option<&str>) -> KubePlan {
        KubePlan {
            user: "tvlogin-default".into(),
            command: "/usr/bin/tvlogin".into(),
            profile: "default".into(),
            context: context.map(str::to_owned),
            cluster: cluster.map(str::to_owned),
        }
    }

    const KUBECONFIG: &str = "\
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod
  cluster:
    server: https://prod.example.com
contexts:
- name: prod
  context:
    cluster: prod
    user: admin
users:
- name: admin
  user:
    token: keep-me
preferences: {}
";

    #[test]
    fn kubeconfig_edits_keep_other_entries_and_are_idempotent() {
        let mut doc: Yaml = serde_norway::from_str(KUBECONFIG).unwrap_or(Yaml::Null);
        let changes = apply_kubeconfig(&mut doc, &plan(None, None)).unwrap_or_default();
        assert!(
            matches!(changes.as_slice(), [Change::Added(_)]),
            "{changes:?}"
        );
        let text = serde_norway::to_string(&doc).unwrap_or_default();
        for kept in [
            "token: keep-me",
            "current-context: prod",
            "server: https://prod.example.com",
            "preferences: {}",
        ] {
            assert!(text.contains(kept), "{kept} lost:\n{text}");
        }
        assert!(text.contains("interactiveMode: IfAvailable"), "{text}");
        assert!(text.contains("- kubectl-credential"), "{text}");
        // Again: nothing changes.
        let again = apply_kubeconfig(&mut doc, &plan(None, None)).unwrap_or_default();
        assert!(
            matches!(again.as_slice(), [Change::Unchanged(_)]),
            "{again:?}"
        );
        assert_eq!(serde_norway::to_string(&doc).unwrap_or_default(), text);
        // A different command updates the entry in place.
        let moved = KubePlan {
            command: "/opt/tvlogin".into(),
            ..plan(None, None)
        };
        let updated = apply_kubeconfig(&mut doc, &moved).unwrap_or_default();
        assert!(
            matches!(updated.as_slice(), [Change::Updated(_)]),
            "{updated:?}"
        );
        let users = doc
            .get("users")
            .and_then(Yaml::as_sequence)
            .map_or(0, Vec::len);
        assert_eq!(users, 2);
    }

    #[test]
    fn kubeconfig_contexts() {
        let mut doc: Yaml = serde_norway::from_str(KUBECONFIG).unwrap_or(Yaml::Null);
        // An existing context is pointed at the user, keeping its cluster.
        let changes = apply_kubeconfig(&mut doc, &plan(Some("prod"), None)).unwrap_or_default();
        assert!(matches!(changes[1], Change::Updated(_)), "{changes:?}");
        let text = serde_norway::to_string(&doc).unwrap_or_default();
        assert!(
            text.contains("cluster: prod\n    user: tvlogin-default"),
            "{text}"
        );
        // A new one needs a cluster.
        assert!(apply_kubeconfig(&mut doc, &plan(Some("new"), None)).is_err());
        let changes =
            apply_kubeconfig(&mut doc, &plan(Some("new"), Some("prod"))).unwrap_or_default();
        assert!(matches!(changes[1], Change::Added(_)), "{changes:?}");
        let again =
            apply_kubeconfig(&mut doc, &plan(Some("new"), Some("prod"))).unwrap_or_default();
        assert!(again.iter().all(|c| !c.changed()), "{again:?}");
    }

    #[test]
    fn a_missing_kubeconfig_becomes_a_complete_one() {
        let mut doc = Yaml::Null;
        apply_kubeconfig(&mut doc, &plan(None, None)).unwrap_or_default();
        let text = serde_norway::to_string(&doc).unwrap_or_default();
        assert!(text.starts_with("apiVersion: v1\nkind: Config\n"), "{text}");
    }

    #[test]
    fn docker_config_edits() {
        let mut doc: Json = serde_json::from_str(
            r#"{"auths":{"other.io":{"auth":"eA=="}},"credHelpers":{"gcr.io":"gcloud","old.io":"desktop"},"credsStore":"desktop"}"#,
        )
        .unwrap_or(Json::Null);
        let changes = apply_docker_config(&mut doc, &["reg.example.com".into(), "old.io".into()])
            .unwrap_or_default();
        assert!(matches!(changes[0], Change::Added(_)), "{changes:?}");
        assert!(matches!(changes[1], Change::Updated(_)), "{changes:?}");
        assert_eq!(doc["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(doc["credHelpers"]["reg.example.com"], "tvlogin");
        assert_eq!(doc["auths"]["other.io"]["auth"], "eA==");
        assert_eq!(doc["credsStore"], "desktop");
        let again = apply_docker_config(&mut doc, &["reg.example.com".into()]).unwrap_or_default();
        assert!(again.iter().all(|c| !c.changed()), "{again:?}");
        let mut fresh = Json::Null;
        apply_docker_config(&mut fresh, &["r".into()]).unwrap_or_default();
        assert_eq!(fresh, serde_json::json!({"credHelpers": {"r": "tvlogin"}}));
    }

    #[test]
    fn config_toml_lists_keep_comments_and_are_idempotent() {
        let text =
            "# my settings\n[profiles.work]\nissuer = \"https://id.example.com\" # the IdP\n";
        let (new, changes) =
            add_to_list(text, "work", "git_hosts", &["git.example.com".into()]).unwrap_or_default();
        assert!(
            matches!(changes.as_slice(), [Change::Added(_)]),
            "{changes:?}"
        );
        assert!(
            new.contains("# my settings") && new.contains("# the IdP"),
            "{new}"
        );
        assert!(new.contains("git_hosts = [\"git.example.com\"]"), "{new}");
        let (again, changes) =
            add_to_list(&new, "work", "git_hosts", &["git.example.com".into()]).unwrap_or_default();
        assert_eq!(again, new);
        assert!(matches!(changes.as_slice(), [Change::Unchanged(_)]));
        let (fresh, _) =
            add_to_list("", "default", "docker_registries", &["r.io".into()]).unwrap_or_default();
        let parsed: crate::config::ConfigFile = toml::from_str(&fresh).unwrap_or_default();
        assert_eq!(
            parsed.profiles["default"].docker_registries,
            Some(vec!["r.io".to_owned()])
        );
    }

    #[test]
    fn git_urls() {
        let table = [
            (
                "https://git.example.com",
                Some(("https://git.example.com", "git.example.com")),
            ),
            (
                "https://git.example.com/",
                Some(("https://git.example.com", "git.example.com")),
            ),
            (
                "https://git.example.com:8443/org",
                Some(("https://git.example.com:8443/org", "git.example.com:8443")),
            ),
            (
                "http://127.0.0.1:3000",
                Some(("http://127.0.0.1:3000", "127.0.0.1:3000")),
            ),
            ("http://git.example.com", None),
            ("git.example.com", None),
        ];
        for (text, want) in table {
            let got = git_url(text).ok();
            assert_eq!(
                got,
                want.map(|(a, b)| (a.to_owned(), b.to_owned())),
                "{text}"
            );
        }
        assert_eq!(
            helper_command(Path::new("/usr/bin/tvlogin"), "git-credential", "work"),
            "/usr/bin/tvlogin git-credential --profile work"
        );
        assert_eq!(
            helper_command(Path::new("/my tools/tvlogin"), "git-credential", "a b"),
            "'/my tools/tvlogin' git-credential --profile 'a b'"
        );
    }
}
