//! `tvlogin completions SHELL` and `tvlogin man`: generated from the clap definition, so they
//! can never disagree with the flags the binary accepts. The man page's EXIT STATUS is the one
//! table in [`crate::exit::CONTRACT`]; its ENVIRONMENT lists every variable a flag reads (from
//! clap) and the few read elsewhere.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Error;
use crate::exit::Exit;

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<Exit, Error> {
    clap_complete::generate(shell, &mut Cli::command(), "tvlogin", out);
    Ok(Exit::Ok)
}

/// Writes the man page, with a section per subcommand, on `out`; with `dir`, writes it as
/// `DIR/tvlogin.1` and a page per subcommand (`DIR/tvlogin-login.1`, `DIR/tvlogin-setup-git.1`,
/// …) instead, and names each file written on `out`.
pub fn man(dir: Option<&Path>, out: &mut dyn Write) -> Result<Exit, Error> {
    let write_err = |e: std::io::Error| Error::Other(format!("cannot write the man page: {e}"));
    let Some(dir) = dir else {
        let page = render_man().map_err(write_err)?;
        out.write_all(&page)
            .and_then(|()| out.flush())
            .map_err(write_err)?;
        return Ok(Exit::Ok);
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Usage(format!("--dir {}: {e}", dir.display())))?;
    for (name, page) in render_pages().map_err(write_err)? {
        let path: PathBuf = dir.join(format!("{name}.1"));
        std::fs::write(&path, page)
            .map_err(|e| Error::Other(format!("cannot write {}: {e}", path.display())))?;
        writeln!(out, "{}", path.display()).map_err(write_err)?;
    }
    Ok(Exit::Ok)
}

/// Variables read other than through a flag: `(name, meaning)`.
const OTHER_ENV: &[(&str, &str)] = &[
    (
        "TVLOGIN_CONFIG_DIR",
        "The directory holding config.toml, instead of the platform's config directory.",
    ),
    (
        "TVLOGIN_DATA_DIR",
        "The directory holding state files and file-stored tokens, instead of the platform's \
         data directory.",
    ),
    (
        crate::config::GLOBAL_SECRET_ENV,
        "The client secret of a client using --auth basic or post when neither \
         --client-secret-env nor the profile's client_secret_env names another variable. \
         Secrets are never taken from the command line.",
    ),
    (
        "NO_COLOR",
        "When set and not empty, no colours (https://no-color.org).",
    ),
    (
        "COLORTERM",
        "truecolor or 24bit: the QR code and the screens use true colour.",
    ),
    (
        "BROWSER",
        "The browser `o` opens on the login screen (else the platform's opener).",
    ),
    (
        "KUBECONFIG",
        "setup kubectl edits the first file it names (else ~/.kube/config).",
    ),
    (
        "DOCKER_CONFIG",
        "setup docker edits config.json in this directory (else ~/.docker).",
    ),
];

/// The files tvlogin reads and writes: `(path, meaning)`.
const FILES: &[(&str, &str)] = &[
    (
        "CONFIG_DIR/config.toml",
        "Profiles: everything a login flag can say. CONFIG_DIR is $TVLOGIN_CONFIG_DIR, else \
         $XDG_CONFIG_HOME/tvlogin (~/.config/tvlogin) on Linux, ~/Library/Application \
         Support/dev.tvlogin.tvlogin on macOS, %APPDATA%\\tvlogin\\tvlogin\\config on Windows.",
    ),
    (
        "DATA_DIR/profiles/PROFILE.state.json",
        "A profile's non-secret metadata (issuer, client, endpoints, subject, scopes, expiry \
         times, the store), mode 0600. DATA_DIR is $TVLOGIN_DATA_DIR, else \
         $XDG_DATA_HOME/tvlogin (~/.local/share/tvlogin) on Linux, the same folder as \
         CONFIG_DIR on macOS, %APPDATA%\\tvlogin\\tvlogin\\data on Windows.",
    ),
    (
        "DATA_DIR/profiles/PROFILE.tokens.json",
        "A profile's tokens when it uses the file store (--store file), mode 0600, replaced \
         atomically. Otherwise the refresh token is in the OS keyring.",
    ),
    (
        "~/.gitconfig, ~/.kube/config, ~/.docker/config.json",
        "What `tvlogin setup git|kubectl|docker` edits (and --undo restores); with --force, a \
         copy is kept first as FILE.tvlogin-backup-TIMESTAMP.",
    ),
];

