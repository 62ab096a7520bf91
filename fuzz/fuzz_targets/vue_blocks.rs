//! Fuzzes the Vue single-file-component block splitter and the nesting pre-scan: no input may
//! panic, blocks must be in bounds, ordered and on `char` boundaries, and masking must keep the
//! length and every line break.

#![no_main]

use libfuzzer_sys::fuzz_target;
use miniguard_scan::js::{depth, vue};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    for tag in ["script", "template"] {
        let split = vue::split(src, tag);
        let mut last = 0;
        for b in &split.blocks {
            assert!(b.start <= b.end && b.end <= src.len());
            assert!(b.start >= last, "blocks out of order");
            assert!(src.is_char_boundary(b.start) && src.is_char_boundary(b.end));
            last = b.end;
        }
        let keep: Vec<(usize, usize)> = split.blocks.iter().map(|b| (b.start, b.end)).collect();
        let masked = vue::mask(src, &keep);
        assert_eq!(masked.len(), src.len());
        assert_eq!(masked.matches('\n').count(), src.matches('\n').count());
    }
    for (angles, jsx) in [(false, false), (true, false), (false, true), (true, true)] {
        if let Err(deep) = depth::check(src, 64, depth::Options { angles, jsx }) {
            assert!(deep.offset < src.len());
        }
    }
});
