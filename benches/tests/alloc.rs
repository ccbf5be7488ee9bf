//! A single comparison parses, and its AST is dropped, without touching the heap.
//!
//! A counting global allocator needs `unsafe` (implementing `GlobalAlloc` is an unsafe
//! contract, and so is forwarding to the system allocator); this file alone allows it, and
//! keeps it to the four forwarding calls below. Allocations are counted per thread, so the
//! test harness and other tests running at the same time do not disturb the count.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is the system allocator's; counting touches only a const-initialised
// thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many allocations this thread makes while running `f`.
fn allocations_in<T>(f: impl FnOnce() -> T) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    drop(black_box(f()));
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_an_allocation() {
    // Without this, a broken counter would make the zero-allocation test pass vacuously.
    assert!(allocations_in(|| black_box(String::from("bjensen"))) >= 1);
    assert!(allocations_in(|| scim_filter::parse(black_box("userName eq"))) >= 1);
}

#[test]
fn a_single_comparison_parses_and_drops_without_allocating() {
    let input = black_box(scim_benches::SINGLE_COMPARISON);
    // Warm up anything lazily initialised once per process.
    assert!(scim_filter::parse(input).is_ok());
    let n = allocations_in(|| {
        let filter = scim_filter::parse(input);
        assert!(filter.as_ref().is_ok_and(|f| f.as_compare().is_some()));
        filter
    });
    assert_eq!(n, 0, "parsing and dropping `{input}` allocated {n} times");
}

#[test]
fn with_dialects_a_single_comparison_also_does_not_allocate() {
    let input = black_box(scim_benches::SINGLE_COMPARISON);
    let parser = scim_filter::Parser::with_dialects();
    assert!(parser.parse(input).is_ok());
    let n = allocations_in(|| parser.parse(input));
    assert_eq!(n, 0, "parsing and dropping `{input}` allocated {n} times");
}
