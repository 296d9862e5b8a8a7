//! The tvlogin binary: parse the command line, run it, exit with the contract's code.

use std::process::ExitCode;

use clap::Parser;
use tvlogin::cli::Cli;
use tvlogin::exit::Exit;

fn main() -> ExitCode {
    let cli = Cli::parse_from(tvlogin::cli::args_os());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
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