fn render_man() -> std::io::Result<Vec<u8>> {
    let command = built();
    let mut page = Vec::new();
    let version = command.get_version().unwrap_or_default().to_owned();
    writeln!(
        page,
        ".TH TVLOGIN 1 \"\" \"tvlogin {version}\" \"User Commands\""
    )?;
    writeln!(page, ".SH NAME")?;
    writeln!(
        page,
        "tvlogin \\- {}",
        text(&about(&command).unwrap_or_default())
    )?;
    writeln!(page, ".SH SYNOPSIS")?;
    writeln!(page, "{}", synopsis(&command, "tvlogin"))?;
    writeln!(page, ".SH DESCRIPTION")?;
    if let Some(long) = command.get_long_about().or(command.get_about()) {
        writeln!(page, "{}", text(&long.to_string()))?;
    }
    writeln!(page, ".PP\n{}", text(crate::cli::NO_COMMAND))?;
    writeln!(page, ".SH OPTIONS")?;
    options(&mut page, &command)?;
    writeln!(page, ".SH COMMANDS")?;
    writeln!(
        page,
        "Each command is described in its own section below (and, written by \
         \\fBtvlogin man \\-\\-dir\\fR \\fIDIR\\fR, on its own page)."
    )?;
    for (path, sub) in visible_tree(&command, &["tvlogin"]) {
        writeln!(page, ".TP\n\\fB{}\\fR", text(&path.join(" ")))?;
        if let Some(about) = about(sub) {
            writeln!(page, "{}", text(&about))?;
        }
    }
    for (path, sub) in visible_tree(&command, &["tvlogin"]) {
        let name = path.join(" ");
        writeln!(page, ".SH \"{}\"", text(&name.to_uppercase()))?;
        describe(&mut page, sub, &name)?;
    }
    trailer(&mut page)?;
    Ok(page)
}

/// The one-page-per-command set: `(file stem, page)`, `tvlogin` first.
fn render_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let command = built();
    let version = command.get_version().unwrap_or_default().to_owned();
    let mut pages = vec![("tvlogin".to_owned(), render_man()?)];
    for (path, sub) in visible_tree(&command, &["tvlogin"]) {
        let stem = path.join("-");
        let mut page = Vec::new();
        writeln!(
            page,
            ".TH {} 1 \"\" \"tvlogin {version}\" \"User Commands\"",
            text(&stem.to_uppercase())
        )?;
        writeln!(page, ".SH NAME")?;
        writeln!(
            page,
            "{} \\- {}",
            text(&stem),
            text(&about(sub).unwrap_or_default())
        )?;
        writeln!(page, ".SH DESCRIPTION")?;
        describe(&mut page, sub, &path.join(" "))?;
        trailer(&mut page)?;
        writeln!(page, ".SH \"SEE ALSO\"\n\\fBtvlogin\\fR(1)")?;
        pages.push((stem, page));
    }
    Ok(pages)
}

/// The command tree as clap completes it (help flags, propagated version).
fn built() -> clap::Command {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    command
}

/// Every visible subcommand under `cmd`, depth first, with its path of names.
fn visible_tree<'a>(
    cmd: &'a clap::Command,
    path: &[&'a str],
) -> Vec<(Vec<&'a str>, &'a clap::Command)> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut here = path.to_vec();
        here.push(sub.get_name());
        out.push((here.clone(), sub));
        out.extend(visible_tree(sub, &here));
    }
    out
}

/// A command's one-line summary.
fn about(cmd: &clap::Command) -> Option<String> {
    cmd.get_about().map(|a| a.to_string())
}

