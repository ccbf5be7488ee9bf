//! What the benchmarks measure works: every corpus filter parses, and the evaluated filters
//! select exactly the users the hand-written oracles select.

use scim_benches::{
    REFERENCE_FILTER, REFERENCE_RHS_FILTER, bjensen_index, corpus, reference_matches,
    reference_rhs_matches, users,
};

#[test]
fn every_corpus_filter_parses_with_the_parser_it_is_meant_for() {
    for entry in corpus().expect("corpus") {
        let filter = entry
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        // The printed form parses back to the same tree.
        let printed = filter.to_string();
        let again = if entry.dialects {
            scim_filter::Parser::with_dialects().parse(&printed)
        } else {
            scim_filter::parse(&printed)
        };
        assert_eq!(
            again.as_ref().ok(),
            Some(&filter),
            "{}: {printed}",
            entry.name
        );
    }
}

#[test]
fn dialect_entries_need_the_dialects() {
    for entry in corpus().expect("corpus").iter().filter(|e| e.dialects) {
        assert!(
            scim_filter::parse(&entry.filter).is_err(),
            "{} parses strictly: drop its `dialects` flag",
            entry.name
        );
    }
}

#[test]
fn evaluation_agrees_with_the_oracles() {
    let population = users(20_000);
    for (text, oracle) in [
        (
            REFERENCE_FILTER,
            reference_matches as fn(&serde_json::Value) -> bool,
        ),
        (REFERENCE_RHS_FILTER, reference_rhs_matches),
    ] {
        let filter = scim_filter::parse(text).expect("parses");
        for (i, user) in population.iter().enumerate() {
            assert_eq!(
                filter.matches(user).expect("evaluates"),
                oracle(user),
                "{text} on user {i}: {user}"
            );
        }
    }
    let reference = scim_filter::parse(REFERENCE_FILTER).expect("parses");
    let matched: Vec<usize> = population
        .iter()
        .enumerate()
        .filter(|(_, u)| reference.matches(u).unwrap_or(false))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(matched, [bjensen_index(20_000)]);
}
