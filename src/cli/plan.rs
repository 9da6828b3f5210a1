//! `samocoder plan PROJECT [--edit | --apply FILE]`: the latest plan as a readable file (with an
//! estimate of what its open tasks will cost), edited in `$EDITOR`, or replaced from a file.
//! An edit is checked before anything changes; a bad one is shown with its line numbers and
//! the edited text is never thrown away (on a terminal you edit it again, otherwise it is kept
//! in a file named in the error). `resume` then carries out the plan.
use super::Result;

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::editor::{Editor, ShellEditor};
use super::projects::{clean, open_store};
use super::{Ctx, UsageError};
use crate::agent::plan_file::{PlanProblem, parse, render};
use crate::agent::{ModelChoice, ProjectLock, latest_tasks};
use crate::exit::Exit;
use crate::store::{NewRun, Project, RunStatus, Store, StoreError, Task, TaskStatus};

/// Largest plan file read, in bytes.
const MAX_PLAN_FILE: u64 = 1024 * 1024;

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The project's name (or id), as listed by `samocoder projects`.
    #[arg(value_name = "PROJECT")]
    pub project: String,
    /// Open the plan in $VISUAL / $EDITOR; it is checked when you close the editor.
    #[arg(long, conflicts_with = "apply")]
    pub edit: bool,
    /// Replace the open tasks with this file (the format `samocoder plan PROJECT` prints).
    #[arg(long, value_name = "FILE")]
    pub apply: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct PlanJson<'a> {
    project: &'a str,
    iteration: i64,
    tasks: Vec<&'a Task>,
    estimate: Option<crate::estimate::Estimate>,
    spent_usd: f64,
}

pub fn run(args: PlanArgs, ctx: &Ctx) -> Result<Exit> {
    let no_project = || StoreError::NoProject {
        name: args.project.clone(),
    };
    let store = open_store(ctx)?.ok_or_else(no_project)?;
    let project = store.get_project(&args.project)?;
    if args.edit || args.apply.is_some() {
        let _lock = ProjectLock::acquire(&ctx.paths.data_dir, project.id, &project.name)?;
        return match &args.apply {
            Some(file) => apply_file(ctx, &store, &project, file),
            None => edit(ctx, &store, &project),
        };
    }
    if ctx.ui.json() {
        let all = store.list_tasks(project.id)?;
        let tasks = latest_tasks(&all);
        let (estimate, spent) = open_estimate(ctx, &store, &project, &tasks)?;
        ctx.ui.json_doc(&PlanJson {
            project: &project.name,
            iteration: tasks.first().map_or(0, |t| t.iteration),
            tasks,
            estimate,
            spent_usd: spent,
        })?;
        return Ok(Exit::Ok);
    }
    print_plan(ctx, &store, &project)?;
    Ok(Exit::Ok)
}

/// The estimate of the open tasks at the configured routes' prices, and the spend so far.
fn open_estimate(
    ctx: &Ctx,
    store: &Store,
    project: &Project,
    tasks: &[&Task],
) -> Result<(Option<crate::estimate::Estimate>, f64)> {
    let spent = store.project_cost(project.id)?.cost_usd;
    let open = tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Done)
        .count() as u32;
    if open == 0 {
        return Ok((None, spent));
    }
    let config = ctx.config()?;
    let prices = super::estimate::Prices::for_choice(ctx, &config, &ModelChoice::Routes)?;
    let scope = crate::estimate::Scope {
        planning: vec![],
        tasks: Some(open),
        iteration: tasks.first().map(|t| t.iteration),
    };
    Ok((
        Some(super::estimate::make(Some(store), &scope, &prices)?),
        spent,
    ))
}

/// Prints the latest plan in the format `--edit` and `--apply` read, with the estimate of its
/// open tasks as comment lines (so the output can be saved, edited and applied).
pub(super) fn print_plan(ctx: &Ctx, store: &Store, project: &Project) -> Result<()> {
    let all = store.list_tasks(project.id)?;
    let tasks = latest_tasks(&all);
    if tasks.is_empty() {
        ctx.ui.out(format!(
            "# {} has no plan yet; make one with `samocoder resume {} --plan-only`",
            clean(&project.name),
            project.name
        ))?;
        return Ok(());
    }
    let mut text = clean_text(&render(&project.name, &tasks));
    let (estimate, spent) = open_estimate(ctx, store, project, &tasks)?;
    if let Some(e) = estimate {
        let config = ctx.config()?;
        let prices = super::estimate::Prices::for_choice(ctx, &config, &ModelChoice::Routes)?;
        text.push('\n');
        for l in super::estimate::lines(&e, spent, &prices.models()) {
            text.push_str(&format!("# {l}\n"));
        }
    }
    ctx.ui.out_raw(&text)?;
    Ok(())
}

/// Model-written text made safe for a terminal, newlines kept.
fn clean_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Records the change as a run of its own (steps need one).
fn with_run<T>(
    store: &Store,
    project: &Project,
    f: impl FnOnce(i64) -> std::result::Result<T, crate::agent::AgentError>,
) -> Result<T> {
    let run = store.start_run(&NewRun {
        project_id: Some(project.id),
        command: "plan".into(),
        max_cost_usd: None,
        pid: std::process::id(),
    })?;
    let out = f(run.id);
    let (status, code) = match &out {
        Ok(_) => (RunStatus::Ok, 0),
        Err(e) => {
            let exit = crate::exit::ExitStatus::exit(e);
            (RunStatus::from_exit(exit), i32::from(exit.code()))
        }
    };
    store.finish_run(run.id, status, Some(code))?;
    Ok(out?)
}