/// A command's synopsis, its description and its options.
fn describe(page: &mut Vec<u8>, cmd: &clap::Command, name: &str) -> std::io::Result<()> {
    writeln!(page, "{}", synopsis(cmd, name))?;
    if let Some(long) = cmd.get_long_about().or(cmd.get_about()) {
        writeln!(page, ".PP\n{}", text(&long.to_string()))?;
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        writeln!(page, ".PP\nOptions:")?;
        options(page, cmd)?;
    }
    Ok(())
}

/// EXIT STATUS, ENVIRONMENT and FILES.
fn trailer(page: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(page, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in crate::exit::CONTRACT {
        writeln!(page, ".TP\n\\fB{}\\fR\n{}", text(code), text(meaning))?;
    }
    writeln!(page, ".SH ENVIRONMENT")?;
    for (name, meaning) in environment() {
        writeln!(page, ".TP\n\\fB{}\\fR\n{}", text(&name), text(&meaning))?;
    }
    writeln!(page, ".SH FILES")?;
    for (path, meaning) in FILES {
        writeln!(page, ".TP\n\\fI{}\\fR\n{}", text(path), text(meaning))?;
    }
    Ok(())
}

/// Every variable a flag reads (with the flags that read it), then [`OTHER_ENV`].
fn environment() -> Vec<(String, String)> {
    let command = built();
    let mut vars: Vec<(String, Vec<String>, String)> = Vec::new();
    let mut all = vec![(vec!["tvlogin"], &command)];
    all.extend(visible_tree(&command, &["tvlogin"]));
    for (path, cmd) in all {
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
                continue;
            };
            let env = env.to_string_lossy().into_owned();
            let used = format!("{} --{long}", path[1..].join(" "));
            match vars.iter_mut().find(|(name, _, _)| *name == env) {
                Some((_, uses, _)) => uses.push(used),
                None => {
                    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                    vars.push((env, vec![used], help));
                }
            }
        }
    }
    let mut out: Vec<(String, String)> = vars
        .into_iter()
        .map(|(name, uses, help)| {
            let help = help.trim_end_matches('.');
            (name, format!("{help}: the default of {}.", uses.join(", ")))
        })
        .collect();
    for (name, meaning) in OTHER_ENV {
        if !out.iter().any(|(n, _)| n == name) {
            out.push(((*name).to_owned(), (*meaning).to_owned()));
        }
    }
    out
}

/// `name [--flag VALUE]… ARG… command` in roff: every flag with the value it takes.
fn synopsis(cmd: &clap::Command, name: &str) -> String {
    let mut parts = vec![format!("\\fB{}\\fR", text(name))];
    // --help and --version are on every command: the options list has them, the synopsis not.
    let shown = |a: &&clap::Arg| {
        !a.is_hide_set()
            && !a.is_positional()
            && !matches!(
                a.get_action(),
                clap::ArgAction::Help
                    | clap::ArgAction::HelpShort
                    | clap::ArgAction::HelpLong
                    | clap::ArgAction::Version
            )
    };
    for arg in cmd.get_arguments().filter(shown) {
        let flag = flag(arg);
        parts.push(if arg.is_required_set() {
            flag
        } else {
            format!("[{flag}]")
        });
    }
    for arg in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let value = value_name(arg);
        let many = if takes_many(arg) { "..." } else { "" };
        parts.push(if arg.is_required_set() {
            format!("\\fI{value}\\fR{many}")
        } else {
            format!("[\\fI{value}\\fR{many}]")
        });
    }
    let subs: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name())
        .collect();
    if !subs.is_empty() {
        // The top level lists its commands in COMMANDS: the synopsis says "command".
        let list = if subs.len() > 6 {
            "command".to_owned()
        } else {
            subs.join("|")
        };
        parts.push(if cmd.is_subcommand_required_set() {
            format!("\\fI{}\\fR", text(&list))
        } else {
            format!("[\\fI{}\\fR]", text(&list))
        });
    }
    format!(".PP\n{}", parts.join(" "))
}

