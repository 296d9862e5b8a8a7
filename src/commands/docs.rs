//! `tvlogin completions SHELL` and `tvlogin man`: generated from the clap definition, so they
//! can never disagree with the flags the binary accepts.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Error;
use crate::exit::Exit;

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<Exit, Error> {
    clap_complete::generate(shell, &mut Cli::command(), "tvlogin", out);
    Ok(Exit::Ok)
}

/// Writes the man page, with a section per subcommand.
pub fn man(out: &mut dyn Write) -> Result<Exit, Error> {
    let page =
        render_man().map_err(|e| Error::Other(format!("cannot render the man page: {e}")))?;
    out.write_all(&page)
        .and_then(|()| out.flush())
        .map_err(|e| Error::Other(format!("cannot write the man page: {e}")))?;
    Ok(Exit::Ok)
}

fn render_man() -> std::io::Result<Vec<u8>> {
    let command = Cli::command();
    let mut page = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        writeln!(page, ".SH \"TVLOGIN {}\"", name.to_uppercase())?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(page, "{}", roff_escape(&about.to_string()))?;
        }
        let sub_man = clap_mangen::Man::new(sub.clone().bin_name(format!("tvlogin {name}")));
        sub_man.render_synopsis_section(&mut page)?;
        sub_man.render_options_section(&mut page)?;
    }
    man.render_version_section(&mut page)?;
    writeln!(
        page,
        ".SH \"EXIT STATUS\"\n{}.",
        roff_escape(&crate::exit::contract_text())
    )?;
    Ok(page)
}

/// Keeps text from being read as roff requests.
fn roff_escape(text: &str) -> String {
    text.lines()
        .map(|line| {
            let line = line.replace('\\', "\\e");
            if line.starts_with('.') || line.starts_with('\'') {
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
        let mut out = Vec::new();
        man(&mut out).expect("write the man page");
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "not roff: {}",
            &text[..80.min(text.len())]
        );
        for name in subcommands() {
            assert!(
                text.contains(&format!("TVLOGIN {}", name.to_uppercase())),
                "{name} missing"
            );
        }
        assert!(text.contains("EXIT STATUS"));
        for (code, meaning) in crate::exit::CONTRACT {
            assert!(
                text.contains(&format!("{code} {meaning}")),
                "exit {code} missing from EXIT STATUS"
            );
        }
    }

    #[test]
    fn roff_requests_in_text_are_neutralised() {
        assert_eq!(roff_escape(".SH evil\nok \\ x"), "\\&.SH evil\nok \\e x");
    }
}
