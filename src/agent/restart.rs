//! `resume --from-task N`: go back to the checkpoint before task N on a new git branch and do
//! tasks N.. again, keeping every earlier commit, task and step (nothing is deleted).

use serde_json::json;

use super::error::AgentError;
use crate::store::{NewTask, Project, Store, TaskStatus};
use crate::workspace::{CommitId, Workspace};

/// What a restart did, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    pub branch: String,
    pub from_commit: String,
    pub tasks: usize,
}

/// Restores the project to the checkpoint that precedes task `n` of its latest iteration and
/// queues copies of tasks `n..` as a new iteration. Unfinished originals are closed as failed
/// with a note (they stay in the history).
pub fn restart_from_task(store: &Store, project: &Project, n: u32) -> Result<Restart, AgentError> {
    let bad = AgentError::Usage;
    let tasks = store.list_tasks(project.id)?;
    let iteration = tasks.iter().map(|t| t.iteration).max().ok_or_else(|| {
        bad(format!(
            "{} has no tasks yet; nothing to restart",
            project.name
        ))
    })?;
    let current: Vec<_> = tasks.iter().filter(|t| t.iteration == iteration).collect();
    if n == 0 || n as usize > current.len() {
        return Err(bad(format!(
            "--from-task {n}: {} has tasks 1 to {} in its latest plan",
            project.name,
            current.len()
        )));
    }
    // The checkpoint to go back to: the task before N, or the last task of an earlier iteration.
    let before = tasks
        .iter()
        .filter(|t| t.iteration < iteration || (t.iteration == iteration && t.ordinal < i64::from(n)))
        .filter(|t| t.status == TaskStatus::Done)
        .filter_map(|t| t.checkpoint.clone())
        .next_back()
        .ok_or_else(|| bad(format!("--from-task {n}: there is no checkpoint before task {n} to go back to; start a new project instead")))?;
    let ws = Workspace::open(&project.dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let branch = format!("samocoder/from-task-{n}-{stamp}");
    ws.restore_to(&CommitId::new(before.clone()), &branch, true)?;
    let snap = super::snapshot::TreeSnapshot::take(store, project.id, &ws)?;
    let redo: Vec<_> = current
        .iter()
        .filter(|t| t.ordinal >= i64::from(n))
        .collect();
    store.transaction(|db| {
        for t in &redo {
            if t.status != TaskStatus::Done {
                db.set_task_status(
                    t.id,
                    TaskStatus::Failed,
                    Some(&format!(
                        "superseded: redone after `resume --from-task {n}`"
                    )),
                )?;
            }
            db.insert_task(&NewTask {
                project_id: project.id,
                iteration: iteration + 1,
                ordinal: t.ordinal,
                title: t.title.clone(),
                goal: t.goal.clone(),
                files: t.files.clone(),
                verify: t.verify.clone(),
            })?;
        }
        snap.apply(db, project.id)?;
        db.append_audit(
            Some(project.id),
            "project.restart",
            &json!({"from_task": n, "branch": branch, "commit": before}),
        )?;
        Ok(())
    })?;
    Ok(Restart {
        branch,
        from_commit: before,
        tasks: redo.len(),
    })
}