/// `-s, --long VALUE` in roff.
fn flag(arg: &clap::Arg) -> String {
    let mut names = Vec::new();
    if let Some(short) = arg.get_short() {
        names.push(format!("\\fB\\-{short}\\fR"));
    }
    if let Some(long) = arg.get_long() {
        names.push(format!("\\fB\\-\\-{}\\fR", text(long).replace('-', "\\-")));
    }
    let mut flag = names.join(", ");
    if arg.get_action().takes_values() {
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_owned())
            .collect();
        let value = if possible.is_empty() || arg.get_value_names().is_some() {
            value_name(arg)
        } else {
            possible.join("|")
        };
        flag.push_str(&format!(" \\fI{}\\fR", text(&value)));
    }
    flag
}

fn value_name(arg: &clap::Arg) -> String {
    arg.get_value_names()
        .map(|v| v.join(" "))
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

fn takes_many(arg: &clap::Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.max_values() > 1)
}

/// The options of `cmd` as a `.TP` list: flag and value, help, default, variable.
fn options(page: &mut Vec<u8>, cmd: &clap::Command) -> std::io::Result<()> {
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        let head = if arg.is_positional() {
            format!("\\fI{}\\fR", text(&value_name(arg)))
        } else {
            flag(arg)
        };
        writeln!(page, ".TP\n{head}")?;
        if let Some(help) = arg.get_long_help().or(arg.get_help()) {
            writeln!(page, "{}", text(&help.to_string()))?;
        }
        let mut notes = Vec::new();
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() && arg.get_action().takes_values() {
            notes.push(format!("default: {}", defaults.join(", ")));
        }
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_owned())
            .collect();
        if !possible.is_empty() && arg.get_action().takes_values() {
            notes.push(format!("possible values: {}", possible.join(", ")));
        }
        if let Some(env) = arg.get_env() {
            notes.push(format!("env: {}", env.to_string_lossy()));
        }
        if !notes.is_empty() {
            writeln!(page, ".br\n[{}]", text(&notes.join("; ")))?;
        }
    }
    Ok(())
}

/// Plain text made safe for roff: backslashes escaped, no line read as a request.
fn text(text: &str) -> String {
    roff_escape(text)
}

