//! Data-driven tests: `tests/vectors/parse_valid.json` (inputs with their canonical printed
//! form) and `tests/vectors/parse_invalid.json` (inputs with the error kind and where it is).

use scim_filter::{ParseError, Parser, parse, parse_path};
use serde::Deserialize;

#[derive(Deserialize)]
struct Valid {
    input: String,
    printed: String,
    #[serde(default)]
    parser: Mode,
    #[serde(default)]
    target: Target,
}

#[derive(Deserialize)]
struct Invalid {
    input: String,
    kind: String,
    at: usize,
    #[serde(default)]
    parser: Mode,
    #[serde(default)]
    target: Target,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Strict,
    Dialects,
}

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
enum Target {
    #[default]
    Filter,
    Path,
}

fn parser(mode: Mode) -> Parser {
    match mode {
        Mode::Strict => Parser::new(),
        Mode::Dialects => Parser::with_dialects(),
    }
}

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses with `mode`, prints, and returns the printed text; checks that the strict parser
/// reads the printed text back to the same tree.
fn parse_and_print(input: &str, mode: Mode, target: Target) -> Result<String, ParseError> {
    let p = parser(mode);
    Ok(match target {
        Target::Filter => {
            let f = p.parse(input)?;
            let printed = f.to_string();
            assert_eq!(parse(&printed).as_ref(), Ok(&f), "reparse of {printed:?}");
            if mode == Mode::Strict {
                let tolerant = Parser::with_dialects().parse(input);
                assert_eq!(tolerant.as_ref(), Ok(&f), "dialects differ on {input:?}");
            }
            printed
        }
        Target::Path => {
            let path = p.parse_path(input)?;
            let printed = path.to_string();
            assert_eq!(
                parse_path(&printed).as_ref(),
                Ok(&path),
                "reparse of {printed:?}"
            );
            printed
        }
    })
}

#[test]
fn valid_vectors_print_canonically() {
    let vectors: Vec<Valid> = load("parse_valid.json");
    assert!(vectors.len() >= 100, "{}", vectors.len());
    for v in &vectors {
        match parse_and_print(&v.input, v.parser, v.target) {
            Ok(printed) => assert_eq!(printed, v.printed, "input {:?}", v.input),
            Err(e) => panic!(
                "{:?} ({:?}, {:?}) failed:\n{e}",
                v.input, v.parser, v.target
            ),
        }
        // The canonical form is a fixed point.
        assert_eq!(
            parse_and_print(&v.printed, Mode::Strict, v.target).as_deref(),
            Ok(v.printed.as_str())
        );
    }
}

#[test]
fn dialect_inputs_are_rejected_by_the_strict_parser() {
    let vectors: Vec<Valid> = load("parse_valid.json");
    let mut n = 0;
    for v in vectors.iter().filter(|v| v.parser == Mode::Dialects) {
        n += 1;
        let strict = match v.target {
            Target::Filter => parse(&v.input).map(drop),
            Target::Path => parse_path(&v.input).map(drop),
        };
        assert!(
            strict.is_err(),
            "strict accepted dialect input {:?}",
            v.input
        );
    }
    assert!(n >= 20, "{n}");
}

fn kind_name(e: &ParseError) -> String {
    let debug = format!("{:?}", e.kind());
    debug
        .split([' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn invalid_vectors_fail_with_kind_and_position() {
    let vectors: Vec<Invalid> = load("parse_invalid.json");
    assert!(vectors.len() >= 60, "{}", vectors.len());
    let mut failures = Vec::new();
    for v in &vectors {
        let p = parser(v.parser);
        let result = match v.target {
            Target::Filter => p.parse(&v.input).map(|f| f.to_string()),
            Target::Path => p.parse_path(&v.input).map(|f| f.to_string()),
        };
        match result {
            Ok(printed) => failures.push(format!("{:?} parsed as {printed:?}", v.input)),
            Err(e) => {
                if kind_name(&e) != v.kind || e.span().start != v.at {
                    failures.push(format!(
                        "{:?}: got {} at {} (expected {} at {})\n{e}",
                        v.input,
                        kind_name(&e),
                        e.span().start,
                        v.kind,
                        v.at
                    ));
                }
                // Every error says something and shows where.
                let shown = e.to_string();
                assert!(shown.lines().count() == 3, "{shown}");
                assert!(shown.lines().nth(2).is_some_and(|l| l.contains('^')));
                assert!(e.span().end <= v.input.len() && e.span().start <= e.span().end);
            }
        }
        // Whatever the dialects reject, the strict grammar rejects too.
        if v.parser == Mode::Dialects {
            let strict = match v.target {
                Target::Filter => parse(&v.input).map(drop),
                Target::Path => parse_path(&v.input).map(drop),
            };
            assert!(strict.is_err(), "strict accepted {:?}", v.input);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
