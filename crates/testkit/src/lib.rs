//! Test and benchmark support for Callvault, kept out of the production library (callvault-core):
//! the demo archive of made-up users and calls and its speech-like audio and WAV writers ([`demo`]),
//! realistic archives for benchmarks ([`bench_gen`]), and the entry points of the fuzz targets
//! ([`fuzz_api`]). Used by the CLI's `demo` command, the app's demo mode (its list of demo users),
//! the tests, the benches and `crates/core/fuzz`. It reaches the core only through the core's
//! public API (a few internals the fuzz entry points need are public there but `#[doc(hidden)]`).

pub mod bench_gen;
pub mod demo;
pub mod fuzz_api;
