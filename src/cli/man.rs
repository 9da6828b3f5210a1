//! `samocoder man`: the man page, generated from the command tree.
use super::Result;

use clap::Args;

use super::Ctx;
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct ManArgs {}

pub fn run(_args: ManArgs, ctx: &Ctx) -> Result<Exit> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(super::command()).render(&mut buf)?;
    ctx.ui.out_raw(&String::from_utf8_lossy(&buf))?;
    Ok(Exit::Ok)
}