/// Keeps text from being read as roff requests; an empty line (a paragraph break in clap's
/// help) becomes a vertical space.
fn roff_escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e");
            if line.trim().is_empty() {
                ".sp".to_owned()
            } else if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subcommands() -> Vec<String> {
        Cli::command()
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect()
    }

    fn page() -> String {
        let mut out = Vec::new();
        man(None, &mut out).expect("write the man page");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn every_shell_completes_every_subcommand() {
        use clap::ValueEnum;
        for shell in clap_complete::Shell::value_variants() {
            let mut out = Vec::new();
            completions(*shell, &mut out).expect("write the completions");
            let text = String::from_utf8_lossy(&out);
            for name in subcommands() {
                assert!(text.contains(&name), "{shell}: {name} missing");
            }
        }
    }

    #[test]
    fn the_man_page_covers_every_subcommand_and_the_exit_codes() {
        let text = page();
        assert!(
            text.starts_with(".TH TVLOGIN 1"),
            "not roff: {}",
            &text[..80]
        );
        for name in subcommands() {
            assert!(
                text.contains(&format!(".SH \"TVLOGIN {}\"", name.to_uppercase())),
                "{name} missing"
            );
        }
        let exit = &text[text.find(".SH \"EXIT STATUS\"").expect("EXIT STATUS")..];
        for (code, meaning) in crate::exit::CONTRACT {
            assert!(
                exit.contains(&format!(".TP\n\\fB{code}\\fR\n{}", roff_escape(meaning))),
                "exit {code} missing from EXIT STATUS"
            );
        }
        // Every code an Exit can be is in the one table the page is made from.
        assert!(exit.contains("\\fB7\\fR\nnot logged in"), "{exit}");
    }

    /// setup's tools are commands of their own, each with its flags.
    #[test]
    fn nested_subcommands_have_sections() {
        let text = page();
        for tool in ["GIT", "KUBECTL", "DOCKER"] {
            assert!(
                text.contains(&format!(".SH \"TVLOGIN SETUP {tool}\"")),
                "{tool}"
            );
        }
        let docker = &text[text.find(".SH \"TVLOGIN SETUP DOCKER\"").expect("docker")..];
        assert!(docker.contains("\\fB\\-\\-undo\\fR"), "{docker}");
        assert!(text.contains("\\fBtvlogin setup\\fR \\fIgit|kubectl|docker\\fR"));
    }

    /// Synopses and option lists show the value each flag takes.
    #[test]
    fn synopses_show_flag_values() {
        let text = page();
        let login = &text[text.find(".SH \"TVLOGIN LOGIN\"").expect("login")..];
        let synopsis = login.lines().nth(2).expect("a synopsis line");
        assert!(synopsis.starts_with("\\fBtvlogin login\\fR"), "{synopsis}");
        assert!(
            synopsis.contains("[\\fB\\-\\-profile\\fR \\fINAME\\fR]"),
            "{synopsis}"
        );
        assert!(
            synopsis.contains("[\\fB\\-\\-issuer\\fR \\fIURL\\fR]"),
            "{synopsis}"
        );
        assert!(synopsis.contains("[\\fB\\-\\-no\\-tui\\fR]"), "{synopsis}");
        let token = &text[text.find(".SH \"TVLOGIN TOKEN\"").expect("token")..];
        assert!(
            token.contains("\\fB\\-\\-min\\-ttl\\fR \\fISECS\\fR"),
            "{token}"
        );
    }

    /// The page says what bare `tvlogin` does, has ENVIRONMENT and FILES, and refers to no
    /// page that is not written.
    #[test]
    fn dashboard_environment_files_and_no_dangling_references() {
        let text = page();
        assert!(text.contains("Without a command, tvlogin opens the dashboard"));
        let env = &text[text.find(".SH ENVIRONMENT").expect("ENVIRONMENT")..];
        for var in [
            "TVLOGIN_PROFILE",
            "TVLOGIN_ISSUER",
            "TVLOGIN_STORE",
            "TVLOGIN_CONFIG_DIR",
            "TVLOGIN_DATA_DIR",
            "TVLOGIN_CLIENT_SECRET",
            "NO_COLOR",
        ] {
            assert!(env.contains(&format!("\\fB{var}\\fR")), "{var} missing");
        }
        let files = &text[text.find(".SH FILES").expect("FILES")..];
        assert!(files.contains("config.toml") && files.contains("PROFILE.tokens.json"));
        assert!(!text.contains("(1)"), "the one page refers to another page");
    }

    /// `man --dir` writes one page per command, each standing alone, and names them.
    #[test]
    fn man_dir_writes_a_page_per_command() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut out = Vec::new();
        man(Some(dir.path()), &mut out).expect("write the pages");
        let listed = String::from_utf8(out).expect("UTF-8");
        for stem in [
            "tvlogin",
            "tvlogin-login",
            "tvlogin-setup",
            "tvlogin-setup-git",
        ] {
            let path = dir.path().join(format!("{stem}.1"));
            let page = std::fs::read_to_string(&path).expect(stem);
            assert!(
                listed.contains(&path.display().to_string()),
                "{stem} not listed"
            );
            assert!(page.contains(".SH \"EXIT STATUS\""), "{stem}");
        }
        let login = std::fs::read_to_string(dir.path().join("tvlogin-login.1")).expect("login");
        assert!(
            login.starts_with(".TH TVLOGIN\\-LOGIN 1") || login.starts_with(".TH TVLOGIN-LOGIN 1")
        );
        assert!(login.contains("\\fBtvlogin\\fR(1)"));
        for name in subcommands() {
            assert!(
                dir.path().join(format!("tvlogin-{name}.1")).exists(),
                "{name}"
            );
        }
    }

    #[test]
    fn roff_requests_in_text_are_neutralised() {
        assert_eq!(roff_escape(".SH evil\nok \\ x"), "\\&.SH evil\nok \\e x");
        assert_eq!(roff_escape("one\n\ntwo"), "one\n.sp\ntwo");
    }
}
