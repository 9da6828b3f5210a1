mod cli;
mod wire;
