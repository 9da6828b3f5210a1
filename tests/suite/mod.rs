mod cli;
mod export;
mod templates;
