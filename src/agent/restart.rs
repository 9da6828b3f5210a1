//! `resume --from-task N`: go back to the checkpoint before task N on a new git branch and do
//! tasks N.. again, keeping every earlier commit, task and step (nothing is deleted).
//!
//! The restart is a new iteration holding the whole plan again: tasks before N are copied as
//! done (with their checkpoints), tasks N.. as pending. So the latest iteration always numbers
//! its tasks 1 to the plan's size, and a later `--from-task` works on it like on the first.

use serde_json::json;

use super::error::AgentError;
use crate::protocol::{PlanSaved, RestartOf, StepKind, StepPayload};
use crate::store::{NewStep, NewTask, Project, Store, Task, TaskStatus};
use crate::workspace::{CommitId, Workspace};

/// What a restart did, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    pub branch: String,
    pub from_commit: String,
    /// Tasks to do again.
    pub tasks: usize,
    /// The user's uncommitted changes, kept as this commit on the branch they were on.
    pub kept_changes: Option<String>,
}

/// The tasks of a project's latest iteration, in order.
pub fn latest_tasks(tasks: &[Task]) -> Vec<&Task> {
    let latest = tasks.iter().map(|t| t.iteration).max().unwrap_or(0);
    let mut out: Vec<&Task> = tasks.iter().filter(|t| t.iteration == latest).collect();
    out.sort_by_key(|t| t.ordinal);
    out
}

/// The checkpoint an iteration started from: what a restart recorded for it, else the last
/// checkpoint of the iterations before it.
pub(super) fn base_of(
    store: &Store,
    project: &Project,
    tasks: &[Task],
    iteration: i64,
) -> Result<Option<String>, AgentError> {
    for step in store.steps_of_kind(project.id, StepKind::Plan)? {
        if let StepPayload::Plan(PlanSaved {
            iteration: i,
            restart: Some(r),
            ..
        }) = step.payload
            && i == iteration
        {
            return Ok(r.base);
        }
    }
    let mut earlier: Vec<&Task> = tasks.iter().filter(|t| t.iteration < iteration).collect();
    earlier.sort_by_key(|t| (t.iteration, t.ordinal));
    Ok(earlier
        .iter()
        .rev()
        .filter(|t| t.status == TaskStatus::Done)
        .find_map(|t| t.checkpoint.clone()))
}

/// A checked `--from-task N`: what to go back to. Made before the run starts, so a bad `N`
/// changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartPlan {
    n: u32,
    iteration: i64,
    before: String,
    base: Option<String>,
}

/// Checks `--from-task n` against the project's latest plan.
pub fn plan_restart(store: &Store, project: &Project, n: u32) -> Result<RestartPlan, AgentError> {
    let bad = AgentError::Usage;
    let tasks = store.list_tasks(project.id)?;
    let current = latest_tasks(&tasks);
    let Some(iteration) = current.first().map(|t| t.iteration) else {
        return Err(bad(format!(
            "{} has no tasks yet; nothing to restart",
            project.name
        )));
    };
    if n == 0 || n as usize > current.len() {
        return Err(bad(format!(
            "--from-task {n}: {} has tasks 1 to {} in its latest plan",
            project.name,
            current.len()
        )));
    }
    let before = if n == 1 {
        base_of(store, project, &tasks, iteration)?.ok_or_else(|| {
            bad("--from-task 1: there is no checkpoint before the first task to go back to; start a new project instead".into())
        })?
    } else {
        let prev = current[n as usize - 2];
        match (&prev.status, &prev.checkpoint) {
            (TaskStatus::Done, Some(c)) => c.clone(),
            _ => {
                return Err(bad(format!(
                    "--from-task {n}: task {} is not done yet, so there is no checkpoint after it; run `samocoder resume {}` or go back further",
                    n - 1,
                    project.name
                )));
            }
        }
    };
    let base = if n == 1 {
        Some(before.clone())
    } else {
        base_of(store, project, &tasks, iteration)?
    };
    Ok(RestartPlan {
        n,
        iteration,
        before,
        base,
    })
}

