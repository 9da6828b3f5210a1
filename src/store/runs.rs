//! Runs: one row per invocation of a command that does work (`new`, `resume`, `ask`, ...).

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::text_enum::text_enum;
use super::{Db, Result, StoreError};
use crate::exit::Exit;

text_enum! {
    /// How a run ended (`running` while it goes on, or when it died without saying).
    pub enum RunStatus as "run status" {
        Running = "running",
        Ok = "ok",
        Failed = "failed",
        UsageError = "usage_error",
        BudgetExhausted = "budget_exhausted",
        NoProvider = "no_provider",
        Interrupted = "interrupted",
    }
}

impl RunStatus {
    /// The status that matches a process exit.
    pub fn from_exit(exit: Exit) -> RunStatus {
        match exit {
            Exit::Ok => RunStatus::Ok,
            Exit::Failure => RunStatus::Failed,
            Exit::Usage => RunStatus::UsageError,
            Exit::Budget => RunStatus::BudgetExhausted,
            Exit::NoProvider => RunStatus::NoProvider,
            Exit::Interrupted => RunStatus::Interrupted,
        }
    }
}

/// What `start_run` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// `None` for commands without a project (`ask`), or until `new` has created it.
    pub project_id: Option<i64>,
    /// The subcommand: `new`, `resume`, `ask`, ...
    pub command: String,
    pub max_cost_usd: Option<f64>,
    pub pid: u32,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub id: i64,
    pub project_id: Option<i64>,
    pub command: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub status: RunStatus,
    pub exit_code: Option<i32>,
    pub max_cost_usd: Option<f64>,
    pub pid: u32,
}

const COLUMNS: &str =
    "id, project_id, command, started_at, finished_at, status, exit_code, max_cost_usd, pid";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    Ok(Run {
        id: r.get(0)?,
        project_id: r.get(1)?,
        command: r.get(2)?,
        started_at: r.get(3)?,
        finished_at: r.get(4)?,
        status: r.get(5)?,
        exit_code: r.get(6)?,
        max_cost_usd: r.get(7)?,
        pid: r.get(8)?,
    })
}

impl Db<'_> {
    pub fn start_run(&self, new: &NewRun) -> Result<Run> {
        self.conn.execute(
            "INSERT INTO runs (project_id, command, started_at, max_cost_usd, pid)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                new.project_id,
                new.command,
                self.now(),
                new.max_cost_usd,
                new.pid
            ],
        )?;
        self.get_run(self.conn.last_insert_rowid())
    }

    pub fn finish_run(&self, id: i64, status: RunStatus, exit_code: Option<i32>) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE runs SET status = ?1, exit_code = ?2, finished_at = ?3 WHERE id = ?4",
            params![status, exit_code, self.now(), id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "run", id });
        }
        Ok(())
    }

    /// Ties a run to the project it created (`new` starts its run before the project exists).
    pub fn set_run_project(&self, id: i64, project_id: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE runs SET project_id = ?1 WHERE id = ?2",
            params![project_id, id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "run", id });
        }
        Ok(())
    }

    pub fn get_run(&self, id: i64) -> Result<Run> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound { what: "run", id })
    }

    /// A project's runs, oldest first.
    pub fn list_runs(&self, project_id: i64) -> Result<Vec<Run>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM runs WHERE project_id = ?1 ORDER BY started_at, id"
        ))?;
        let rows = stmt.query_map([project_id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records (or clears, with `None`) the process group of the command `run` is running.
    pub fn set_command_group(&self, run: i64, group: Option<&str>) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET command_group = ?1 WHERE id = ?2",
            params![group, run],
        )?;
        Ok(())
    }

    /// Runs of a project that left a command's process group recorded (they did not clear
    /// it: samocoder died while the command ran), as (run id, record).
    pub fn command_groups(&self, project_id: i64) -> Result<Vec<(i64, String)>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, command_group FROM runs
             WHERE project_id = ?1 AND command_group IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([project_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
