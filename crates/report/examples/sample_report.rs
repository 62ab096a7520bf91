//! Print the hand-built sample report of the render tests in one format, e.g. to feed the SARIF
//! validator:
//!
//! ```sh
//! cargo run -q -p miniguard-report --example sample_report -- sarif > /tmp/sample.sarif
//! .ci/validate-sarif.sh /tmp/sample.sarif
//! ```

#[path = "../tests/support/sample.rs"]
mod sample;

use std::io::{self, Write};
use std::process::ExitCode;

use miniguard_report::render::{Format, TextOptions, render};

fn main() -> ExitCode {
    let format = match std::env::args().nth(1).as_deref() {
        Some("text") | None => Format::Text,
        Some("json") => Format::Json,
        Some("sarif") => Format::Sarif,
        Some("html") => Format::Html,
        Some(other) => {
            eprintln!("unknown format `{other}` (expected text, json, sarif or html)");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = render(
        &sample::sample_report(),
        format,
        TextOptions { color: false },
        &mut out,
    )
    .and_then(|()| out.flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
