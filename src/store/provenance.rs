//! The provenance log: what was done for a project, append-only, kept after the project is
//! forgotten (found again by its name and creation time), and the model calls of its runs.

use rusqlite::{Row, params};
use serde::Serialize;

use super::projects::Project;
use super::{Db, Result, StoreError};
use crate::provenance::Record;

/// Which project a log belongs to: live or forgotten, a project is its name and creation time
/// (ids are reused after `rm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectKey {
    pub name: String,
    pub created_at: i64,
    /// `None` once the project is forgotten.
    pub id: Option<i64>,
}

impl From<&Project> for ProjectKey {
    fn from(p: &Project) -> ProjectKey {
        ProjectKey {
            name: p.name.clone(),
            created_at: p.created_at,
            id: Some(p.id),
        }
    }
}

/// One entry of the log as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProvenanceEntry {
    pub id: i64,
    pub at: i64,
    pub run_id: Option<i64>,
    /// `iteration.ordinal` of the task it belongs to.
    pub task: Option<String>,
    pub record: Record,
}

/// One attempt at a model call, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerRow {
    pub id: i64,
    pub at: i64,
    pub run_id: Option<i64>,
    pub role: String,
    pub provider: String,
    pub model: String,
    pub route_index: i64,
    pub attempt: i64,
    pub outcome: String,
    pub error_class: Option<String>,
    pub input_tokens: i64,
    pub cached_tokens: i64,
    pub cache_write_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    /// `None`: the price was unknown.
    pub cost_usd: Option<f64>,
    pub cost_source: String,
    pub usage_estimated: bool,
    pub latency_ms: i64,
}

fn entry_from_row(r: &Row<'_>) -> Result<ProvenanceEntry> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(4)?;
    let detail: String = r.get(5)?;
    let record =
        Record::from_columns(&kind, &detail).map_err(|e| StoreError::UnreadableProvenance {
            id,
            reason: e.to_string(),
        })?;
    Ok(ProvenanceEntry {
        id,
        at: r.get(1)?,
        run_id: r.get(2)?,
        task: r.get(3)?,
        record,
    })
}

impl Db<'_> {
    /// Appends one entry to a project's log.
    pub fn append_provenance(
        &self,
        project: &Project,
        run_id: Option<i64>,
        task: Option<&str>,
        record: &Record,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO provenance (at, project_id, project_name, project_created, run_id, task,
                                     kind, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                self.now(),
                project.id,
                project.name,
                project.created_at,
                run_id,
                task,
                record.kind(),
                record.detail()?
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// A project's log, oldest first.
    pub fn provenance(&self, key: &ProjectKey) -> Result<Vec<ProvenanceEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, run_id, task, kind, detail FROM provenance
             WHERE project_name = ?1 COLLATE NOCASE AND project_created = ?2
             ORDER BY at, id",
        )?;
        let mut rows = stmt.query(params![key.name, key.created_at])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(entry_from_row(r)?);
        }
        Ok(out)
    }

    /// Forgotten projects with this name (case-insensitive) that left a log, newest first.
    pub fn forgotten_projects(&self, name: &str) -> Result<Vec<ProjectKey>> {
        let mut stmt = self.conn.prepare(
            "SELECT project_name, project_created FROM provenance
             WHERE project_name = ?1 COLLATE NOCASE
             GROUP BY project_name, project_created
             HAVING COUNT(project_id) = 0
             ORDER BY project_created DESC",
        )?;
        let rows = stmt.query_map([name], |r| {
            Ok(ProjectKey {
                name: r.get(0)?,
                created_at: r.get(1)?,
                id: None,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The model calls (every attempt) of these runs, and of the live project `project_id`,
    /// oldest first.
    pub fn ledger(&self, project_id: Option<i64>, run_ids: &[i64]) -> Result<Vec<LedgerRow>> {
        let runs = serde_json::to_string(run_ids)?;
        let mut stmt = self.conn.prepare(
            "SELECT id, created_at, run_id, role, provider, model, route_index, attempt, outcome,
                    error_class, input_tokens, cached_tokens, cache_write_tokens, output_tokens,
                    reasoning_tokens, cost_usd, cost_source, usage_estimated, latency_ms
             FROM llm_calls
             WHERE (?1 IS NOT NULL AND project_id = ?1)
                OR run_id IN (SELECT value FROM json_each(?2))
             ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map(params![project_id, runs], |r| {
            Ok(LedgerRow {
                id: r.get(0)?,
                at: r.get(1)?,
                run_id: r.get(2)?,
                role: r.get(3)?,
                provider: r.get(4)?,
                model: r.get(5)?,
                route_index: r.get(6)?,
                attempt: r.get(7)?,
                outcome: r.get(8)?,
                error_class: r.get(9)?,
                input_tokens: r.get(10)?,
                cached_tokens: r.get(11)?,
                cache_write_tokens: r.get(12)?,
                output_tokens: r.get(13)?,
                reasoning_tokens: r.get(14)?,
                cost_usd: r.get(15)?,
                cost_source: r.get(16)?,
                usage_estimated: r.get(17)?,
                latency_ms: r.get(18)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The runs of a live project (including runs from before the log was kept).
    pub fn project_run_ids(&self, project_id: i64) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM runs WHERE project_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([project_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
