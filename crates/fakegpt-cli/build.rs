//! Link settings for the `fakegpt` binary.

fn main() {
    // Relative relocations packed (DT_RELR): the position-independent
    // binary keeps its address randomisation, and the loader applies some
    // 34,000 relocations from a 10 KB table instead of an 800 KB one, a
    // third of start-up (BENCHMARKS.md). GNU ld and lld both take the
    // option; ld leaves it out when the C library cannot load it.
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