fn report(ctx: &Ctx, project: &Project, e: &crate::agent::PlanEdit) -> Result<Exit> {
    if ctx.ui.json() {
        ctx.ui.json_doc(&serde_json::json!({
            "project": project.name,
            "changed": e.changed,
            "iteration": e.iteration,
            "open_tasks": e.open,
            "in_place": e.in_place,
        }))?;
    } else if !e.changed {
        ctx.ui.info("no changes; the plan is as it was");
    } else {
        let how = if e.in_place {
            String::new()
        } else {
            format!(
                " (as iteration {}: work had started, so the old open tasks are kept as superseded)",
                e.iteration
            )
        };
        ctx.ui.info(format!(
            "Saved the plan of {}: {} open task{}{how}; carry it out with `samocoder resume {}`",
            project.name,
            e.open,
            if e.open == 1 { "" } else { "s" },
            project.name
        ));
    }
    Ok(Exit::Ok)
}

/// One line for the problems of a file (the details were printed above it).
fn problems_line(problems: &[PlanProblem]) -> String {
    let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
    match problems.len() {
        1 => first,
        n => format!(
            "{first} (and {} more problem{})",
            n - 1,
            if n == 2 { "" } else { "s" }
        ),
    }
}

fn apply_file(ctx: &Ctx, store: &Store, project: &Project, file: &Path) -> Result<Exit> {
    let meta = std::fs::metadata(file)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
    if meta.len() > MAX_PLAN_FILE {
        return Err(UsageError(format!(
            "{} is larger than 1 MB; it is not a plan",
            file.display()
        ))
        .into());
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))?;
    let parsed = match parse(&text) {
        Ok(p) => p,
        Err(problems) => {
            for p in &problems {
                ctx.ui.warn(format!("{}: {p}", file.display()));
            }
            return Err(UsageError(format!(
                "the plan was not changed: {}: {}",
                file.display(),
                problems_line(&problems)
            ))
            .into());
        }
    };
    let e = with_run(store, project, |run| {
        crate::agent::apply_plan(store, project, &parsed, run)
    })?;
    report(ctx, project, &e)
}

fn edit(ctx: &Ctx, store: &Store, project: &Project) -> Result<Exit> {
    let editor = ShellEditor::from_env(ctx).ok_or_else(|| {
        UsageError(format!(
            "plan --edit needs an editor: set VISUAL or EDITOR (or run it on a terminal); in scripts use `samocoder plan {} > plan.md`, edit the file, then `samocoder plan {} --apply plan.md`",
            project.name, project.name
        ))
    })?;
    let all = store.list_tasks(project.id)?;
    let tasks = latest_tasks(&all);
    if tasks.is_empty() {
        return Err(UsageError(format!(
            "{} has no plan yet; make one with `samocoder resume {} --plan-only`",
            project.name, project.name
        ))
        .into());
    }
    if tasks.iter().all(|t| t.status == TaskStatus::Done) {
        return Err(UsageError(format!(
            "every task of {}'s plan is done; to change the project, run `samocoder resume {} -d \"what to change\"`",
            project.name, project.name
        ))
        .into());
    }
    let original = render(&project.name, &tasks);
    let drafts = ctx.paths.data_dir.join("drafts");
    std::fs::create_dir_all(&drafts)?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!("plan-{}-", project.name))
        .suffix(".md")
        .tempfile_in(&drafts)?;
    std::fs::write(tmp.path(), &original)?;
    let mut last = original.clone();
    loop {
        if let Err(why) = editor.edit(tmp.path()) {
            let text = std::fs::read_to_string(tmp.path()).unwrap_or_default();
            let kept = keep(&drafts, project, &text, &original)?;
            return Err(UsageError(format!("{why}; the plan was not changed{kept}")).into());
        }
        let text = std::fs::read_to_string(tmp.path())?;
        if text == original {
            ctx.ui.info("no changes; the plan is as it was");
            return Ok(Exit::Ok);
        }
        let outcome = parse(&text)
            .map_err(|p| (problems_line(&p), p))
            .and_then(|parsed| {
                with_run(store, project, |run| {
                    crate::agent::apply_plan(store, project, &parsed, run)
                })
                .map_err(|e| {
                    let m = e.to_string();
                    (
                        m.clone(),
                        vec![PlanProblem {
                            line: 0,
                            message: m,
                        }],
                    )
                })
            });
        match outcome {
            Ok(e) => return report(ctx, project, &e),
            Err((line, problems)) => {
                for p in &problems {
                    ctx.ui.warn(format!("plan: {p}"));
                }
                let again = text != last
                    && ctx.ui.stdin_is_tty()
                    && !ctx.ui.yes()
                    && ctx.ui.confirm(
                        "Edit the plan again? (no: keep your edit in a file, the plan as it was)",
                        true,
                    )?;
                if again {
                    last = text;
                    continue;
                }
                let kept = keep(&drafts, project, &text, &original)?;
                return Err(UsageError(format!("the plan was not changed: {line}{kept}")).into());
            }
        }
    }
}

/// Keeps a rejected edit where the user can find it; the message part that says where.
fn keep(drafts: &Path, project: &Project, text: &str, original: &str) -> Result<String> {
    if text.trim().is_empty() || text == original {
        return Ok(String::new());
    }
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let mut path = drafts.join(format!("{}-plan-{stamp}.md", project.name));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = drafts.join(format!("{}-plan-{stamp}-{n}.md", project.name));
    }
    std::fs::write(&path, text)?;
    Ok(format!(
        "; your edit is kept in {}: fix it and run `samocoder plan {} --apply {}`",
        path.display(),
        project.name,
        path.display()
    ))
}
