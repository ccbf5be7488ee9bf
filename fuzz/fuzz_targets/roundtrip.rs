//! Parse, print, parse again: the same tree, and printing is a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_filter::Parser;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let reparse = Parser::new().max_len(usize::MAX);
    for parser in [Parser::new(), Parser::with_dialects()] {
        if let Ok(f) = parser.parse(input) {
            let printed = f.to_string();
            let again = reparse.parse(&printed).expect("printed filter parses");
            assert_eq!(again, f);
            assert_eq!(again.to_string(), printed);
            assert_eq!(f.clone().into_owned(), f);
        }
        if let Ok(p) = parser.parse_path(input) {
            let printed = p.to_string();
            let again = reparse.parse_path(&printed).expect("printed path parses");
            assert_eq!(again, p);
            assert_eq!(again.to_string(), printed);
        }
    }
});
