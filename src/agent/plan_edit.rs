//! Applying a plan the user edited (`samocoder plan --edit` / `--apply`). The file is checked
//! against the plan it was written from ([`super::plan_file::PlanHeader`]); the tasks it holds
//! replace the open tasks of the latest plan:
//! - when no open task has been started, in place (the same iteration, the unstarted tasks
//!   replaced);
//! - otherwise as a new iteration, like `resume --from-task`: the done tasks copied as done
//!   (with their checkpoints), the edited tasks after them, the old open tasks closed as
//!   superseded. Nothing that was done or recorded is deleted.
//!
//! `resume` then carries out the edited plan.

use serde_json::json;

use super::error::AgentError;
use super::plan_file::PlanFile;
use super::restart::{base_of, latest_tasks};
use super::roles::{MAX_TASKS, PlanAnswer};
use crate::protocol::{PlanSaved, RestartOf, StepPayload};
use crate::provenance::{PlanRecord, Record};
use crate::store::{NewStep, NewTask, Project, Store, Task, TaskStatus};

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEdit {
    /// The iteration that now holds the plan.
    pub iteration: i64,
    /// Open tasks in it.
    pub open: usize,
    /// False when the file held the plan as it was.
    pub changed: bool,
    /// True when the tasks were replaced in place (nothing had been started).
    pub in_place: bool,
}

fn started(t: &Task) -> bool {
    t.status != TaskStatus::Pending || t.attempts > 0 || t.checkpoint.is_some()
}

