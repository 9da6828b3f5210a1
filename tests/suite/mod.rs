mod cli;
mod config;
mod keys;
