//! The machine format: the [`Report`] as JSON under a schema version. The format is documented,
//! field by field, in `docs/json-format.md`; bump [`JSON_SCHEMA_VERSION`] on any change that is
//! not adding a field.

use std::io::{self, Write};

use serde::Serialize;

use crate::Report;

/// The `version` field of the JSON output. Adding fields keeps it; renaming, removing or changing
/// the meaning of one increments it.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// The top-level JSON object: `version` first, then the report's own fields.
#[derive(Serialize)]
struct Versioned<'a> {
    version: u32,
    #[serde(flatten)]
    report: &'a Report,
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let doc = Versioned {
        version: JSON_SCHEMA_VERSION,
        report,
    };
    // `?` turns a serde_json error into an `io::Error` that keeps the kind of the write error
    // under it, so that a closed pipe stays a `BrokenPipe`.
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
