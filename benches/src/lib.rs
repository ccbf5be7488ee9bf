//! Shared inputs for the criterion benchmarks in `benches/benches/`: the filter corpus and
//! generated populations. See `BENCHMARKS.md` at the workspace root for the figures.
