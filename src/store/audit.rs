//! The append-only audit log: what samocoder did on the user's behalf (projects created and
//! forgotten, directories deleted, ...). Triggers in the schema refuse updates and deletes.

use rusqlite::{Row, params};
use serde::Serialize;

use super::{Db, Result};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub project_id: Option<i64>,
    /// Dotted verb, e.g. `project.create`, `project.forget`.
    pub action: String,
    pub detail: serde_json::Value,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let detail: String = r.get(4)?;
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        project_id: r.get(2)?,
        action: r.get(3)?,
        detail: serde_json::from_str(&detail).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
        })?,
    })
}

impl Db<'_> {
    pub fn append_audit(
        &self,
        project_id: Option<i64>,
        action: &str,
        detail: &serde_json::Value,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO audit (at, project_id, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![
                self.now(),
                project_id,
                action,
                serde_json::to_string(detail)?
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The latest `limit` entries (of one project, or all), newest first.
    pub fn list_audit(&self, project_id: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, project_id, action, detail FROM audit
             WHERE ?1 IS NULL OR project_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![project_id, limit], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
