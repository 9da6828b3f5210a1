//! The agent: the orchestrator state machine (spec -> architecture -> plan -> tasks -> verify ->
//! fix -> checkpoint) and its roles. It emits [`crate::protocol::Event`]s, asks the user only
//! through a [`crate::protocol::Prompter`], and never prints.
//!
//! Its position is derived from what is saved: a project without a spec starts with the spec,
//! one without an architecture with the architecture, one without tasks with the plan, and
//! otherwise with its first open task, whose conversation is rebuilt from its saved steps.

mod adopt;
mod answers;
mod budget;
pub mod call;
mod commands;
mod conversation;
mod deps;
mod digest;
mod error;
mod git_guard;
mod lock;
mod models;
mod plan_edit;
pub mod plan_file;
mod planning;
mod restart;
mod review;
pub mod roles;
mod session;
mod snapshot;
mod task;
mod tool_exec;
pub mod tools;
mod verify;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_adopt;
#[cfg(all(test, unix))]
mod tests_fs_inputs;

use std::time::Instant;

pub use adopt::{NewAdoption, adopt, dirty_refusal};
pub use conversation::{fit_context, rebuild};
pub use deps::{AgentDeps, Models};
pub use error::AgentError;
pub use lock::{LockError, ProjectLock, is_held};
pub use models::{LiveModels, ModelChoice, ReplayModels};
pub use plan_edit::{PlanEdit, apply_plan};
pub use restart::{Restart, RestartPlan, latest_tasks, plan_restart};
pub use session::Session;
pub use verify::failure_signature;

use crate::exit::{Exit, ExitStatus};
use crate::protocol::{Event, Phase, RunCommand, RunStatus as EventStatus};
use crate::provenance::{Record, RunEvent, RunRecord};
use crate::store::{NewRun, ProjectStatus, RunStatus, TaskStatus};
use crate::workspace::Workspace;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub project_id: i64,
    pub command: RunCommand,
    /// A new feature iteration on a finished project (`resume -d`).
    pub change_request: Option<String>,
    /// `resume --from-task N`, checked: go back first.
    pub restart: Option<RestartPlan>,
    /// Stop once the plan is made (`--plan-only`), with an estimate of the rest.
    pub plan_only: bool,
}

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    /// Every task is done.
    Done,
    /// Stopped after the plan (`--plan-only`).
    Planned,
}

