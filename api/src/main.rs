use std::process::ExitCode;

fn main() -> ExitCode {
    doorstep::cli::main()
}
