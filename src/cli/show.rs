//! `samocoder show PROJECT`: one project in detail: where it is, how far it got, what it cost.
use super::Result;

use clap::Args;
use serde::Serialize;

use super::Ctx;
use super::projects::{ProjectJson, clean, cost_text, local_time, open_store};
use crate::exit::Exit;
use crate::store::{StoreError, Task};

/// Lines of the spec shown by the human view.
const SPEC_LINES: usize = 6;
/// Commits of the project's git history shown (newest first).
const GIT_LOG_LIMIT: usize = 10;
/// The project's last commands shown, each with the sandbox it ran in.
const COMMANDS_LIMIT: usize = 10;

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The project's name (or id), as listed by `samocoder projects`.
    #[arg(value_name = "PROJECT")]
    pub project: String,
}

#[derive(Debug, Serialize)]
struct ShowJson<'a> {
    #[serde(flatten)]
    project: ProjectJson<'a>,
    spec: Option<&'a str>,
    architecture: Option<&'a serde_json::Value>,
    /// The project's budget, else the config's `budget.per_project_usd`.
    effective_budget_usd: Option<f64>,
    budget_left_usd: Option<f64>,
    tasks: &'a [Task],
    last_error: Option<LastError<'a>>,
    /// Tasks with a checkpoint commit, in plan order.
    checkpoints: Vec<Checkpoint<'a>>,
    /// The project's git history (newest first), empty when it is not a repository.
    git_log: Vec<GitCommit>,
    /// For a directory samocoder adopted: its branch and where it started.
    adoption: Option<&'a crate::store::Adoption>,
    /// Every estimate made for the project, each with what was spent from then until the
    /// next one (so estimates can be judged).
    estimates: Vec<EstimateVsActual>,
    /// The last commands (oldest first), with the sandbox each ran in.
    commands: Vec<CommandLine>,
}

#[derive(Debug, Serialize)]
struct CommandLine {
    command: String,
    approval: String,
    exit_code: Option<i32>,
    /// `workspace-write`, `workspace-write+network`, `read-only`, `off`; null when it did not
    /// run (or was recorded by a samocoder without the sandbox).
    sandbox: Option<String>,
}

/// The project's last [`COMMANDS_LIMIT`] commands.
fn last_commands(store: &crate::store::Store, project_id: i64) -> Result<Vec<CommandLine>> {
    let all = store.list_commands(project_id)?;
    let skip = all.len().saturating_sub(COMMANDS_LIMIT);
    Ok(all
        .into_iter()
        .skip(skip)
        .map(|c| CommandLine {
            command: c.command,
            approval: c.approval.to_string(),
            exit_code: c.exit_code,
            sandbox: c.sandbox,
        })
        .collect())
}

#[derive(Debug, Serialize)]
struct EstimateVsActual {
    /// When it was made (ms).
    at: i64,
    estimate: crate::estimate::Estimate,
    /// What the project's calls cost from then until the next estimate (known prices).
    actual_usd: f64,
    actual_calls: i64,
    /// Some calls of the period had no known price.
    actual_incomplete: bool,
    /// Whether the actual cost lies in the estimated range (`null`: no price or no calls yet).
    within: Option<bool>,
}

