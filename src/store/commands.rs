//! Commands the agent ran (or was refused), with how they were approved and what they printed.

use rusqlite::{Row, params};
use serde::Serialize;

use super::text_enum::text_enum;
use super::{Db, Result};

/// The most output kept per command, in bytes.
pub const OUTPUT_CAP: usize = 64 * 1024;

text_enum! {
    /// Who let the command run.
    pub enum Approval as "approval" {
        /// The policy allowed it.
        Auto = "auto",
        /// The user said yes.
        User = "user",
        /// Refused (by policy or by the user); it did not run.
        Denied = "denied",
        /// Not run by samocoder; recorded for the log (e.g. replayed).
        Recorded = "recorded",
    }
}

/// What `record_command` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCommand {
    pub project_id: i64,
    pub run_id: Option<i64>,
    pub task_id: Option<i64>,
    pub command: String,
    pub approval: Approval,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: u64,
    /// Combined output; cut to [`OUTPUT_CAP`] bytes when stored.
    pub output: String,
    /// The sandbox it ran in (`SandboxApplied::label`: `workspace-write+network`, `off`, ...).
    pub sandbox: Option<String>,
}

/// A command as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandRecord {
    pub id: i64,
    pub project_id: i64,
    pub run_id: Option<i64>,
    pub task_id: Option<i64>,
    pub command: String,
    pub approval: Approval,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: i64,
    pub output: String,
    pub created_at: i64,
    /// `None` for commands that did not run or were recorded before schema version 3.
    pub sandbox: Option<String>,
}

/// Cuts `output` to at most `cap` bytes (plus a marker line), keeping the first eighth and the
/// rest from the end, where errors usually are. Cuts only at character boundaries.
pub fn cap_output(output: &str, cap: usize) -> String {
    if output.len() <= cap {
        return output.to_string();
    }
    let mut head = cap / 8;
    while !output.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = output.len() - (cap - head);
    while !output.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes cut ...]\n{}",
        &output[..head],
        tail - head,
        &output[tail..]
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<CommandRecord> {
    Ok(CommandRecord {
        id: r.get(0)?,
        project_id: r.get(1)?,
        run_id: r.get(2)?,
        task_id: r.get(3)?,
        command: r.get(4)?,
        approval: r.get(5)?,
        exit_code: r.get(6)?,
        timed_out: r.get(7)?,
        duration_ms: r.get(8)?,
        output: r.get(9)?,
        created_at: r.get(10)?,
        sandbox: r.get(11)?,
    })
}

impl Db<'_> {
    pub fn record_command(&self, new: &NewCommand) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO commands (project_id, run_id, task_id, command, approval, exit_code,
                                   timed_out, duration_ms, output, created_at, sandbox)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                new.project_id,
                new.run_id,
                new.task_id,
                new.command,
                new.approval,
                new.exit_code,
                new.timed_out,
                i64::try_from(new.duration_ms).unwrap_or(i64::MAX),
                cap_output(&new.output, OUTPUT_CAP),
                self.now(),
                new.sandbox
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A project's commands, oldest first.
    pub fn list_commands(&self, project_id: i64) -> Result<Vec<CommandRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, project_id, run_id, task_id, command, approval, exit_code, timed_out,
                    duration_ms, output, created_at, sandbox
             FROM commands WHERE project_id = ?1 ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([project_id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
