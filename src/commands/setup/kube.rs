//! `setup kubectl`: a user whose exec plugin is `tvlogin kubectl-credential`, and optionally a
//! context using it. With kubectl on PATH the kubeconfig is changed by kubectl itself
//! (`config set-credentials … --exec-*`, `set-context`, `delete-user`, `delete-context`), which
//! does its own locking and writing; without it, by `yaml_edit` under client-go's lock
//! (`FILE.lock`, O_CREAT|O_EXCL, removed after). Either way the decisions are made first from
//! the file as read: an entry tvlogin did not write is refused unless `--force`.
//!
//! What `--undo` must restore of a context setup changed (created it, or pointed it at the
//! tvlogin user) is remembered in tvlogin's data directory (`setup-kubectl.json`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::exit::Exit;
use crate::paths::Paths;

use super::files::{self, LOCK_WAIT, Lock};
use super::yaml_edit::{self, ContextField, Doc};
use super::{Change, Mode, find_on_path, names_tvlogin, refusal, report, say, shell_word};

/// The ExecCredential API version the plugin speaks.
const API_VERSION: &str = crate::commands::kubectl_credential::V1;

/// What `setup kubectl` puts into a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubePlan {
    /// The user entry's name.
    pub user: String,
    /// The tvlogin binary (`tvlogin` when PATH finds this one).
    pub command: String,
    /// The profile the plugin answers from.
    pub profile: String,
    /// A context to point at the user.
    pub context: Option<String>,
    /// The cluster of a context that does not exist yet.
    pub cluster: Option<String>,
}

impl KubePlan {
    fn args(&self) -> Vec<String> {
        vec![
            "kubectl-credential".into(),
            "--profile".into(),
            self.profile.clone(),
        ]
    }
}

/// `$KUBECONFIG`'s first file, else `~/.kube/config` (kubectl writes to the first file too).
pub fn default_kubeconfig() -> Result<PathBuf, Error> {
    if let Some(list) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_owned()))
        .ok_or_else(|| Error::Usage("no home directory; give --kubeconfig FILE".into()))?;
    Ok(home.join(".kube").join("config"))
}

// What setup reads of a kubeconfig. Typed, with every other field ignored unread: a value
// no YAML library can hold (a 30-digit integer) in a field tvlogin does not use is no reason
// to refuse a file kubectl reads.
#[derive(Deserialize, Default)]
struct KeysFile {
    users: Option<Vec<KeysUser>>,
}

#[derive(Deserialize)]
struct KeysUser {
    name: Option<String>,
    user: Option<BTreeMap<String, serde::de::IgnoredAny>>,
}

#[derive(Deserialize, Default)]
struct ExecFile {
    users: Option<Vec<ExecUser>>,
    contexts: Option<Vec<NamedContext>>,
}

#[derive(Deserialize)]
struct ExecUser {
    name: Option<String>,
    user: Option<ExecBody>,
}

#[derive(Deserialize)]
struct ExecBody {
    exec: Option<Exec>,
}

#[derive(Deserialize)]
struct Exec {
    command: Option<String>,
    args: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct NamedContext {
    name: Option<String>,
    context: Option<ContextBody>,
}

#[derive(Deserialize)]
struct ContextBody {
    cluster: Option<String>,
    user: Option<String>,
}

/// A user entry as setup sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    /// Its name.
    pub name: String,
    /// The keys of its `user` mapping (for saying what a refusal protects).
    pub keys: Vec<String>,
    /// `exec.command`.
    pub command: Option<String>,
    /// `exec.args`.
    pub args: Vec<String>,
}

impl UserView {
    /// Whether tvlogin wrote it: its exec plugin is `tvlogin kubectl-credential`.
    pub fn is_ours(&self) -> bool {
        self.command.as_deref().is_some_and(names_tvlogin)
            && self.args.first().map(String::as_str) == Some("kubectl-credential")
    }
}

/// A context entry as setup sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextView {
    /// Its name.
    pub name: String,
    /// `context.cluster`.
    pub cluster: Option<String>,
    /// `context.user`.
    pub user: Option<String>,
}

