//! Steps: the agent's persisted state. Every model answer and tool result is one step of a
//! conversation thread, numbered by a per-project sequence so `resume` can rebuild each thread
//! in order. The payload is a typed [`StepPayload`] stored as `kind` + JSON `payload`.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Db, Result, StoreError};
use crate::protocol::{StepKind, StepPayload};

/// What `insert_step` needs; `seq` is assigned by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStep {
    pub project_id: i64,
    pub run_id: i64,
    pub task_id: Option<i64>,
    /// The conversation: `spec`, `architecture`, `plan:2`, `task:17`, a writer's thread, or
    /// `*-result` for the step that applied a planning answer.
    pub thread: String,
    pub payload: StepPayload,
}

/// A step as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub id: i64,
    pub project_id: i64,
    pub run_id: i64,
    pub task_id: Option<i64>,
    pub seq: i64,
    pub thread: String,
    pub payload: StepPayload,
    pub created_at: i64,
}

impl Step {
    pub fn kind(&self) -> StepKind {
        self.payload.kind()
    }
}

impl rusqlite::ToSql for StepKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

const COLUMNS: &str = "id, project_id, run_id, task_id, seq, thread, kind, payload, created_at";

fn from_row(r: &Row<'_>) -> Result<Step> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(6)?;
    let text: String = r.get(7)?;
    let unreadable = |reason: String| StoreError::UnreadableStep { id, reason };
    let kind =
        StepKind::parse(&kind).ok_or_else(|| unreadable(format!("unknown kind {kind:?}")))?;
    let payload = StepPayload::from_columns(kind, &text).map_err(|e| unreadable(e.to_string()))?;
    Ok(Step {
        id,
        project_id: r.get(1)?,
        run_id: r.get(2)?,
        task_id: r.get(3)?,
        seq: r.get(4)?,
        thread: r.get(5)?,
        payload,
        created_at: r.get(8)?,
    })
}

fn collect(stmt: &mut rusqlite::Statement<'_>, params: impl rusqlite::Params) -> Result<Vec<Step>> {
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(from_row(r)?);
    }
    Ok(out)
}

impl Db<'_> {
    /// Appends a step with the project's next sequence number (computed in the same statement,
    /// so two writers cannot take the same number).
    pub fn insert_step(&self, new: &NewStep) -> Result<Step> {
        let (kind, text) = new.payload.to_columns()?;
        let now = self.now();
        let (id, seq): (i64, i64) = self.conn.query_row(
            "INSERT INTO steps (project_id, run_id, task_id, seq, thread, kind, payload, created_at)
             VALUES (?1, ?2, ?3,
                     (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE project_id = ?1),
                     ?4, ?5, ?6, ?7)
             RETURNING id, seq",
            params![
                new.project_id,
                new.run_id,
                new.task_id,
                new.thread,
                kind,
                text,
                now
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(Step {
            id,
            project_id: new.project_id,
            run_id: new.run_id,
            task_id: new.task_id,
            seq,
            thread: new.thread.clone(),
            payload: new.payload.clone(),
            created_at: now,
        })
    }

    /// The sequence number the next step of this project will get.
    pub fn next_seq(&self, project_id: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE project_id = ?1",
            [project_id],
            |r| r.get(0),
        )?)
    }

    /// Up to `limit` steps with `seq > after_seq`, in order (page with the last seq seen).
    pub fn list_steps(&self, project_id: i64, after_seq: i64, limit: u32) -> Result<Vec<Step>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM steps WHERE project_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3"
        ))?;
        collect(&mut stmt, params![project_id, after_seq, limit])
    }

    /// The steps of one conversation thread, in order (an index read: the cost does not grow
    /// with the rest of the project's history).
    pub fn thread_steps(&self, project_id: i64, thread: &str) -> Result<Vec<Step>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM steps WHERE project_id = ?1 AND thread = ?2 ORDER BY seq"
        ))?;
        collect(&mut stmt, params![project_id, thread])
    }

    /// Whether a thread has any step.
    pub fn thread_exists(&self, project_id: i64, thread: &str) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM steps WHERE project_id = ?1 AND thread = ?2 LIMIT 1")?
            .exists(params![project_id, thread])?)
    }

    /// The steps of one kind, in order (e.g. the checkpoints, for the done tasks' summaries).
    pub fn steps_of_kind(&self, project_id: i64, kind: StepKind) -> Result<Vec<Step>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM steps WHERE project_id = ?1 AND kind = ?2 ORDER BY seq"
        ))?;
        collect(&mut stmt, params![project_id, kind])
    }

    /// How many steps of `kind` a project has.
    pub fn count_steps(&self, project_id: i64, kind: StepKind) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM steps WHERE project_id = ?1 AND kind = ?2",
            params![project_id, kind],
            |r| r.get(0),
        )?)
    }

    pub fn last_step(&self, project_id: i64) -> Result<Option<Step>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM steps WHERE project_id = ?1 ORDER BY seq DESC LIMIT 1"
                ),
                [project_id],
                |r| Ok(from_row(r)),
            )
            .optional()?
            .transpose()
    }
}
