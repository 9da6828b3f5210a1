//! `samocoder budget PROJECT [USD | --clear]`: show or set a project's own spending cap, the
//! cap a project budget stop names. Without one, `budget.per_project_usd` of the config applies.

use clap::Args;
use serde::Serialize;

use super::{Ctx, Result, UsageError};
use crate::exit::Exit;

#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// The project.
    pub project: String,
    /// The new cap in dollars for everything spent on the project (runs so far included).
    #[arg(value_name = "USD", conflicts_with = "clear")]
    pub usd: Option<f64>,
    /// Remove the project's own cap (the config's `budget.per_project_usd` applies again).
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Serialize)]
struct Shown<'a> {
    project: &'a str,
    /// The project's own cap.
    budget_usd: Option<f64>,
    /// The cap in force: the project's own, else the config's.
    effective_budget_usd: Option<f64>,
    spent_usd: f64,
    left_usd: Option<f64>,
}

pub fn run(args: BudgetArgs, ctx: &Ctx) -> Result<Exit> {
    if let Some(usd) = args.usd
        && !(usd.is_finite() && usd > 0.0 && usd < 1e9)
    {
        return Err(UsageError(format!(
            "the budget must be a dollar amount above 0 (and below a billion), got {usd}; use --clear to remove it"
        ))
        .into());
    }
    let config = ctx.config()?;
    let store = super::projects::open_store(ctx)?.ok_or_else(|| {
        UsageError("there are no projects yet; start one with `samocoder new`".into())
    })?;
    let project = store.get_project(&args.project)?;
    let budget = match (args.usd, args.clear) {
        (Some(usd), _) => {
            store.set_project_budget(project.id, Some(usd))?;
            store.append_audit(
                Some(project.id),
                "project.budget",
                &serde_json::json!({"budget_usd": usd}),
            )?;
            Some(usd)
        }
        (None, true) => {
            store.set_project_budget(project.id, None)?;
            store.append_audit(
                Some(project.id),
                "project.budget",
                &serde_json::json!({"budget_usd": null}),
            )?;
            None
        }
        (None, false) => project.budget_usd,
    };
    let effective = budget.or(config.budget.per_project_usd);
    let spent = store.project_cost(project.id)?.cost_usd;
    let shown = Shown {
        project: &project.name,
        budget_usd: budget,
        effective_budget_usd: effective,
        spent_usd: spent,
        left_usd: effective.map(|b| (b - spent).max(0.0)),
    };
    if ctx.ui.json() {
        ctx.ui.json_line(&shown)?;
        return Ok(Exit::Ok);
    }
    let line = match (budget, effective) {
        (Some(b), _) => format!(
            "{}: budget ${b:.2}, ${spent:.4} spent, ${:.2} left",
            project.name,
            (b - spent).max(0.0)
        ),
        (None, Some(b)) => format!(
            "{}: no budget of its own; budget.per_project_usd ${b:.2} applies, ${spent:.4} spent",
            project.name
        ),
        (None, None) => format!("{}: no budget, ${spent:.4} spent", project.name),
    };
    ctx.ui.out(line)?;
    Ok(Exit::Ok)
}
