//! Reads the estimates of the last `cargo bench` run in this workspace (target/criterion)
//! and prints the tables of BENCHMARKS.md: per-filter times and ratios (peer time / our
//! time), the geometric mean of the ratios over the filters both parsers accept, and the
//! PATCH times.
//!
//! The figure used is the one criterion prints as `time:`: the slope estimate where criterion
//! computed one (linear sampling), the mean otherwise.

use std::path::{Path, PathBuf};

use scim_peers::{Parser, corpus, patch_cases};
use serde_json::Value;

fn criterion_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion")
}

/// The point estimate in nanoseconds of `group/function`, if that benchmark ran.
fn estimate(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| v["mean"]["point_estimate"].as_f64())
}

fn ns(t: Option<f64>) -> String {
    match t {
        None => "—".to_owned(),
        Some(t) if t >= 10_000.0 => format!("{:.1} µs", t / 1000.0),
        Some(t) if t >= 100.0 => format!("{t:.0} ns"),
        Some(t) => format!("{t:.1} ns"),
    }
}

fn main() {
    let corpus = corpus();
    println!("| filter | ours | scim_proto | × | scim_v2 | × | scim-filter 0.2.3 | × |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios: Vec<Vec<(String, f64)>> = vec![Vec::new(); Parser::PEERS.len()];
    for entry in &corpus {
        let group = format!("parse_{}", entry.name);
        let ours = estimate(&group, Parser::Ours.id());
        print!("| `{}` | {} |", entry.name, ns(ours));
        for (i, peer) in Parser::PEERS.into_iter().enumerate() {
            let theirs = estimate(&group, peer.id());
            match (ours, theirs) {
                (Some(o), Some(t)) => {
                    let r = t / o;
                    ratios[i].push((entry.name.clone(), r));
                    print!(" {} | {r:.1} |", ns(Some(t)));
                }
                _ => print!(" {} | — |", if theirs.is_none() { "rejects" } else { "?" }),
            }
        }
        println!();
    }
    println!();
    println!(
        "| peer | filters both accept | geometric mean of ratios | lowest ratio (filter) | highest ratio |"
    );
    println!("|---|---:|---:|---|---:|");
    for (i, peer) in Parser::PEERS.into_iter().enumerate() {
        let rs = &ratios[i];
        if rs.is_empty() {
            println!("| {} | 0 | — | — | — |", peer.label());
            continue;
        }
        let geo = (rs.iter().map(|(_, r)| r.ln()).sum::<f64>() / rs.len() as f64).exp();
        let (min_name, min) = rs
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(n, r)| (n.as_str(), *r))
            .unwrap_or(("", f64::NAN));
        let max = rs.iter().map(|(_, r)| *r).fold(f64::MIN, f64::max);
        println!(
            "| {} | {} | {geo:.1}× | {min:.1}× (`{min_name}`) | {max:.1}× |",
            peer.label(),
            rs.len()
        );
    }
    println!();
    println!("| PATCH case | ours | scim-server 0.5.3 | × |");
    println!("|---|---:|---:|---:|");
    for case in patch_cases() {
        let group = format!("patch_{}", case.name);
        let ours = estimate(&group, "ours");
        let theirs = estimate(&group, "scim_server");
        let ratio = match (ours, theirs) {
            (Some(o), Some(t)) => format!("{:.1}", t / o),
            _ => "—".to_owned(),
        };
        println!(
            "| `{}` | {} | {} | {ratio} |",
            case.name,
            ns(ours),
            ns(theirs)
        );
    }
}