/// The users and contexts of a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct View {
    /// `users`.
    pub users: Vec<UserView>,
    /// `contexts`.
    pub contexts: Vec<ContextView>,
}

impl View {
    /// Reads `text` (empty: no entries).
    pub fn read(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let keys: KeysFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        let exec: ExecFile = serde_norway::from_str(text).map_err(|e| e.to_string())?;
        let mut keys_of = BTreeMap::new();
        for u in keys.users.into_iter().flatten() {
            if let Some(name) = u.name {
                keys_of.insert(
                    name,
                    u.user
                        .map(|m| m.into_keys().collect::<Vec<_>>())
                        .unwrap_or_default(),
                );
            }
        }
        let users = exec
            .users
            .into_iter()
            .flatten()
            .filter_map(|u| {
                let name = u.name?;
                let exec = u.user.and_then(|b| b.exec);
                Some(UserView {
                    keys: keys_of.get(&name).cloned().unwrap_or_default(),
                    name,
                    command: exec.as_ref().and_then(|e| e.command.clone()),
                    args: exec.and_then(|e| e.args).unwrap_or_default(),
                })
            })
            .collect();
        let contexts = exec
            .contexts
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let body = c.context;
                Some(ContextView {
                    name: c.name?,
                    cluster: body.as_ref().and_then(|b| b.cluster.clone()),
                    user: body.and_then(|b| b.user),
                })
            })
            .collect();
        Ok(Self { users, contexts })
    }

    fn user(&self, name: &str) -> Option<&UserView> {
        self.users.iter().rfind(|u| u.name == name)
    }

    fn context(&self, name: &str) -> Option<&ContextView> {
        self.contexts.iter().rfind(|c| c.name == name)
    }
}

/// One change to a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Write the user entry (`replace`: drop what is there first, under --force).
    SetUser {
        /// Whether an entry tvlogin did not write is replaced.
        replace: bool,
    },
    /// Remove the user entry.
    DeleteUser,
    /// Create a context or set its fields.
    SetContext {
        /// The context.
        name: String,
        /// Its user (`None`: remove the field).
        user: Option<String>,
        /// Its cluster, when it changes.
        cluster: Option<String>,
        /// Whether it is new.
        create: bool,
    },
    /// Remove a context.
    DeleteContext(String),
}

/// What setup remembers about a context it changed, for `--undo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRecord {
    /// The kubeconfig (absolute).
    pub kubeconfig: String,
    /// The context.
    pub context: String,
    /// Its user and cluster before setup changed it; `None`: setup created it.
    pub previous: Option<Previous>,
}

/// A context's fields before setup changed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    /// `context.user`.
    pub user: Option<String>,
    /// `context.cluster`.
    pub cluster: Option<String>,
}

/// The plan: operations, what they change, whether an entry tvlogin did not write is
/// replaced (a backup is due), and the records to add (setup) or drop (undo).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// In order.
    pub ops: Vec<Op>,
    /// For the report.
    pub changes: Vec<Change>,
    /// A forced replacement.
    pub forced: bool,
    /// Contexts changed by this setup run (with what they were).
    pub remember: Vec<ContextRecord>,
    /// Contexts restored by this undo.
    pub forget: Vec<String>,
}

fn describe_user(u: &UserView) -> String {
    if u.keys.is_empty() {
        format!("a user {:?}", u.name)
    } else {
        format!("a user {:?} ({})", u.name, u.keys.join(", "))
    }
}

