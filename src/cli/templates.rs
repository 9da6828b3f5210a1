//! `samocoder templates`: list the starter project templates.
use super::Result;

use clap::Args;

use super::Ctx;
use crate::exit::Exit;
use crate::templates;

#[derive(Debug, Args)]
pub struct TemplatesArgs {}

pub fn run(_args: TemplatesArgs, ctx: &Ctx) -> Result<Exit> {
    let starters = templates::list_starters()?;
    if ctx.ui.json() {
        ctx.ui.json_doc(&starters)?;
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<String>> = starters
        .iter()
        .map(|s| vec![s.name.clone(), s.stack.clone(), s.description.clone()])
        .collect();
    ctx.ui
        .out(crate::ui::table(&["NAME", "STACK", "DESCRIPTION"], &rows))?;
    Ok(Exit::Ok)
}
