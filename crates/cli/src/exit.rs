//! Verdicts as exit codes: 0 pass, 1 a finding at or above `--fail-on`, 2 an incomplete audit
//! (errors are 2 as well, in `main`).

use std::process::ExitCode;

use miniguard_engine::Status;

pub fn code(status: Status) -> ExitCode {
    match status {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
        Status::Incomplete => ExitCode::from(2),
    }
}
