//! Steps: the agent's persisted state. Every model response and tool call (with its result)
//! is one step, numbered by a per-project sequence so `resume` can replay them in order.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::text_enum::text_enum;
use super::{Db, Result};

text_enum! {
    /// What a step records.
    pub enum StepKind as "step kind" {
        Spec = "spec",
        Architecture = "architecture",
        Plan = "plan",
        ModelTurn = "model_turn",
        ToolCall = "tool_call",
        Verify = "verify",
        Fix = "fix",
        Checkpoint = "checkpoint",
        UserInput = "user_input",
    }
}

/// What `insert_step` needs; `seq` is assigned by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStep {
    pub project_id: i64,
    pub run_id: i64,
    pub task_id: Option<i64>,
    pub kind: StepKind,
    pub payload: serde_json::Value,
}

/// A step as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub id: i64,
    pub project_id: i64,
    pub run_id: i64,
    pub task_id: Option<i64>,
    pub seq: i64,
    pub kind: StepKind,
    pub payload: serde_json::Value,
    pub created_at: i64,
}

const COLUMNS: &str = "id, project_id, run_id, task_id, seq, kind, payload, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Step> {
    let payload: String = r.get(6)?;
    Ok(Step {
        id: r.get(0)?,
        project_id: r.get(1)?,
        run_id: r.get(2)?,
        task_id: r.get(3)?,
        seq: r.get(4)?,
        kind: r.get(5)?,
        payload: serde_json::from_str(&payload).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
        })?,
        created_at: r.get(7)?,
    })
}

impl Db<'_> {
    /// Appends a step with the project's next sequence number (computed in the same statement,
    /// so two writers cannot take the same number).
    pub fn insert_step(&self, new: &NewStep) -> Result<Step> {
        self.conn.execute(
            "INSERT INTO steps (project_id, run_id, task_id, seq, kind, payload, created_at)
             VALUES (?1, ?2, ?3,
                     (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE project_id = ?1),
                     ?4, ?5, ?6)",
            params![
                new.project_id,
                new.run_id,
                new.task_id,
                new.kind,
                serde_json::to_string(&new.payload)?,
                self.now()
            ],
        )?;
        let id = self.conn.last_insert_rowid();
        Ok(self.conn.query_row(
            &format!("SELECT {COLUMNS} FROM steps WHERE id = ?1"),
            [id],
            from_row,
        )?)
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
        let rows = stmt.query_map(params![project_id, after_seq, limit], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The steps of one conversation thread (the `thread` field of their payload), in order.
    pub fn thread_steps(&self, project_id: i64, thread: &str) -> Result<Vec<Step>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM steps
             WHERE project_id = ?1 AND json_extract(payload, '$.thread') = ?2 ORDER BY seq"
        ))?;
        let rows = stmt.query_map(params![project_id, thread], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM steps WHERE project_id = ?1 ORDER BY seq DESC LIMIT 1"
                ),
                [project_id],
                from_row,
            )
            .optional()?)
    }
}