/// Decides what to do to a kubeconfig holding `view` (`file` names it in messages).
pub fn decide(
    view: &View,
    plan: &KubePlan,
    mode: Mode,
    file: &Path,
    kubeconfig_key: &str,
    records: &[ContextRecord],
) -> Result<Decision, Error> {
    let mut d = Decision::default();
    let what = format!(
        "user {:?} (exec: {} kubectl-credential --profile {})",
        plan.user,
        shell_word(&plan.command),
        shell_word(&plan.profile)
    );
    if mode.undo {
        match view.user(&plan.user) {
            Some(u) if u.is_ours() => {
                d.ops.push(Op::DeleteUser);
                d.changes
                    .push(Change::Removed(format!("user {:?}", plan.user)));
            }
            Some(_) => d.changes.push(Change::Unchanged(format!(
                "user {:?} is not tvlogin's: left as it is",
                plan.user
            ))),
            None => d
                .changes
                .push(Change::Unchanged(format!("no user {:?}", plan.user))),
        }
        for c in &view.contexts {
            let named = plan.context.as_deref() == Some(c.name.as_str());
            if c.user.as_deref() != Some(plan.user.as_str()) && !named {
                continue;
            }
            let record = records
                .iter()
                .rfind(|r| r.kubeconfig == kubeconfig_key && r.context == c.name);
            match record {
                Some(r) if c.user.as_deref() == Some(plan.user.as_str()) => {
                    match &r.previous {
                        None => {
                            d.ops.push(Op::DeleteContext(c.name.clone()));
                            d.changes
                                .push(Change::Removed(format!("context {:?}", c.name)));
                        }
                        Some(p) => {
                            d.ops.push(Op::SetContext {
                                name: c.name.clone(),
                                user: p.user.clone(),
                                cluster: (p.cluster != c.cluster)
                                    .then(|| p.cluster.clone())
                                    .flatten(),
                                create: false,
                            });
                            d.changes.push(Change::Updated(format!(
                                "context {:?} uses user {:?} again",
                                c.name,
                                p.user.as_deref().unwrap_or("")
                            )));
                        }
                    }
                    d.forget.push(c.name.clone());
                }
                _ if c.user.as_deref() == Some(plan.user.as_str()) => {
                    d.changes.push(Change::Unchanged(format!(
                        "context {:?} uses user {:?}, but setup did not make it so: left as it is",
                        c.name, plan.user
                    )));
                }
                _ => {}
            }
        }
        return Ok(d);
    }

    match view.user(&plan.user) {
        None => {
            d.ops.push(Op::SetUser { replace: false });
            d.changes.push(Change::Added(what));
        }
        Some(u) if u.is_ours() => {
            if u.command.as_deref() == Some(plan.command.as_str()) && u.args == plan.args() {
                d.changes.push(Change::Unchanged(what));
            } else {
                d.ops.push(Op::SetUser { replace: false });
                d.changes.push(Change::Updated(what));
            }
        }
        Some(u) => {
            if !mode.force {
                return Err(refusal(
                    file,
                    &describe_user(u),
                    "Keep it and name tvlogin's user otherwise with --user NAME",
                ));
            }
            d.forced = true;
            d.ops.push(Op::SetUser { replace: true });
            d.changes.push(Change::Updated(format!(
                "{what} (was {})",
                describe_user(u)
            )));
        }
    }

    if let Some(name) = &plan.context {
        match view.context(name) {
            None => {
                let Some(cluster) = &plan.cluster else {
                    return Err(Error::Usage(format!(
                        "there is no context {name:?}; add --cluster NAME to create it"
                    )));
                };
                d.ops.push(Op::SetContext {
                    name: name.clone(),
                    user: Some(plan.user.clone()),
                    cluster: Some(cluster.clone()),
                    create: true,
                });
                d.changes.push(Change::Added(format!(
                    "context {name:?} (cluster {cluster:?}, user {:?})",
                    plan.user
                )));
                d.remember.push(ContextRecord {
                    kubeconfig: kubeconfig_key.to_owned(),
                    context: name.clone(),
                    previous: None,
                });
            }
            Some(c) => {
                let user_ok = c.user.as_deref() == Some(plan.user.as_str());
                let cluster_ok = plan.cluster.is_none() || plan.cluster == c.cluster;
                if user_ok && cluster_ok {
                    d.changes.push(Change::Unchanged(format!(
                        "context {name:?} uses user {:?}",
                        plan.user
                    )));
                } else {
                    // A context is tvlogin's to change when its user is tvlogin's.
                    let ours = c.user.as_deref().is_some_and(|u| {
                        u == plan.user || view.user(u).is_some_and(UserView::is_ours)
                    });
                    if !ours && !mode.force {
                        return Err(refusal(
                            file,
                            &format!(
                                "a context {name:?} (cluster {:?}, user {:?})",
                                c.cluster.as_deref().unwrap_or(""),
                                c.user.as_deref().unwrap_or("")
                            ),
                            "Keep it and create a context of tvlogin's with \
                             --context NEW-NAME --cluster CLUSTER",
                        ));
                    }
                    d.forced |= !ours;
                    d.ops.push(Op::SetContext {
                        name: name.clone(),
                        user: Some(plan.user.clone()),
                        cluster: (!cluster_ok).then(|| plan.cluster.clone()).flatten(),
                        create: false,
                    });
                    d.changes.push(Change::Updated(format!(
                        "context {name:?} now uses user {:?}{} (was user {:?})",
                        plan.user,
                        match (&plan.cluster, cluster_ok) {
                            (Some(cl), false) => format!(" and cluster {cl:?}"),
                            _ => String::new(),
                        },
                        c.user.as_deref().unwrap_or("")
                    )));
                    d.remember.push(ContextRecord {
                        kubeconfig: kubeconfig_key.to_owned(),
                        context: name.clone(),
                        previous: Some(Previous {
                            user: c.user.clone(),
                            cluster: c.cluster.clone(),
                        }),
                    });
                }
            }
        }
    }
    Ok(d)
}

