//! Fuzzes the mini-program template parser: no input may panic, and every span in the tree
//! must be in bounds, on `char` boundaries and consistent with the stored text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_scan::template::{Dialect, line_col, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    // The first byte picks the dialect so that one corpus covers all of them.
    let dialect = match data.first().map_or(0, |b| b % 5) {
        0 => Dialect::Wxml,
        1 => Dialect::Axml,
        2 => Dialect::Ttml,
        3 => Dialect::Swan,
        _ => Dialect::Qml,
    };
    let template = parse(src, dialect);
    if let Err(e) = template.check_spans(src) {
        panic!("{dialect:?}: {e}");
    }
    template.walk(&mut |el, _| {
        let _ = el.for_binding(dialect);
    });
    for e in &template.errors {
        let _ = line_col(src, e.span.start);
    }
});
