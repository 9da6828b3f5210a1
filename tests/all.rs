//! The one integration-test binary: every suite drives the real `samocoder` binary with its own
//! temporary home. Shared helpers live in `common/`.

mod common;
mod suite;