/// Applies `ops` to the kubeconfig text (the fallback when kubectl is not installed).
pub fn edit_text(text: &str, plan: &KubePlan, ops: &[Op]) -> Result<String, String> {
    let mut text = if text.trim().is_empty() {
        yaml_edit::EMPTY_KUBECONFIG.to_owned()
    } else {
        text.to_owned()
    };
    let entry = yaml_edit::user_entry(&plan.user, &plan.command, &plan.args(), API_VERSION);
    for op in ops {
        let doc = Doc::parse(&text)?;
        text = match op {
            Op::SetUser { .. } => {
                if doc.names("users")?.contains(&Some(plan.user.clone())) {
                    doc.replace_entry("users", &plan.user, &entry)?
                } else {
                    doc.append("users", &entry)?
                }
            }
            Op::DeleteUser => doc.remove_entry("users", &plan.user)?,
            Op::DeleteContext(name) => doc.remove_entry("contexts", name)?,
            Op::SetContext {
                name,
                user,
                cluster,
                create: true,
            } => doc.append(
                "contexts",
                &yaml_edit::context_entry(
                    name,
                    cluster.as_deref().unwrap_or(""),
                    user.as_deref().unwrap_or(""),
                ),
            )?,
            Op::SetContext {
                name,
                user,
                cluster,
                create: false,
            } => {
                let mut t =
                    doc.set_context_field(name, ContextField::User, user.as_deref().unwrap_or(""))?;
                if let Some(cluster) = cluster {
                    t = Doc::parse(&t)?.set_context_field(name, ContextField::Cluster, cluster)?;
                }
                t
            }
        };
    }
    Ok(text)
}

/// Checks an edited text against the plan: still readable, every entry that was there still
/// there (but those removed on purpose), tvlogin's user as planned.
pub fn verify(old: &View, new_text: &str, plan: &KubePlan, ops: &[Op]) -> Result<(), String> {
    let new = View::read(new_text).map_err(|e| format!("the result would not be readable: {e}"))?;
    for u in &old.users {
        let deleted = u.name == plan.user && ops.contains(&Op::DeleteUser);
        if !deleted && new.user(&u.name).is_none() {
            return Err(format!("user {:?} would be lost", u.name));
        }
    }
    for c in &old.contexts {
        if !ops.contains(&Op::DeleteContext(c.name.clone())) && new.context(&c.name).is_none() {
            return Err(format!("context {:?} would be lost", c.name));
        }
    }
    if ops.iter().any(|o| matches!(o, Op::SetUser { .. })) {
        let u = new
            .user(&plan.user)
            .ok_or("tvlogin's user would be missing")?;
        if u.command.as_deref() != Some(plan.command.as_str()) || u.args != plan.args() {
            return Err("tvlogin's user would not read back as written".into());
        }
    }
    Ok(())
}

