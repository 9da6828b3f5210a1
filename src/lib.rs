//! samocoder: a local, bring-your-own-key coding agent for the terminal.
//!
//! Module map (each module has one job; see DEVELOPERS.md and docs/):
//! - [`cli`]: clap command tree, one file per subcommand; builds the resolved context.
//! - [`config`]: TOML config, XDG paths, env and `-c` overrides, providers as data.
//! - [`store`]: SQLite database: migrations, projects, runs, steps, llm_calls, files.
//! - [`keys`]: the `SecretStore` trait and its keychain, environment and in-memory stores.
//! - [`llm`]: the `Provider` trait, wire adapters, SSE, the router, pricing and usage.
//! - [`protocol`]: the types the engine and its front ends share: step payloads, events,
//!   requests and replies. Types only.
//! - [`agent`]: the orchestrator state machine and its roles; emits events, never prints.
//! - [`workspace`]: the only code that touches project files.
//! - [`exec`]: running commands under an approval policy with timeouts and output caps.
//! - [`ui`]: renders events and messages for humans and as JSON lines. The only printer.
//! - [`estimate`]: what the rest of a run will cost, as a range (pure computation).
//! - [`provenance`]: the record of what was done for a project, its timeline (`log`) and the
//!   files `export --provenance` adds. No SQL, no printing.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod cli;
pub mod clock;
pub mod config;
pub mod estimate;
pub mod exec;
pub mod exit;
pub mod export;
pub mod keys;
pub mod llm;
pub mod logging;
pub mod protocol;
pub mod provenance;
pub mod store;
pub mod templates;
pub mod ui;
pub mod usage;
pub mod workspace;
