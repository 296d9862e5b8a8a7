//! The tvlogin binary: parse the command line, run it, exit with the contract's code.

use std::process::ExitCode;

use tvlogin::cli::{Cli, Command};
use tvlogin::exit::Exit;

fn main() -> ExitCode {
    let cli = tvlogin::cli::parse();
    let result = match tvlogin::run_without_runtime(&cli) {
        Some(result) => result,
        None => run_with_runtime(cli),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            tvlogin::report_error(&error);
            error.exit().into()
        }
    }
}

/// Starts the async runtime and runs the command on it. Never inlined, and the command's
/// future is boxed: that future has room for every command's state (tens of KiB), and a
/// frame that size in `main` would be touched, page by page, by every run, including the
/// ones that need no runtime.
#[inline(never)]
fn run_with_runtime(cli: Cli) -> Result<Exit, tvlogin::error::Error> {
    // One-shot commands do a request or two and exit: starting worker threads costs more
    // than they gain (`inspect` is benchmarked against jwt-cli). The long-running ones (TUIs,
    // the server) get two workers. Signals and timers work on both (`enable_all`).
    let one_shot = matches!(
        cli.command,
        Some(
            Command::Inspect(_)
                | Command::Token(_)
                | Command::Api(_)
                | Command::Status(_)
                | Command::Refresh(_)
                | Command::Logout(_)
                | Command::Doctor(_)
                | Command::Completions { .. }
                | Command::Man { .. }
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
            return Ok(Exit::Failure);
        }
    };
    runtime.block_on(Box::pin(tvlogin::run(cli)))
}
