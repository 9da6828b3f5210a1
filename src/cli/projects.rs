//! `samocoder projects`: every project with its directory, status, age and cost so far.
use super::Result;

use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::Ctx;
use crate::clock::SystemClock;
use crate::exit::Exit;
use crate::store::{CostTotals, ProjectStatus, ProjectWithCost, Store};

#[derive(Debug, Args)]
pub struct ProjectsArgs {}

/// Opens the database if there is one: read-style commands never create it.
pub(super) fn open_store(ctx: &Ctx) -> Result<Option<Store>> {
    Ok(Store::open_existing(
        &ctx.paths.database,
        Arc::new(SystemClock),
    )?)
}

/// Unix milliseconds as a local date and time, `2026-05-01 14:03`.
pub(super) fn local_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

/// `$0.0123`, with calls of unknown price marked: `$0.0123 + unknown`, or `unknown`.
pub(super) fn cost_text(c: &CostTotals) -> String {
    let known = format!("${:.4}", c.cost_usd);
    if !c.has_unknown() {
        known
    } else if c.unknown_cost_calls == c.calls {
        "unknown".into()
    } else {
        format!("{known} + unknown")
    }
}

/// Text from the database (some of it written by a model) made safe for a terminal: control
/// characters, which could move the cursor or recolour the screen, become `?`.
pub(super) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// One project in `--json` output.
#[derive(Debug, Serialize)]
pub(super) struct ProjectJson<'a> {
    pub id: i64,
    pub name: &'a str,
    pub dir: &'a std::path::Path,
    pub description: &'a str,
    /// The stored status, except `interrupted` for a `running` project no process works on
    /// (its process was killed).
    pub status: &'static str,
    pub template: Option<&'a str>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Sum of the known costs.
    pub cost_usd: f64,
    /// Some calls had no known price, so the true cost is higher.
    pub cost_unknown: bool,
    pub calls: i64,
    pub budget_usd: Option<f64>,
}

/// A project's status as shown: `running` only while a process holds its lock.
pub(super) fn shown_status(ctx: &Ctx, p: &crate::store::Project) -> &'static str {
    if p.status == ProjectStatus::Running && !crate::agent::is_held(&ctx.paths.data_dir, p.id) {
        "interrupted"
    } else {
        p.status.as_str()
    }
}

impl<'a> ProjectJson<'a> {
    pub fn new(ctx: &Ctx, p: &'a crate::store::Project, cost: &CostTotals) -> Self {
        ProjectJson {
            id: p.id,
            name: &p.name,
            dir: &p.dir,
            description: &p.description,
            status: shown_status(ctx, p),
            template: p.template.as_deref(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            cost_usd: cost.cost_usd,
            cost_unknown: cost.has_unknown(),
            calls: cost.calls,
            budget_usd: p.budget_usd,
        }
    }
}

pub fn run(_args: ProjectsArgs, ctx: &Ctx) -> Result<Exit> {
    let projects: Vec<ProjectWithCost> = match open_store(ctx)? {
        Some(store) => store.list_projects()?,
        None => Vec::new(),
    };
    if ctx.ui.json() {
        let rows: Vec<ProjectJson<'_>> = projects
            .iter()
            .map(|p| ProjectJson::new(ctx, &p.project, &p.cost))
            .collect();
        ctx.ui.json_doc(&rows)?;
        return Ok(Exit::Ok);
    }
    if projects.is_empty() {
        ctx.ui
            .info("No projects yet; start one with `samocoder new \"what to build\"`.");
        return Ok(Exit::Ok);
    }
    let rows: Vec<Vec<String>> = projects
        .iter()
        .map(|p| {
            vec![
                clean(&p.project.name),
                clean(&p.project.dir.display().to_string()),
                shown_status(ctx, &p.project).to_string(),
                local_time(p.project.created_at),
                cost_text(&p.cost),
            ]
        })
        .collect();
    ctx.ui.out(crate::ui::table(
        &["NAME", "DIRECTORY", "STATUS", "CREATED", "COST"],
        &rows,
    ))?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_text_marks_unknown_prices() {
        let mut c = CostTotals {
            cost_usd: 0.0123,
            calls: 2,
            ..CostTotals::default()
        };
        assert_eq!(cost_text(&c), "$0.0123");
        c.unknown_cost_calls = 1;
        assert_eq!(cost_text(&c), "$0.0123 + unknown");
        c.unknown_cost_calls = 2;
        c.cost_usd = 0.0;
        assert_eq!(cost_text(&c), "unknown");
        assert_eq!(cost_text(&CostTotals::default()), "$0.0000");
    }

    #[test]
    fn clean_removes_terminal_escapes() {
        assert_eq!(clean("a\x1b[2Jb\n"), "a?[2Jb?");
    }
}
