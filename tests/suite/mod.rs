mod cli;
mod export;
