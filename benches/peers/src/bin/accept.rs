//! Prints, as Markdown, which parser accepts each corpus filter, and what each PATCH engine
//! does with each PATCH case (applied and correct, applied but wrong, or rejected).

use scim_peers::{
    OurPatch, Parser, corpus, our_patch_op, patch_cases, patch_ours, patch_scim_server,
    scim_server_provider,
};

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
    println!("| PATCH case | ours | scim-server 0.5.3 |");
    println!("|---|---|---|");
    let provider = scim_server_provider();
    let ours = OurPatch::default();
    for case in patch_cases() {
        let judge = |outcome: Result<(), String>, resource: &serde_json::Value| match outcome {
            Err(e) => format!("**rejected**: {e}"),
            Ok(()) if *resource == case.expected => "applied, result correct".to_owned(),
            Ok(()) if case.also_right.as_ref().is_some_and(|(r, _)| r == resource) => format!(
                "applied, result correct ({})",
                case.also_right.as_ref().map_or("", |(_, why)| why)
            ),
            Ok(()) => format!(
                "**applied, result wrong**: {}",
                diff(&case.expected, resource)
            ),
        };
        let mut resource = case.resource.clone();
        let theirs = patch_scim_server(&provider, &mut resource, &case.operations);
        let theirs = judge(theirs, &resource);
        let mut map = case.resource.as_object().cloned().unwrap_or_default();
        let op = our_patch_op(&case.operations);
        let outcome = patch_ours(&ours.schema(&case.resource), &mut map, &op, ours.options());
        let ours_text = judge(outcome.map(drop), &serde_json::Value::Object(map));
        println!("| `{}` | {ours_text} | {theirs} |", case.name);
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