/// The estimates recorded for a project, with the spend that followed each.
fn estimates(
    store: &crate::store::Store,
    p: &crate::store::Project,
) -> Result<Vec<EstimateVsActual>> {
    let made: Vec<(i64, crate::estimate::Estimate)> = store
        .provenance(&crate::store::ProjectKey::from(p))?
        .into_iter()
        .filter_map(|e| match e.record {
            crate::provenance::Record::Estimate(est) => Some((e.at, est)),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for (i, (at, est)) in made.iter().enumerate() {
        let until = made.get(i + 1).map(|(t, _)| *t);
        let spent = store.project_cost_between(p.id, *at, until)?;
        out.push(EstimateVsActual {
            at: *at,
            within: (spent.calls > 0 && !spent.has_unknown())
                .then(|| est.contains(spent.cost_usd))
                .flatten(),
            estimate: est.clone(),
            actual_usd: spent.cost_usd,
            actual_calls: spent.calls,
            actual_incomplete: spent.has_unknown(),
        });
    }
    Ok(out)
}

#[derive(Debug, Serialize)]
struct Checkpoint<'a> {
    task_id: i64,
    task: &'a str,
    commit: &'a str,
}

#[derive(Debug, Serialize)]
struct GitCommit {
    commit: String,
    summary: String,
    /// Unix seconds.
    time: i64,
}

/// The git history of the project directory, or nothing when it is not a repository (or
/// cannot be read: `show` reports what it can).
fn git_log(dir: &std::path::Path) -> Vec<GitCommit> {
    let Ok(ws) = crate::workspace::Workspace::open(dir) else {
        return Vec::new();
    };
    if !dir.join(".git").exists() {
        return Vec::new();
    }
    match ws.log(GIT_LOG_LIMIT) {
        Ok(log) => log
            .into_iter()
            .map(|c| GitCommit {
                commit: c.id.as_str().to_string(),
                summary: c.summary,
                time: c.time,
            })
            .collect(),
        Err(e) => {
            tracing::debug!(error = %e, "no git log for show");
            Vec::new()
        }
    }
}

#[derive(Debug, Serialize)]
struct LastError<'a> {
    task_id: i64,
    task: &'a str,
    error: &'a str,
}

