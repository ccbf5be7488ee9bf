//! Filters: the parser never panics, errors point inside the input and render, the strict
//! grammar is a subset of the dialects, and what parses prints to text that parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter::{Parser, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let strict = Parser::new().parse(input);
    let tolerant = Parser::with_dialects().parse(input);
    if let Ok(f) = &strict {
        assert_eq!(tolerant.as_ref(), Ok(f), "dialects changed a strict filter");
    }
    for result in [&strict, &tolerant] {
        match result {
            Ok(f) => {
                let printed = f.to_string();
                let again = Parser::new()
                    .max_len(usize::MAX)
                    .parse(&printed)
                    .expect("printed filter parses strictly");
                assert_eq!(&again, f);
                // Printing is a fixed point.
                assert_eq!(again.to_string(), printed);
                if printed.len() <= scim_filter::DEFAULT_MAX_LEN {
                    assert_eq!(parse(&printed).as_ref(), Ok(f));
                }
            }
            Err(e) => {
                let span = e.span();
                assert!(span.start <= span.end && span.end <= input.len());
                assert!(input.is_char_boundary(span.start) && input.is_char_boundary(span.end));
                let shown = e.to_string();
                assert_eq!(shown.lines().count(), 3, "{shown}");
                assert!(shown.len() < 1200, "{}", shown.len());
            }
        }
    }
});
