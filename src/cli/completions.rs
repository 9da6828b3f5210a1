//! `samocoder completions SHELL`.
use super::Result;

use clap::Args;
use clap_complete::Shell;

use super::Ctx;
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs, ctx: &Ctx) -> Result<Exit> {
    let mut cmd = super::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "samocoder", &mut buf);
    ctx.ui.out_raw(&String::from_utf8_lossy(&buf))?;
    Ok(Exit::Ok)
}
