//! The tvlogin binary: parse the command line, run it, exit with the contract's code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use tvlogin::cli::{Cli, Command};
use tvlogin::exit::Exit;

fn main() -> ExitCode {
    // `Cli::parse_from`, except that the command tree is not freed afterwards: dropping it
    // costs about as much as parsing (measured with callgrind on `inspect`), and the process
    // exits soon anyway. Errors are printed and exit exactly as `parse_from` does it.
    let mut command = Cli::command();
    let cli = match command.try_get_matches_from_mut(tvlogin::cli::args_os()) {
        Ok(mut matches) => Cli::from_arg_matches_mut(&mut matches)
            .unwrap_or_else(|e| e.format(&mut Cli::command()).exit()),
        Err(e) => e.exit(),
    };
    std::mem::forget(command);
    // One-shot commands do a request or two and exit: starting worker threads costs more
    // than they gain (`inspect` is benchmarked against jwt-cli). The long-running ones (TUIs,
    // the server) get two workers. Signals and timers work on both (`enable_all`).
    let one_shot = matches!(
        cli.command,
        Some(
            Command::Inspect(_)
                | Command::Token(_)
                | Command::Status(_)
                | Command::Refresh(_)
                | Command::Logout(_)
                | Command::Doctor(_)
                | Command::Completions { .. }
                | Command::Man
                | Command::Exec(_)
                | Command::GitCredential(_)
                | Command::KubectlCredential(_)
                | Command::DockerCredential(_)
                | Command::Setup(_)
        )
    );
    let mut builder = if one_shot {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tvlogin: error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    match runtime.block_on(tvlogin::run(cli)) {
        Ok(exit) => exit.into(),
        Err(error) => {
            tvlogin::report_error(&error);
            error.exit().into()
        }
    }
}
