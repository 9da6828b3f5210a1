mod cli;
mod store;
