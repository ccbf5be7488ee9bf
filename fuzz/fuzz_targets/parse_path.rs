//! PATCH paths: the parser never panics, errors point inside the input, and what parses
//! prints to text that parses back to the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter::Parser;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let strict = Parser::new().parse_path(input);
    let tolerant = Parser::with_dialects().parse_path(input);
    if let Ok(p) = &strict {
        assert_eq!(tolerant.as_ref(), Ok(p), "dialects changed a strict path");
    }
    for result in [&strict, &tolerant] {
        match result {
            Ok(p) => {
                let printed = p.to_string();
                let again = Parser::new()
                    .max_len(usize::MAX)
                    .parse_path(&printed)
                    .expect("printed path parses strictly");
                assert_eq!(&again, p);
            }
            Err(e) => {
                let span = e.span();
                assert!(span.start <= span.end && span.end <= input.len());
                let shown = e.to_string();
                assert_eq!(shown.lines().count(), 3, "{shown}");
            }
        }
    }
});
