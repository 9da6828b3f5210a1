//! The agent: the orchestrator state machine (spec -> architecture -> plan -> tasks -> verify ->
//! fix -> checkpoint) and its roles. It emits [`events::Event`]s and never prints.
//!
//! Its position is derived from what is saved: a project without a spec starts with the spec,
//! one without an architecture with the architecture, one without tasks with the plan, and
//! otherwise with its first open task, whose conversation is rebuilt from its saved steps.

mod deps;
mod error;
pub mod events;
mod planning;
mod restart;
pub mod roles;
mod session;
mod snapshot;
mod task;
pub mod tools;

use std::time::Instant;

pub use deps::{AgentDeps, Asker, Models, NoQuestions};
pub use error::AgentError;
pub use restart::{Restart, restart_from_task};
pub use session::{Session, fit_context, rebuild};
pub use task::failure_signature;

use crate::exit::{Exit, ExitStatus};
use crate::store::{NewRun, ProjectStatus, RunStatus, TaskStatus};
use crate::workspace::Workspace;
use events::Event;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub project_id: i64,
    /// `new` or `resume`.
    pub command: String,
    /// A new feature iteration on a finished project (`resume -d`).
    pub change_request: Option<String>,
}

/// Runs the pipeline for a project until it is done or stops; always ends with a
/// `run_finished` event and returns the exit code. The caller must hold the project's run lock
/// (see `cli::agent_run::lock_project`): the run assumes nobody else writes to the project.
pub async fn run(deps: &AgentDeps, req: RunRequest) -> Exit {
    let started = Instant::now();
    let outcome = start(deps, &req).await;
    let (exit, status, message, run_id) = match outcome {
        Ok((run_id, Ok(()))) => (Exit::Ok, "done".to_string(), None, Some(run_id)),
        Ok((run_id, Err(e))) => (
            e.exit(),
            e.status().to_string(),
            Some(with_resume_hint(&e, deps, req.project_id)),
            Some(run_id),
        ),
        Err(e) => (e.exit(), e.status().to_string(), Some(e.to_string()), None),
    };
    let store = &deps.store;
    let project_status = match exit {
        Exit::Ok => ProjectStatus::Done,
        Exit::Budget => ProjectStatus::BudgetExhausted,
        Exit::Interrupted | Exit::NoProvider | Exit::Usage => ProjectStatus::Paused,
        Exit::Failure => ProjectStatus::Failed,
    };
    let _ = store.set_project_status(req.project_id, project_status);
    let (cost, incomplete, calls) = match run_id.map(|id| store.run_cost(id)) {
        Some(Ok(t)) => (t.cost_usd, t.has_unknown(), t.calls as u64),
        _ => (0.0, false, 0),
    };
    if let Some(id) = run_id {
        let _ = store.finish_run(id, RunStatus::from_exit(exit), Some(i32::from(exit.code())));
    }
    let tasks = store.list_tasks(req.project_id).unwrap_or_default();
    let done = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done)
        .count() as u32;
    deps.events.emit(Event::RunFinished {
        status,
        exit_code: exit.code(),
        cost_usd: cost,
        cost_incomplete: incomplete,
        model_calls: calls,
        tasks_done: done,
        tasks_total: tasks.len() as u32,
        duration_ms: started.elapsed().as_millis() as u64,
        message,
    });
    exit
}

async fn start(
    deps: &AgentDeps,
    req: &RunRequest,
) -> Result<(i64, Result<(), AgentError>), AgentError> {
    let store = &deps.store;
    let project = store.project_by_id(req.project_id)?;
    let run = store.start_run(&NewRun {
        project_id: Some(project.id),
        command: req.command.clone(),
        max_cost_usd: deps.max_cost_usd,
        pid: std::process::id(),
    })?;
    deps.events.emit(Event::RunStarted {
        project: project.name.clone(),
        run_id: run.id,
        dir: project.dir.display().to_string(),
        command: req.command.clone(),
    });
    let result = async {
        // Files samocoder writes (at most max_file_bytes) always go into checkpoints.
        let limits = &deps.config.limits;
        let ws = Workspace::open(&project.dir)?
            .with_user_file_limit(limits.max_user_file_bytes.max(limits.max_file_bytes))
            .with_change_watch();
        // The caller holds the project's run lock, so git locks left here are from a killed run.
        ws.remove_stale_git_locks()?;
        ws.ensure_repo()?;
        ws.remove_stale_temp_files()?;
        record_baseline(store, project.id, &ws)?;
        store.set_project_status(project.id, ProjectStatus::Running)?;
        let mut session = Session::new(deps, project, run.id, ws);
        drive(&mut session, req.change_request.as_deref()).await
    }
    .await;
    Ok((run.id, result))
}

