mod cli;
mod config;
mod keys;
mod export;
mod templates;
mod wire;
