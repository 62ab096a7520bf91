//! Fuzzes the spanned JSON reader used for `app.json`, page JSONs, `project.config.json` and
//! `package.json`: no input may panic or overflow the stack, and error positions are 1-based.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match miniguard_project::json::parse(src) {
        Ok(node) => {
            let _ = node.get("pages");
            let _ = node.get("usingComponents").map(|c| c.entries().len());
        }
        Err(e) => assert!(e.line >= 1 && e.column >= 1),
    }
});