/// Replaces the open tasks of `project`'s latest plan with `file`'s. `run_id` is the run that
/// records the change.
pub fn apply_plan(
    store: &Store,
    project: &Project,
    file: &PlanFile,
    run_id: i64,
) -> Result<PlanEdit, AgentError> {
    let all = store.list_tasks(project.id)?;
    let current = latest_tasks(&all);
    let Some(iteration) = current.first().map(|t| t.iteration) else {
        return Err(AgentError::Usage(format!(
            "{} has no plan yet; make one with `samocoder resume {} --plan-only`",
            project.name, project.name
        )));
    };
    let done: Vec<&Task> = current
        .iter()
        .copied()
        .filter(|t| t.status == TaskStatus::Done)
        .collect();
    let open: Vec<&Task> = current
        .iter()
        .copied()
        .filter(|t| t.status != TaskStatus::Done)
        .collect();
    if let Some(h) = &file.header
        && (!h.project.eq_ignore_ascii_case(&project.name)
            || h.iteration != iteration
            || h.done != done.len())
    {
        return Err(AgentError::Usage(format!(
            "this file was written from another plan (it says {}, iteration {}, {} done; {} now has iteration {iteration}, {} done); the plan was not changed: run `samocoder plan {} --edit` to edit the plan as it is now",
            h.project,
            h.iteration,
            h.done,
            project.name,
            done.len(),
            project.name
        )));
    }
    let answer = PlanAnswer {
        tasks: file.tasks.clone(),
    };
    answer
        .validate()
        .map_err(|e| AgentError::Usage(e.replace("submit_plan: ", "")))?;
    if done.len() + file.tasks.len() > MAX_TASKS {
        return Err(AgentError::Usage(format!(
            "{} done and {} open tasks is too many; at most {MAX_TASKS}",
            done.len(),
            file.tasks.len()
        )));
    }
    let same = open.len() == file.tasks.len()
        && open.iter().zip(&file.tasks).all(|(t, f)| {
            t.title.trim() == f.title.trim()
                && t.goal.trim() == f.goal.trim()
                && t.files == f.files
                && t.verify.as_deref().map(str::trim) == f.verify.as_deref().map(str::trim)
        });
    if same {
        return Ok(PlanEdit {
            iteration,
            open: open.len(),
            changed: false,
            in_place: true,
        });
    }
    let in_place = !open.iter().any(|t| started(t));
    let target = if in_place { iteration } else { iteration + 1 };
    let base = if in_place {
        None
    } else {
        base_of(store, project, &all, iteration)?
    };
    let record = Record::Plan(PlanRecord {
        iteration: target,
        tasks: file.tasks.iter().map(|t| t.title.clone()).collect(),
        edited: true,
        change_request: None,
    });
    store.transaction(|db| {
        let first_new = if in_place {
            db.delete_unstarted_tasks(project.id, iteration)?;
            done.iter().map(|t| t.ordinal).max().unwrap_or(0) + 1
        } else {
            for t in &open {
                db.set_task_status(
                    t.id,
                    TaskStatus::Failed,
                    Some("superseded: replaced by an edited plan"),
                )?;
            }
            for (i, t) in done.iter().enumerate() {
                let copy = db.insert_task(&NewTask {
                    project_id: project.id,
                    iteration: target,
                    ordinal: i as i64 + 1,
                    title: t.title.clone(),
                    goal: t.goal.clone(),
                    files: t.files.clone(),
                    verify: t.verify.clone(),
                })?;
                db.set_task_status(copy.id, TaskStatus::Done, None)?;
                if let Some(c) = &t.checkpoint {
                    db.set_task_checkpoint(copy.id, c)?;
                }
            }
            done.len() as i64 + 1
        };
        for (i, t) in file.tasks.iter().enumerate() {
            db.insert_task(&NewTask {
                project_id: project.id,
                iteration: target,
                ordinal: first_new + i as i64,
                title: t.title.trim().to_string(),
                goal: t.goal.trim().to_string(),
                files: t.files.clone(),
                verify: t.verify.clone(),
            })?;
        }
        db.insert_step(&NewStep {
            project_id: project.id,
            run_id,
            task_id: None,
            thread: "plan-result".into(),
            payload: StepPayload::Plan(PlanSaved {
                iteration: target,
                change_request: None,
                restart: (!in_place).then(|| RestartOf {
                    iteration,
                    from_task: first_new as u32,
                    base: base.clone(),
                }),
            }),
        })?;
        db.append_provenance(project, Some(run_id), None, &record)?;
        db.append_audit(
            Some(project.id),
            "plan.edit",
            &json!({"iteration": target, "in_place": in_place,
                    "before": open.iter().map(|t| &t.title).collect::<Vec<_>>(),
                    "after": file.tasks.iter().map(|t| &t.title).collect::<Vec<_>>()}),
        )?;
        Ok(())
    })?;
    Ok(PlanEdit {
        iteration: target,
        open: file.tasks.len(),
        changed: true,
        in_place,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::plan_file::{parse, render};
    use crate::store::NewProject;

    fn setup() -> (tempfile::TempDir, Store, Project, i64) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("db.sqlite"),
            std::sync::Arc::new(crate::clock::SystemClock),
        )
        .unwrap();
        let project = store
            .create_project(&NewProject {
                name: "p".into(),
                dir: dir.path().to_path_buf(),
                description: "d".into(),
                template: None,
                budget_usd: None,
            })
            .unwrap();
        for (i, t) in ["One", "Two", "Three"].iter().enumerate() {
            store
                .insert_task(&NewTask {
                    project_id: project.id,
                    iteration: 1,
                    ordinal: i as i64 + 1,
                    title: t.to_string(),
                    goal: format!("do {t}"),
                    files: vec![],
                    verify: None,
                })
                .unwrap();
        }
        let run = store
            .start_run(&crate::store::NewRun {
                project_id: Some(project.id),
                command: "plan".into(),
                max_cost_usd: None,
                pid: 1,
            })
            .unwrap();
        (dir, store, project, run.id)
    }

    fn current(store: &Store, p: &Project) -> Vec<Task> {
        latest_tasks(&store.list_tasks(p.id).unwrap())
            .into_iter()
            .cloned()
            .collect()
    }

    fn file_of(store: &Store, p: &Project) -> String {
        let tasks = store.list_tasks(p.id).unwrap();
        render(&p.name, &latest_tasks(&tasks))
    }

    #[test]
    fn an_unstarted_plan_is_edited_in_place() {
        let (_d, store, p, run) = setup();
        let text = file_of(&store, &p).replace(
            "## Two\ngoal: do Two\n",
            "## Two, better\ngoal: do it well\n",
        );
        let e = apply_plan(&store, &p, &parse(&text).unwrap(), run).unwrap();
        assert_eq!(
            e,
            PlanEdit {
                iteration: 1,
                open: 3,
                changed: true,
                in_place: true
            }
        );
        let titles: Vec<String> = current(&store, &p)
            .iter()
            .map(|t| t.title.clone())
            .collect();
        assert_eq!(titles, ["One", "Two, better", "Three"]);
        let same = file_of(&store, &p);
        let e = apply_plan(&store, &p, &parse(&same).unwrap(), run).unwrap();
        assert!(!e.changed);
    }

    #[test]
    fn a_started_plan_becomes_a_new_iteration_and_keeps_what_was_done() {
        let (_d, store, p, run) = setup();
        let tasks = current(&store, &p);
        store
            .set_task_status(tasks[0].id, TaskStatus::Done, None)
            .unwrap();
        store.set_task_checkpoint(tasks[0].id, "abc").unwrap();
        store.start_task_attempt(tasks[1].id).unwrap();
        let text = file_of(&store, &p);
        assert!(text.contains("#   done 1. One"), "{text}");
        let text = text.replace("## Three\ngoal: do Three\n", "");
        let e = apply_plan(&store, &p, &parse(&text).unwrap(), run).unwrap();
        assert_eq!(
            e,
            PlanEdit {
                iteration: 2,
                open: 1,
                changed: true,
                in_place: false
            }
        );
        let now = current(&store, &p);
        let shown: Vec<(i64, String, TaskStatus)> = now
            .iter()
            .map(|t| (t.ordinal, t.title.clone(), t.status))
            .collect();
        assert_eq!(
            shown,
            [
                (1, "One".into(), TaskStatus::Done),
                (2, "Two".into(), TaskStatus::Pending)
            ]
        );
        assert_eq!(now[0].checkpoint.as_deref(), Some("abc"));
        let old = store.get_task(tasks[1].id).unwrap();
        assert_eq!(old.status, TaskStatus::Failed);
        assert!(old.last_error.unwrap().starts_with("superseded"));
        // The plan step says where the iteration started from, for a later --from-task 1.
        let plans = store
            .steps_of_kind(p.id, crate::protocol::StepKind::Plan)
            .unwrap();
        assert!(matches!(
            &plans.last().unwrap().payload,
            StepPayload::Plan(PlanSaved {
                iteration: 2,
                restart: Some(RestartOf {
                    iteration: 1,
                    from_task: 2,
                    ..
                }),
                ..
            })
        ));
    }

    #[test]
    fn a_file_from_another_plan_is_refused_and_nothing_changes() {
        let (_d, store, p, run) = setup();
        let text = file_of(&store, &p);
        let tasks = current(&store, &p);
        store
            .set_task_status(tasks[0].id, TaskStatus::Done, None)
            .unwrap();
        let before = store.list_tasks(p.id).unwrap();
        let err = apply_plan(&store, &p, &parse(&text).unwrap(), run).unwrap_err();
        assert!(
            err.to_string().contains("written from another plan"),
            "{err}"
        );
        assert_eq!(store.list_tasks(p.id).unwrap(), before);
    }
}
