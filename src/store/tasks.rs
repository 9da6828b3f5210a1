//! Tasks: the plan's units of work, per feature iteration, in order.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::text_enum::text_enum;
use super::{Db, Result, StoreError};

text_enum! {
    pub enum TaskStatus as "task status" {
        Pending = "pending",
        InProgress = "in_progress",
        Done = "done",
        Failed = "failed",
    }
}

/// What `insert_task` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub project_id: i64,
    /// Feature iteration, 1-based (the first build is 1; each later feature request adds one).
    pub iteration: i64,
    /// Position within the iteration.
    pub ordinal: i64,
    pub title: String,
    pub goal: String,
    /// Files the task expects to touch (project-relative).
    pub files: Vec<String>,
    /// How to check it is done (a command or a description).
    pub verify: Option<String>,
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    pub id: i64,
    pub project_id: i64,
    pub iteration: i64,
    pub ordinal: i64,
    pub title: String,
    pub goal: String,
    pub files: Vec<String>,
    pub verify: Option<String>,
    pub status: TaskStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// The git commit made when the task was done.
    pub checkpoint: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, project_id, iteration, ordinal, title, goal, files, verify, status, \
                       attempts, last_error, checkpoint, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    let files: String = r.get(6)?;
    Ok(Task {
        id: r.get(0)?,
        project_id: r.get(1)?,
        iteration: r.get(2)?,
        ordinal: r.get(3)?,
        title: r.get(4)?,
        goal: r.get(5)?,
        files: serde_json::from_str(&files).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
        })?,
        verify: r.get(7)?,
        status: r.get(8)?,
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        checkpoint: r.get(11)?,
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
    })
}

impl Db<'_> {
    pub fn insert_task(&self, new: &NewTask) -> Result<Task> {
        let now = self.now();
        self.conn.execute(
            "INSERT INTO tasks (project_id, iteration, ordinal, title, goal, files, verify,
                                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![
                new.project_id,
                new.iteration,
                new.ordinal,
                new.title,
                new.goal,
                serde_json::to_string(&new.files)?,
                new.verify,
                now
            ],
        )?;
        self.get_task(self.conn.last_insert_rowid())
    }

    pub fn get_task(&self, id: i64) -> Result<Task> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound { what: "task", id })
    }

    /// A project's tasks in plan order.
    pub fn list_tasks(&self, project_id: i64) -> Result<Vec<Task>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM tasks WHERE project_id = ?1 ORDER BY iteration, ordinal"
        ))?;
        let rows = stmt.query_map([project_id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The first task not yet done or failed: the one to work on (or carry on with).
    pub fn next_open_task(&self, project_id: i64) -> Result<Option<Task>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM tasks
                     WHERE project_id = ?1 AND status IN ('pending', 'in_progress')
                     ORDER BY iteration, ordinal LIMIT 1"
                ),
                [project_id],
                from_row,
            )
            .optional()?)
    }

    /// The latest feature iteration of a project (0 when it has no tasks yet).
    pub fn current_iteration(&self, project_id: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(iteration), 0) FROM tasks WHERE project_id = ?1",
            [project_id],
            |r| r.get(0),
        )?)
    }

    /// Marks a task in progress and counts one more attempt.
    pub fn start_task_attempt(&self, id: i64) -> Result<Task> {
        let n = self.conn.execute(
            "UPDATE tasks SET status = 'in_progress', attempts = attempts + 1, updated_at = ?1
             WHERE id = ?2",
            params![self.now(), id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "task", id });
        }
        self.get_task(id)
    }

    /// Sets a task's status; `last_error` replaces the stored one (`None` clears it).
    pub fn set_task_status(
        &self,
        id: i64,
        status: TaskStatus,
        last_error: Option<&str>,
    ) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE tasks SET status = ?1, last_error = ?2, updated_at = ?3 WHERE id = ?4",
            params![status, last_error, self.now(), id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "task", id });
        }
        Ok(())
    }

    /// Records the git commit that checkpoints a task.
    pub fn set_task_checkpoint(&self, id: i64, commit: &str) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE tasks SET checkpoint = ?1, updated_at = ?2 WHERE id = ?3",
            params![commit, self.now(), id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "task", id });
        }
        Ok(())
    }
}
