mod cli;
mod keys;
