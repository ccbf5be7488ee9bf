//! Prints, as Markdown, which parser accepts each corpus filter, and what each PATCH engine
//! does with each PATCH case (applied and correct, applied but wrong, or rejected).

use scim_peers::{Parser, corpus, patch_cases, patch_scim_server, scim_server_provider};

fn main() {
    let corpus = corpus();
    print!("| filter |");
    for p in Parser::ALL {
        print!(" {} |", p.label());
    }
    println!();
    print!("|---|");
    for _ in Parser::ALL {
        print!("---|");
    }
    println!();
    for entry in &corpus {
        print!("| `{}` |", entry.name);
        for p in Parser::ALL {
            print!(" {} |", if p.accepts(entry) { "yes" } else { "**no**" });
        }
        println!();
    }
    println!();
    for p in Parser::ALL {
        let n = corpus.iter().filter(|e| p.accepts(e)).count();
        println!("- {}: accepts {n} of {}", p.label(), corpus.len());
    }

    println!();
    println!("| PATCH case | scim-server 0.5.3 |");
    println!("|---|---|");
    let provider = scim_server_provider();
    for case in patch_cases() {
        let mut resource = case.resource.clone();
        let outcome = match patch_scim_server(&provider, &mut resource, &case.operations) {
            Err(e) => format!("**rejected**: {e}"),
            Ok(()) if resource == case.expected => "applied, result correct".to_owned(),
            Ok(()) => format!(
                "**applied, result wrong**: {}",
                diff(&case.expected, &resource)
            ),
        };
        println!("| `{}` | {outcome} |", case.name);
    }
}

/// The top-level attributes whose values differ, with what was expected and what came out.
fn diff(expected: &serde_json::Value, got: &serde_json::Value) -> String {
    let mut out = Vec::new();
    if let (Some(e), Some(g)) = (expected.as_object(), got.as_object()) {
        for key in e.keys().chain(g.keys().filter(|k| !e.contains_key(*k))) {
            if e.get(key) != g.get(key) {
                let short = |v: Option<&serde_json::Value>| {
                    let s = v.map_or("(absent)".to_owned(), |v| v.to_string());
                    if s.len() > 80 {
                        format!("{}...", &s[..80])
                    } else {
                        s
                    }
                };
                out.push(format!(
                    "`{key}` expected `{}`, got `{}`",
                    short(e.get(key)),
                    short(g.get(key))
                ));
            }
        }
    }
    out.join("; ")
}
