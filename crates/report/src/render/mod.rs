//! Renderers: one module per output format. Each takes a finished, sorted [`crate::Report`].

use std::io;

use crate::Report;

/// The output formats of `miniguard scan --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Html,
}

/// Options for the text renderer.
#[derive(Clone, Copy, Debug, Default)]
pub struct TextOptions {
    /// Emit ANSI colours.
    pub color: bool,
}

/// Render `report` in `format` into `out`.
pub fn render(
    report: &Report,
    format: Format,
    text: TextOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
            writeln!(out)
        }
        // Filled in by the renderer modules.
        Format::Text | Format::Sarif | Format::Html => {
            let _ = text;
            serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
            writeln!(out)
        }
    }
}
