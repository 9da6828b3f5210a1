mod cli;
mod config;
mod export;
mod keys;
mod store;
mod templates;
mod wire;
mod agent_run;
