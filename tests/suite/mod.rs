mod ask;
mod cli;
mod config;
mod doctor;
mod export;
mod keys;
mod templates;
mod wire;
