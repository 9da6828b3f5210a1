//! `samocoder resume`: carry on with a project from its last saved step.
use super::Result;

use std::sync::Arc;

use clap::Args;

use super::agent_run;
use super::run_settings::{RunArgs, RunSettings};
use super::{Ctx, UsageError};
use crate::agent::{ProjectLock, RunRequest};
use crate::clock::SystemClock;
use crate::exit::Exit;
use crate::protocol::RunCommand;
use crate::store::{ProjectStatus, Store};

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The project (default: the most recent unfinished one).
    pub project: Option<String>,
    /// A change request: start a new feature iteration on a finished project.
    #[arg(short = 'd', long = "description", value_name = "TEXT")]
    pub change: Option<String>,
    /// Go back to the checkpoint before task N (on a new git branch; nothing is deleted) and
    /// do tasks N.. of the latest plan again.
    #[arg(long, value_name = "N", conflicts_with = "change")]
    pub from_task: Option<u32>,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: ResumeArgs, ctx: &Ctx) -> Result<Exit> {
    let config = ctx.config()?;
    let settings = RunSettings::resolve(&args.run, ctx, &config)?;
    let store =
        Store::open_existing(&ctx.paths.database, Arc::new(SystemClock))?.ok_or_else(|| {
            UsageError("there are no projects yet; start one with `samocoder new`".into())
        })?;
    let project = match &args.project {
        Some(p) => store.get_project(p)?,
        None => store.latest_unfinished_project()?.ok_or_else(|| {
            UsageError(
                "no unfinished project to resume; name one (see `samocoder projects`)".into(),
            )
        })?,
    };
    if settings.estimate {
        return dry_run(
            ctx,
            &config,
            &settings,
            &store,
            &project,
            args.change.is_some(),
        );
    }
    let lock = ProjectLock::acquire(&ctx.paths.data_dir, project.id, &project.name)?;
    let restart = match args.from_task {
        Some(n) => Some(crate::agent::plan_restart(&store, &project, n)?),
        None => None,
    };
    if restart.is_none() && project.status == ProjectStatus::Done && args.change.is_none() {
        ctx.ui.info(format!(
            "{} is done; to change it, run `samocoder resume {} -d \"what to change\"`",
            project.name, project.name
        ));
        return Ok(Exit::Ok);
    }
    if !project.dir.is_dir() {
        return Err(UsageError(format!(
            "the directory of {} ({}) is gone; nothing to resume",
            project.name,
            project.dir.display()
        ))
        .into());
    }
    let change = args
        .change
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from);
    agent_run::run_agent(
        lock,
        ctx,
        config,
        store,
        &settings,
        RunRequest {
            project_id: project.id,
            command: RunCommand::Resume,
            change_request: change,
            restart,
            plan_only: settings.plan_only,
        },
    )
}

/// `resume --estimate`: what the rest of the work would cost (the phases not done yet and the
/// open tasks of the latest plan; a new iteration with `-d`), with nothing spent.
fn dry_run(
    ctx: &Ctx,
    config: &crate::config::Config,
    settings: &RunSettings,
    store: &Store,
    project: &crate::store::Project,
    change: bool,
) -> Result<Exit> {
    use crate::protocol::Role;
    let tasks = store.list_tasks(project.id)?;
    let latest = crate::agent::latest_tasks(&tasks);
    let mut planning = Vec::new();
    if project.spec.is_none() {
        planning.push(Role::Spec);
    }
    if project.architecture.is_none() {
        planning.push(Role::Architect);
    }
    let open = latest
        .iter()
        .filter(|t| t.status != crate::store::TaskStatus::Done)
        .count() as u32;
    let planned = !latest.is_empty() && !change;
    if !planned {
        planning.push(Role::Planner);
    }
    let scope = crate::estimate::Scope {
        planning,
        tasks: planned.then_some(open),
        iteration: latest.first().map(|t| t.iteration),
    };
    let prices = super::estimate::Prices::new(ctx, config, settings)?;
    let e = super::estimate::make(Some(store), &scope, &prices)?;
    let spent = store.project_cost(project.id)?.cost_usd;
    super::estimate::print(ctx, &e, spent, &prices)?;
    Ok(Exit::Ok)
}