async fn drive(s: &mut Session<'_>, change_request: Option<&str>) -> Result<(), AgentError> {
    let mut edits = s.user_edits()?;
    if s.project.spec.is_none() {
        s.spec_phase().await?;
    }
    if s.project.architecture.is_none() {
        s.architecture_phase().await?;
    }
    let pid = s.project.id;
    let mut iteration = s.store().current_iteration(pid)?;
    if let Some(change) = change_request {
        if s.store().next_open_task(pid)?.is_some() {
            return Err(AgentError::Usage(format!(
                "{} still has unfinished tasks; run `samocoder resume {}` first, then ask for the change",
                s.project.name, s.project.name
            )));
        }
        iteration += 1;
        s.plan_phase(iteration, Some(change)).await?;
    } else if iteration == 0 {
        s.plan_phase(1, None).await?;
    } else if has_open_plan(s, iteration)? {
        s.plan_phase(iteration + 1, None).await?;
    }
    // A task that failed in an earlier run is tried again, with a note to change approach.
    let tasks = s.store().list_tasks(pid)?;
    let latest = tasks.iter().map(|t| t.iteration).max().unwrap_or(0);
    if let Some(failed) = tasks
        .iter()
        .find(|t| t.status == TaskStatus::Failed && t.iteration == latest)
    {
        s.store()
            .set_task_status(failed.id, TaskStatus::InProgress, None)?;
        s.say(
            &format!("task:{}", failed.id),
            Some(failed.id),
            "The previous run stopped this task after repeated failures. Start again from the current state of the files: re-read the failing test output and try a different approach.",
        )?;
    }
    s.emit(Event::PhaseStarted {
        phase: "tasks".into(),
    });
    while let Some(task) = s.store().next_open_task(pid)? {
        let total = s
            .store()
            .list_tasks(pid)?
            .iter()
            .filter(|t| t.iteration == task.iteration)
            .count() as u32;
        s.task_phase(task, total, edits.take().as_deref()).await?;
    }
    s.emit(Event::PhaseStarted {
        phase: "finish".into(),
    });
    Ok(())
}

/// Records the files already in the project before samocoder's first write (its own
/// `.gitignore`, or what a `--force` directory held), so they are not taken for user edits.
fn record_baseline(
    store: &crate::store::Store,
    project_id: i64,
    ws: &Workspace,
) -> Result<(), AgentError> {
    if store.has_files(project_id)? {
        return Ok(());
    }
    let snap = snapshot::TreeSnapshot::take(store, project_id, ws)?;
    store.transaction(|db| snap.apply(db, project_id))?;
    Ok(())
}

/// A plan thread that started but whose tasks were not saved yet (a crash mid-plan).
fn has_open_plan(s: &Session<'_>, iteration: i64) -> Result<bool, AgentError> {
    let key = format!("plan:{}", iteration + 1);
    Ok(!s.thread_steps(&key)?.is_empty())
}

/// The error for the user; provider and store problems get the way back in, since the state
/// of the run is saved (budget and interrupt messages already say it).
fn with_resume_hint(e: &AgentError, deps: &AgentDeps, project_id: i64) -> String {
    let text = e.to_string();
    match e {
        AgentError::Llm(_)
        | AgentError::Model(_)
        | AgentError::Failed(_)
        | AgentError::TaskFailed { .. } => match deps.store.project_by_id(project_id) {
            Ok(p) => format!(
                "{text}; the state is saved: fix it, then `samocoder resume {}`",
                p.name
            ),
            Err(_) => text,
        },
        _ => text,
    }
}
