mod cli;
mod config;
mod export;
mod keys;
mod templates;
mod wire;