/// Runs `kubectl --kubeconfig FILE config ARGS…`, again while another writer holds the
/// kubeconfig's lock (kubectl gives up at once when it finds one).
fn kubectl(file: &Path, args: &[String]) -> Result<(), Error> {
    let start = Instant::now();
    loop {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(file)
            .arg("config")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Other(format!("cannot run kubectl: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if err.contains(".lock") && start.elapsed() < LOCK_WAIT {
            std::thread::sleep(Duration::from_millis(25));
            continue;
        }
        return Err(Error::Other(format!(
            "kubectl config {} failed: {err}",
            args.first().map(String::as_str).unwrap_or("")
        )));
    }
}

const KUBECTL_DROPS_COMMENTS: &str = "  note: kubectl writes the kubeconfig anew, without its \
     comments; the file is backed up first";

/// Whether a YAML text has comment lines.
fn has_comments(text: &str) -> bool {
    text.lines().any(|l| l.trim_start().starts_with('#'))
}

/// The users and contexts as kubectl reads them (`config view --raw -o json`).
fn kubectl_view(path: &Path) -> Result<View, Error> {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(path)
        .args(["config", "view", "--raw", "-o", "json"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Other(format!("cannot run kubectl: {e}")))?;
    if !out.status.success() {
        return Err(Error::Usage(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    View::read(&String::from_utf8_lossy(&out.stdout)).map_err(Error::Usage)
}

/// The kubectl commands for `ops`.
pub fn kubectl_commands(plan: &KubePlan, ops: &[Op]) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    for op in ops {
        match op {
            Op::SetUser { replace } => {
                if *replace {
                    commands.push(vec!["delete-user".into(), plan.user.clone()]);
                }
                let mut c = vec![
                    "set-credentials".into(),
                    plan.user.clone(),
                    format!("--exec-command={}", plan.command),
                    format!("--exec-api-version={API_VERSION}"),
                    "--exec-interactive-mode=IfAvailable".into(),
                ];
                c.extend(plan.args().into_iter().map(|a| format!("--exec-arg={a}")));
                commands.push(c);
            }
            Op::DeleteUser => commands.push(vec!["delete-user".into(), plan.user.clone()]),
            Op::DeleteContext(name) => commands.push(vec!["delete-context".into(), name.clone()]),
            Op::SetContext {
                name,
                user,
                cluster,
                ..
            } => {
                let mut c = vec!["set-context".into(), name.clone()];
                match user {
                    Some(u) => c.push(format!("--user={u}")),
                    None => {
                        commands.push(vec!["unset".into(), format!("contexts.{name}.user")]);
                    }
                }
                if let Some(cl) = cluster {
                    c.push(format!("--cluster={cl}"));
                }
                if c.len() > 2 {
                    commands.push(c);
                }
            }
        }
    }
    commands
}

/// Runs the commands on a scratch copy of the kubeconfig and returns the result: the exact
/// text kubectl would write, for `--dry-run`.
fn kubectl_preview(path: &Path, commands: &[Vec<String>]) -> Result<String, Error> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("tvlogin-setup-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir)
        .map_err(|e| Error::Other(format!("cannot create {}: {e}", dir.display())))?;
    let copy = dir.join("config");
    let result = (|| {
        if let Some(bytes) = files::read_optional(path)? {
            std::fs::write(&copy, bytes)
                .map_err(|e| Error::Other(format!("cannot write {}: {e}", copy.display())))?;
        }
        for c in commands {
            kubectl(&copy, c)?;
        }
        Ok(files::read_text(&copy)?.unwrap_or_default())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

// ----- what --undo needs to know -----

fn records_file(paths: &Paths) -> PathBuf {
    paths.data_dir.join("setup-kubectl.json")
}

fn read_records(paths: &Paths) -> Vec<ContextRecord> {
    files::read_text(&records_file(paths))
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn write_records(paths: &Paths, records: &[ContextRecord]) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(records)
        .map_err(|e| Error::Other(format!("cannot record the change: {e}")))?;
    files::write_file(&records_file(paths), format!("{text}\n").as_bytes())
}

/// The kubeconfig's name in the records: absolute, links resolved.
fn record_key(path: &Path) -> String {
    let target = files::resolve_links(path).unwrap_or_else(|_| path.to_owned());
    let absolute = std::path::absolute(&target).unwrap_or(target);
    match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(absolute.clone()),
        _ => absolute,
    }
    .to_string_lossy()
    .into_owned()
}

/// `tvlogin setup kubectl`.
pub fn setup_kubectl(
    out: &mut impl Write,
    paths: &Paths,
    path: &Path,
    plan: &KubePlan,
    mode: Mode,
) -> Result<Exit, Error> {
    let with_kubectl = find_on_path("kubectl", std::env::var_os("PATH").as_deref()).is_some();
    // Without kubectl, tvlogin writes the file itself: under client-go's lock, taken before
    // reading so that nothing written meanwhile is lost.
    let lock = if with_kubectl || mode.dry_run {
        None
    } else {
        Some(Lock::acquire(path, LOCK_WAIT)?)
    };
    let text = files::read_text(path)?.unwrap_or_default();
    let unreadable = |e: String| {
        Error::Usage(format!(
            "{} cannot be read as a kubeconfig ({e}); it was left as it is",
            path.display()
        ))
    };
    let view = match View::read(&text) {
        Ok(view) => view,
        // YAML that kubectl reads and this reader does not: kubectl's own reading decides.
        Err(e) if with_kubectl => kubectl_view(path).map_err(|_| unreadable(e))?,
        Err(e) => return Err(unreadable(e)),
    };
    let key = record_key(path);
    let mut records = read_records(paths);
    let d = decide(&view, plan, mode, path, &key, &records)?;
    let heading = format!(
        "kubectl ({}{}):",
        path.display(),
        if with_kubectl {
            ""
        } else {
            ", kubectl not found: edited as text"
        }
    );
    if !d.ops.is_empty() {
        let commands = kubectl_commands(plan, &d.ops);
        let new_text = if with_kubectl {
            None
        } else {
            let new = edit_text(&text, plan, &d.ops)
                .and_then(|new| verify(&view, &new, plan, &d.ops).map(|()| new))
                .map_err(|e| {
                    Error::Usage(format!(
                        "{} cannot be edited safely without kubectl ({e}); it was left as it \
                         is. Install kubectl, or make the change with an editor",
                        path.display()
                    ))
                })?;
            Some(new)
        };
        if mode.dry_run {
            let preview = match &new_text {
                Some(t) => t.clone(),
                None => kubectl_preview(path, &commands)?,
            };
            report(out, &heading, &d.changes, true);
            if with_kubectl && has_comments(&text) {
                say(out, KUBECTL_DROPS_COMMENTS);
            }
            super::show_diff(out, path, &text, &preview);
        } else {
            // kubectl writes the file anew, without its comments: they are kept in a backup.
            let comments = with_kubectl && has_comments(&text);
            let backup = if d.forced || comments {
                files::backup(path)?
            } else {
                None
            };
            if comments {
                say(out, KUBECTL_DROPS_COMMENTS);
            }
            match &new_text {
                Some(t) => files::write_file(path, t.as_bytes())?,
                None => {
                    for c in &commands {
                        kubectl(path, c)?;
                    }
                }
            }
            drop(lock);
            records.retain(|r| !(r.kubeconfig == key && d.forget.contains(&r.context)));
            for r in &d.remember {
                // The first record of a context keeps what it was before setup ever ran.
                if !records
                    .iter()
                    .any(|old| old.kubeconfig == r.kubeconfig && old.context == r.context)
                {
                    records.push(r.clone());
                }
            }
            if !d.remember.is_empty() || !d.forget.is_empty() {
                write_records(paths, &records)?;
            }
            report(out, &heading, &d.changes, false);
            super::say_backup(out, backup.as_deref());
        }
    } else {
        drop(lock);
        report(out, &heading, &d.changes, mode.dry_run);
    }
    if plan.context.is_none() && !mode.undo {
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn plan(context: Option<&str>, cluster: Option<&str>) -> KubePlan {
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
    client-certificate-data: CERT
    client-key-data: KEY
preferences: {}
";

    fn run(
        text: &str,
        plan: &KubePlan,
        mode: Mode,
        records: &[ContextRecord],
    ) -> Result<(String, Decision), Error> {
        let view = View::read(text).map_err(Error::Usage)?;
        let d = decide(&view, plan, mode, Path::new("/k"), "/k", records)?;
        let new = edit_text(text, plan, &d.ops).map_err(Error::Usage)?;
        verify(&view, &new, plan, &d.ops).map_err(Error::Usage)?;
        Ok((new, d))
    }

    #[test]
    fn a_user_of_someone_else_is_refused_unless_forced() {
        let admin = KubePlan {
            user: "admin".into(),
            ..plan(None, None)
        };
        let err = run(KUBECONFIG, &admin, Mode::default(), &[]).expect_err("refused");
        assert_eq!(err.exit(), crate::exit::Exit::Usage);
        let message = err.to_string();
        assert!(
            message.contains("client-certificate-data") && message.contains("--force"),
            "{message}"
        );
        let force = Mode {
            force: true,
            ..Mode::default()
        };
        let (new, d) = run(KUBECONFIG, &admin, force, &[]).expect("forced");
        assert!(d.forced);
        assert!(!new.contains("client-key-data"), "{new}");
        assert!(new.contains("- name: admin\n  user:\n    exec:"), "{new}");
    }

    #[test]
    fn setup_then_undo_gives_the_file_back() {
        let (added, d) = run(
            KUBECONFIG,
            &plan(Some("tv"), Some("prod")),
            Mode::default(),
            &[],
        )
        .expect("setup");
        assert!(
            matches!(d.changes.as_slice(), [Change::Added(_), Change::Added(_)]),
            "{:?}",
            d.changes
        );
        assert!(
            added.starts_with(KUBECONFIG.split("users:").next().unwrap_or(""))
                || added.contains("name: tv")
        );
        let (again, d2) = run(
            &added,
            &plan(Some("tv"), Some("prod")),
            Mode::default(),
            &[],
        )
        .expect("again");
        assert_eq!(again, added);
        assert!(d2.ops.is_empty());
        let undo = Mode {
            undo: true,
            ..Mode::default()
        };
        let (back, _) = run(&added, &plan(None, None), undo, &d.remember).expect("undo");
        assert_eq!(back, KUBECONFIG);
    }

    #[test]
    fn an_existing_context_is_refused_unless_forced_and_undo_restores_it() {
        let err = run(KUBECONFIG, &plan(Some("prod"), None), Mode::default(), &[])
            .expect_err("admin's context");
        assert!(err.to_string().contains("--context NEW-NAME"), "{err}");
        let force = Mode {
            force: true,
            ..Mode::default()
        };
        let (forced, d) = run(KUBECONFIG, &plan(Some("prod"), None), force, &[]).expect("forced");
        assert!(forced.contains("    user: tvlogin-default\n"), "{forced}");
        let undo = Mode {
            undo: true,
            ..Mode::default()
        };
        let (back, _) = run(&forced, &plan(None, None), undo, &d.remember).expect("undo");
        assert_eq!(
            back, KUBECONFIG,
            "the context uses admin again; the user is gone"
        );
        // Without a record, a context that uses the user is left alone.
        let (kept, d) = run(&forced, &plan(None, None), undo, &[]).expect("undo");
        assert!(kept.contains("    user: tvlogin-default\n"));
        assert!(
            d.changes
                .iter()
                .any(|c| matches!(c, Change::Unchanged(w) if w.contains("left as it is")))
        );
    }

    #[test]
    fn kubectl_gets_exec_flags() {
        let commands = kubectl_commands(
            &plan(Some("c"), Some("k")),
            &[
                Op::SetUser { replace: true },
                Op::SetContext {
                    name: "c".into(),
                    user: Some("tvlogin-default".into()),
                    cluster: Some("k".into()),
                    create: true,
                },
            ],
        );
        assert_eq!(commands[0], vec!["delete-user", "tvlogin-default"]);
        assert_eq!(
            commands[1],
            vec![
                "set-credentials",
                "tvlogin-default",
                "--exec-command=/usr/bin/tvlogin",
                "--exec-api-version=client.authentication.k8s.io/v1",
                "--exec-interactive-mode=IfAvailable",
                "--exec-arg=kubectl-credential",
                "--exec-arg=--profile",
                "--exec-arg=default",
            ]
        );
        assert_eq!(
            commands[2],
            vec!["set-context", "c", "--user=tvlogin-default", "--cluster=k"]
        );
    }
}
