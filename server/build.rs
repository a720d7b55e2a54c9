//! Rebuilds the server when the console in `../frontend/dist` changes, so a release binary
//! always embeds the latest `npm run build` (rust-embed reads that folder only when the crate
//! is compiled, and new hashed file names are not tracked by cargo on their own). Debug builds
//! read the files at run time, but only if the folder existed when they were compiled, so they
//! watch it too.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // A missing path would make cargo rebuild every time; until the console is built, watch
    // its parent so the first `npm run build` is noticed.
    if Path::new("../frontend/dist").exists() {
        println!("cargo:rerun-if-changed=../frontend/dist");
    } else {
        println!("cargo:rerun-if-changed=../frontend");
    }
}
