//! Files samocoder wrote, with their hashes, so a later run can tell whether the user has
//! edited them since.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Db, Result};

/// A file as samocoder last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRecord {
    /// Project-relative, `/`-separated.
    pub path: String,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub size: u64,
    pub updated_at: i64,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        path: r.get(0)?,
        sha256: r.get(1)?,
        size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        updated_at: r.get(3)?,
    })
}

impl Db<'_> {
    /// Records (or replaces) the hash and size of a file just written.
    pub fn upsert_file(&self, project_id: i64, path: &str, sha256: &str, size: u64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO files (project_id, path, sha256, size, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (project_id, path)
             DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
                           updated_at = excluded.updated_at",
            params![
                project_id,
                path,
                sha256.to_ascii_lowercase(),
                i64::try_from(size).unwrap_or(i64::MAX),
                self.now()
            ],
        )?;
        Ok(())
    }

    pub fn get_file(&self, project_id: i64, path: &str) -> Result<Option<FileRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT path, sha256, size, updated_at FROM files
                 WHERE project_id = ?1 AND path = ?2",
                params![project_id, path],
                from_row,
            )
            .optional()?)
    }

    /// A project's files, by path.
    pub fn list_files(&self, project_id: i64) -> Result<Vec<FileRecord>> {
        let mut stmt = self.conn.prepare(
            "SELECT path, sha256, size, updated_at FROM files WHERE project_id = ?1 ORDER BY path",
        )?;
        let rows = stmt.query_map([project_id], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Forgets a file (it was deleted). Returns whether there was a record.
    pub fn remove_file(&self, project_id: i64, path: &str) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM files WHERE project_id = ?1 AND path = ?2",
            params![project_id, path],
        )?;
        Ok(n > 0)
    }
}
