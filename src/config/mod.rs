//! Configuration: the TOML file, XDG paths, environment and `-c key=value` overrides, and the
//! built-in providers. Raw file types (`raw`) are kept apart from the resolved [`Config`].

mod env;
mod model;
mod paths;

pub use env::Env;
pub use model::*;
pub use paths::{NoHomeDir, Paths};