pub fn run(args: ShowArgs, ctx: &Ctx) -> Result<Exit> {
    let no_project = || StoreError::NoProject {
        name: args.project.clone(),
    };
    let store = open_store(ctx)?.ok_or_else(no_project)?;
    let p = store.get_project(&args.project)?;
    let cost = store.project_cost(p.id)?;
    let tasks = store.list_tasks(p.id)?;
    let last_error = tasks
        .iter()
        .filter(|t| t.last_error.is_some())
        .max_by_key(|t| (t.updated_at, t.id))
        .map(|t| LastError {
            task_id: t.id,
            task: &t.title,
            error: t.last_error.as_deref().unwrap_or_default(),
        });
    let budget = p.budget_usd.or(ctx.config()?.budget.per_project_usd);
    let left = budget.map(|b| (b - cost.cost_usd).max(0.0));
    let checkpoints: Vec<Checkpoint<'_>> = tasks
        .iter()
        .filter_map(|t| {
            t.checkpoint.as_deref().map(|c| Checkpoint {
                task_id: t.id,
                task: &t.title,
                commit: c,
            })
        })
        .collect();
    let log = git_log(&p.dir);
    let commands = last_commands(&store, p.id)?;
    let adoption = store.adoption(p.id)?;
    let estimates = estimates(&store, &p)?;

    if ctx.ui.json() {
        ctx.ui.json_doc(&ShowJson {
            project: ProjectJson::new(ctx, &p, &cost),
            spec: p.spec.as_deref(),
            architecture: p.architecture.as_ref(),
            effective_budget_usd: budget,
            budget_left_usd: left,
            tasks: &tasks,
            last_error,
            checkpoints,
            git_log: log,
            commands,
            adoption: adoption.as_ref(),
            estimates,
        })?;
        return Ok(Exit::Ok);
    }

    let mut out = Vec::new();
    let mut field = |k: &str, v: String| out.push(format!("{:<12} {v}", format!("{k}:")));
    field("Project", format!("{} (id {})", clean(&p.name), p.id));
    field("Directory", clean(&p.dir.display().to_string()));
    field("Status", super::projects::shown_status(ctx, &p).to_string());
    field("Created", local_time(p.created_at));
    field("Updated", local_time(p.updated_at));
    if !p.description.is_empty() {
        field("Description", clean(&p.description));
    }
    if let Some(t) = &p.template {
        field("Template", clean(t));
    }
    if let Some(a) = &adoption {
        let base = a
            .base_branch
            .clone()
            .unwrap_or_else(|| a.base_commit.chars().take(8).collect());
        field(
            "Adopted",
            format!(
                "samocoder works on branch {} (from {}){}",
                clean(&a.branch),
                clean(&base),
                if a.return_to.is_some() {
                    "; the directory is on it since a run that was stopped: `samocoder resume` switches it back when it ends"
                } else {
                    ""
                }
            ),
        );
    }
    field("Cost", cost_text(&cost));
    if let Some(last) = estimates.last() {
        let actual = if last.actual_calls == 0 {
            "nothing spent since".to_string()
        } else {
            format!(
                "actual since: ${:.4} in {} call{}{}{}",
                last.actual_usd,
                last.actual_calls,
                if last.actual_calls == 1 { "" } else { "s" },
                if last.actual_incomplete {
                    " + unknown"
                } else {
                    ""
                },
                match last.within {
                    Some(true) => ", within the estimate",
                    Some(false) => ", outside the estimate",
                    None => "",
                }
            )
        };
        field(
            "Estimate",
            format!(
                "{} (made {}); {actual}",
                last.estimate.summary(),
                local_time(last.at)
            ),
        );
    }
    match (budget, left) {
        (Some(b), Some(l)) => {
            let mut s = format!("${b:.4}, ${l:.4} left");
            if p.budget_usd.is_none() {
                s.push_str(" (budget.per_project_usd)");
            }
            if cost.has_unknown() {
                s.push_str(" (less calls of unknown price)");
            }
            field("Budget", s);
        }
        _ => field("Budget", "none".into()),
    }
    if let Some(e) = &last_error {
        let first = e.error.lines().next().unwrap_or_default();
        field("Last error", format!("{}: {}", clean(e.task), clean(first)));
    }
    match p.spec.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(spec) => {
            out.push("Spec:".into());
            let lines: Vec<&str> = spec.lines().collect();
            for line in lines.iter().take(SPEC_LINES) {
                out.push(format!("  {}", clean(line)));
            }
            if lines.len() > SPEC_LINES {
                out.push(format!(
                    "  ... ({} more lines; --json shows all)",
                    lines.len() - SPEC_LINES
                ));
            }
        }
        None => out.push("Spec:        not written yet".into()),
    }
    if tasks.is_empty() {
        out.push("Tasks:       none planned yet".into());
    } else {
        let done = tasks
            .iter()
            .filter(|t| t.status == crate::store::TaskStatus::Done)
            .count();
        out.push(format!("Tasks:       {done} of {} done", tasks.len()));
        for t in &tasks {
            let attempts = if t.attempts > 1 {
                format!(" ({} attempts)", t.attempts)
            } else {
                String::new()
            };
            out.push(format!(
                "  {}.{:<3} {:<12} {}{attempts}",
                t.iteration,
                t.ordinal,
                t.status.to_string(),
                clean(&t.title)
            ));
        }
    }
    if !checkpoints.is_empty() {
        out.push("Checkpoints:".into());
        for c in &checkpoints {
            let short: String = c.commit.chars().take(8).collect();
            out.push(format!("  {}  {}", clean(&short), clean(c.task)));
        }
    }
    if !log.is_empty() {
        out.push(format!("Git log (last {}):", log.len()));
        for c in &log {
            let short: String = c.commit.chars().take(8).collect();
            out.push(format!(
                "  {short}  {}  {}",
                local_time(c.time.saturating_mul(1000)),
                clean(&c.summary)
            ));
        }
    }
    if !commands.is_empty() {
        out.push(format!("Commands (last {}):", commands.len()));
        for c in &commands {
            let first = c.command.lines().next().unwrap_or_default();
            let short: String = first.chars().take(60).collect();
            let how = match (&c.sandbox, c.exit_code) {
                (Some(sb), Some(code)) => format!("exit {code}, sandbox {sb}"),
                (Some(sb), None) => format!("no exit code, sandbox {sb}"),
                (None, _) => format!("not run ({})", c.approval),
            };
            out.push(format!("  {}  [{how}]", clean(&short)));
        }
    }
    ctx.ui.out(out.join("\n"))?;
    Ok(Exit::Ok)
}