/// Runs the pipeline for a project until it is done or stops; always ends with a
/// `run_finished` event and returns the exit code. The caller must hold the project's
/// [`ProjectLock`]: the run assumes nobody else writes to the project.
pub async fn run(deps: &AgentDeps, req: RunRequest) -> Exit {
    let started = Instant::now();
    let outcome = start(deps, &req).await;
    let mut planned = false;
    let (exit, message, run_id, tokens) = match outcome {
        Ok((run_id, Ok(finished), tokens)) => {
            planned = finished == Finished::Planned;
            let message = planned.then(|| {
                let name = deps
                    .store
                    .project_by_id(req.project_id)
                    .map(|p| p.name)
                    .unwrap_or_default();
                format!(
                    "planned; review it with `samocoder plan {name}` (`--edit` to change it), then carry it out with `samocoder resume {name}`"
                )
            });
            (Exit::Ok, message, Some(run_id), tokens)
        }
        Ok((run_id, Err(e), tokens)) => (
            e.exit(),
            Some(with_resume_hint(&e, deps, req.project_id)),
            Some(run_id),
            tokens,
        ),
        Err(e) => (
            e.exit(),
            Some(e.to_string()),
            None,
            budget::Tokens::default(),
        ),
    };
    let store = &deps.store;
    let project_status = match exit {
        Exit::Ok if planned => ProjectStatus::Paused,
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
    let status = if planned {
        EventStatus::Planned
    } else {
        EventStatus::from_exit(exit)
    };
    if let Some(id) = run_id {
        let _ = store.finish_run(id, RunStatus::from_exit(exit), Some(i32::from(exit.code())));
        if let Ok(project) = store.project_by_id(req.project_id) {
            let record = Record::Run(RunRecord {
                event: RunEvent::Finished,
                command: req.command.as_str().to_string(),
                status: Some(status.as_str().to_string()),
                exit_code: Some(i64::from(exit.code())),
                cost_usd: Some(cost),
                backfilled: false,
            });
            let _ = store.append_provenance(&project, Some(id), None, &record);
        }
    }
    let all = store.list_tasks(req.project_id).unwrap_or_default();
    let tasks = latest_tasks(&all);
    let done = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done)
        .count() as u32;
    match &message {
        Some(m) if !planned => {
            tracing::warn!(status = status.as_str(), cost_usd = cost, model_calls = calls, error = %m, "run finished")
        }
        _ => tracing::info!(
            status = status.as_str(),
            cost_usd = cost,
            model_calls = calls,
            "run finished"
        ),
    }
    deps.events.emit(Event::RunFinished {
        status,
        exit_code: exit.code(),
        cost_usd: cost,
        cost_incomplete: incomplete,
        model_calls: calls,
        input_tokens: tokens.input,
        cached_input_tokens: tokens.cached_input,
        output_tokens: tokens.output,
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
) -> Result<(i64, Result<Finished, AgentError>, budget::Tokens), AgentError> {
    let store = &deps.store;
    let project = store.project_by_id(req.project_id)?;
    let run = store.start_run(&NewRun {
        project_id: Some(project.id),
        command: req.command.as_str().to_string(),
        max_cost_usd: deps.max_cost_usd,
        pid: std::process::id(),
    })?;
    tracing::info!(project = %project.name, run_id = run.id, command = req.command.as_str(), "run started");
    store.append_provenance(
        &project,
        Some(run.id),
        None,
        &Record::Run(RunRecord {
            event: RunEvent::Started,
            command: req.command.as_str().to_string(),
            status: None,
            exit_code: None,
            cost_usd: None,
            backfilled: false,
        }),
    )?;
    let budget = budget::BudgetGuard::new(deps, &project);
    deps.events.emit(Event::RunStarted {
        protocol: crate::protocol::PROTOCOL_VERSION,
        project: project.name.clone(),
        run_id: run.id,
        dir: project.dir.display().to_string(),
        command: req.command,
        budget: budget.describe(store).unwrap_or_default(),
    });
    let budget = std::sync::Arc::new(budget);
    let totals = budget.clone();
    let result = async {
        // Files samocoder writes (at most max_file_bytes) always go into checkpoints.
        let limits = &deps.config.limits;
        let ws = Workspace::open(&project.dir)?
            .with_user_file_limit(limits.max_user_file_bytes.max(limits.max_file_bytes))
            .with_change_watch();
        let mut session = Session::new(deps, project, run.id, ws, budget);
        if let Some(note) = session.budget.check_enforceable(&session)? {
            session.emit(Event::Warning { message: note });
        }
        // An adopted repository is switched to samocoder's branch before anything is written.
        session.enter_adopted(req.change_request.is_some())?;
        let result = prepare_and_drive(&mut session, req).await;
        // Switched back however the run ended (its unfinished work kept on the branch).
        if let Err(e) = session.leave_adopted() {
            let branch = session
                .adopted
                .as_ref()
                .map(|a| a.row.branch.clone())
                .unwrap_or_default();
            session.emit(Event::Warning {
                message: format!(
                    "the directory is still on samocoder's branch {branch}: {e}; `samocoder resume {}` carries on, or switch back yourself with git",
                    session.project.name
                ),
            });
        } else if matches!(result, Ok(Finished::Done)) {
            session.changes_ready()?;
        }
        result
    }
    .await;
    Ok((run.id, result, totals.tokens()))
}

async fn prepare_and_drive(
    session: &mut Session<'_>,
    req: &RunRequest,
) -> Result<Finished, AgentError> {
    let store = &session.deps.store;
    // The caller holds the project's run lock, so a command group recorded as running
    // belongs to a killed run: stop it before anything else touches the files.
    stop_stale_commands(session)?;
    if let Some(plan) = &req.restart {
        let r = restart::restart_from_task(session, plan)?;
        session.emit(Event::Restarted {
            branch: r.branch,
            from_commit: r.from_commit,
            tasks: r.tasks as u32,
            kept_changes: r.kept_changes,
        });
    }
    if session.adopted.is_none() {
        // Git locks left here are from a killed run too. Not in an adopted repository: the
        // user's own git may be working there.
        session.ws.remove_stale_git_locks()?;
    }
    session.ws.ensure_repo()?;
    let mut restored_gitignore = false;
    if session.adopted.is_none() {
        // (An adopted repository's were removed with its status, when the run switched.)
        session.ws.remove_stale_temp_files()?;
        // libgit2's probe files from an init that was killed (the lock makes them stale).
        let probes = session.ws.remove_stale_probe_files()?;
        if probes > 0 {
            tracing::warn!(
                removed = probes,
                "removed libgit2 probe files left by a killed git init"
            );
        }
        // A kill between `git init` and the `.gitignore` (in versions that wrote it second).
        restored_gitignore = session.ws.restore_default_gitignore()?;
    }
    let fresh = record_baseline(session)?;
    if restored_gitignore && !fresh {
        record_own_file(session, ".gitignore")?;
    }
    store.set_project_status(session.project.id, ProjectStatus::Running)?;
    drive(session, req.change_request.as_deref(), req.plan_only, fresh).await
}

/// `fresh`: the files were recorded a moment ago (nobody can have edited them since).
async fn drive(
    s: &mut Session<'_>,
    change_request: Option<&str>,
    plan_only: bool,
    fresh: bool,
) -> Result<Finished, AgentError> {
    // Edits in an adopted repository are the user's uncommitted changes, kept out and named in
    // the prompts; there is no tree of samocoder's to compare with.
    let mut edits = if fresh || s.adopted.is_some() {
        None
    } else {
        s.user_edits()?
    };
    if s.project.spec.is_none() {
        s.spec_phase().await?;
    }
    if s.project.architecture.is_none() {
        s.architecture_phase().await?;
    }
    let pid = s.project.id;
    let mut iteration = s.store().current_iteration(pid)?;
    let mut planned_now = true;
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
    } else if s
        .store()
        .thread_exists(pid, &format!("plan:{}", iteration + 1))?
    {
        // A plan thread that started but whose tasks were not saved yet (a crash mid-plan).
        s.plan_phase(iteration + 1, None).await?;
    } else {
        planned_now = false;
    }
    if planned_now || plan_only {
        s.estimate_rest()?;
    }
    if plan_only {
        return Ok(Finished::Planned);
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
        let mut log = s.open_thread(&format!("task:{}", failed.id))?;
        s.say(
            &mut log,
            Some(failed.id),
            "The previous run stopped this task after repeated failures. Start again from the current state of the files: re-read the failing test output and try a different approach.",
        )?;
    }
    s.emit(Event::PhaseStarted {
        phase: Phase::Tasks,
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
        phase: Phase::Finish,
    });
    Ok(Finished::Done)
}

/// Kills the commands a killed run left running (its parent-death signal covers most deaths;
/// this covers the rest), so none writes to the project while this run works on it.
fn stop_stale_commands(s: &Session<'_>) -> Result<(), AgentError> {
    use crate::exec::sandbox::{GroupRecord, StaleGroup, kill_stale_group};
    for (run_id, record) in s.store().command_groups(s.project.id)? {
        if let Ok(group) = record.parse::<GroupRecord>()
            && kill_stale_group(&group) == StaleGroup::Killed
        {
            tracing::warn!(run_id, group = %record, "stopped a command left running by a killed run");
            s.emit(Event::Warning {
                message: "a command of the run that was killed was still running; it was stopped"
                    .into(),
            });
        }
        s.store().set_command_group(run_id, None)?;
    }
    Ok(())
}

/// Records the files already in the project before samocoder's first write (its own
/// `.gitignore`, or what a `--force` directory held), so they are not taken for user edits.
/// Returns true when it recorded them now. Not for an adopted repository, whose record of the
/// tree is git's (a large repository is never hashed whole).
fn record_baseline(s: &Session<'_>) -> Result<bool, AgentError> {
    if s.adopted.is_some() || s.store().has_files(s.project.id)? {
        return Ok(false);
    }
    let snap = snapshot::TreeSnapshot::take(s.store(), s.project.id, &s.ws)?;
    let project_id = s.project.id;
    s.store().transaction(|db| snap.apply(db, project_id))?;
    Ok(true)
}

/// Records a file samocoder wrote outside a tool call (so the next run does not take it for
/// the user's edit).
fn record_own_file(s: &Session<'_>, rel: &str) -> Result<(), AgentError> {
    let d = s.ws.digest(&s.ws.resolve(rel)?)?;
    let project_id = s.project.id;
    s.store()
        .transaction(|db| db.upsert_file(project_id, rel, &d.sha256, d.size))?;
    Ok(())
}

/// The error for the user; provider and store problems get the way back in, since the state
/// of the run is saved (budget and interrupt messages already say it).
fn with_resume_hint(e: &AgentError, deps: &AgentDeps, project_id: i64) -> String {
    let text = e.to_string();
    if text.contains("samocoder resume") {
        return text;
    }
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
