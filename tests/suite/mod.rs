mod cli;
mod config;