/// Restores the project to the checkpoint that precedes task `n` of its latest iteration and
/// queues the plan again as a new iteration from task `n`. Unfinished originals are closed as
/// failed with a note (they stay in the history).
pub(super) fn restart_from_task(
    session: &mut super::session::Session<'_>,
    plan: &RestartPlan,
) -> Result<Restart, AgentError> {
    let store = session.store();
    let project = &session.project;
    let run_id = session.run_id;
    let RestartPlan {
        n,
        iteration,
        before,
        base,
    } = plan.clone();
    let tasks = store.list_tasks(project.id)?;
    let current: Vec<&Task> = latest_tasks(&tasks)
        .into_iter()
        .filter(|t| t.iteration == iteration)
        .collect();
    let ws = Workspace::open(&project.dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let target = CommitId::new(before.clone());
    let adopted = session.adopted.clone();
    // Two restarts in the same second get -2, -3, ...
    let mut branch = format!("samocoder/from-task-{n}-{stamp}");
    let mut suffix = 1;
    let kept = loop {
        let attempt = match &adopted {
            // samocoder's own unfinished work is kept on its branch; the user's uncommitted
            // changes are carried along, as always in an adopted repository.
            Some(a) => ws.create_branch(&branch, &target).and_then(|()| {
                let kept = ws
                    .commit_own_changes(
                        &format!("Work in progress before restoring {}", target.short()),
                        &a.keep_out,
                    )?
                    .commit;
                ws.switch_to(&crate::workspace::Head::Branch(branch.clone()))?;
                Ok(kept)
            }),
            None => ws.restore_to(&target, &branch, true),
        };
        match attempt {
            Err(crate::workspace::WorkspaceError::BranchExists(_)) if suffix < 100 => {
                suffix += 1;
                branch = format!("samocoder/from-task-{n}-{stamp}-{suffix}");
            }
            other => break other?,
        }
    };
    if adopted.is_some() {
        store.set_adoption_branch(project.id, &branch)?;
    }
    let snap = match adopted {
        None => Some(super::snapshot::TreeSnapshot::take(store, project.id, &ws)?),
        Some(_) => None,
    };
    let next = iteration + 1;
    let redo = current.iter().filter(|t| t.ordinal >= i64::from(n)).count();
    store.transaction(|db| {
        for t in &current {
            let again = t.ordinal >= i64::from(n);
            if again && t.status != TaskStatus::Done {
                db.set_task_status(
                    t.id,
                    TaskStatus::Failed,
                    Some(&format!(
                        "superseded: redone after `resume --from-task {n}`"
                    )),
                )?;
            }
            let copy = db.insert_task(&NewTask {
                project_id: project.id,
                iteration: next,
                ordinal: t.ordinal,
                title: t.title.clone(),
                goal: t.goal.clone(),
                files: t.files.clone(),
                verify: t.verify.clone(),
            })?;
            if !again {
                db.set_task_status(copy.id, TaskStatus::Done, None)?;
                if let Some(c) = &t.checkpoint {
                    db.set_task_checkpoint(copy.id, c)?;
                }
            }
        }
        db.insert_step(&NewStep {
            project_id: project.id,
            run_id,
            task_id: None,
            thread: "plan-result".into(),
            payload: StepPayload::Plan(PlanSaved {
                iteration: next,
                change_request: None,
                restart: Some(RestartOf {
                    iteration,
                    from_task: n,
                    base,
                }),
            }),
        })?;
        if let Some(snap) = &snap {
            snap.apply(db, project.id)?;
        }
        db.append_audit(
            Some(project.id),
            "project.restart",
            &json!({"from_task": n, "branch": branch, "commit": before,
                    "kept_changes": kept.as_ref().map(|c| c.as_str().to_string())}),
        )?;
        Ok(())
    })?;
    if let Some(a) = session.adopted.as_mut() {
        a.row.branch = branch.clone();
    }
    Ok(Restart {
        branch,
        from_commit: before,
        tasks: redo,
        kept_changes: kept.map(|c| c.as_str().to_string()),
    })
}
