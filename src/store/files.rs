//! The project's files as samocoder last recorded them (path, hash, size, and the metadata the
//! file had when it was hashed): what user-edit detection compares against on the next run,
//! and the stat cache that lets a scan skip reading unchanged files.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Db, Result};
use crate::workspace::{FileStat, FileState, Scope, TreeChanges};

/// A file as samocoder last recorded it.
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

fn sql_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

fn state_row(r: &Row<'_>) -> rusqlite::Result<FileState> {
    let size = u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0);
    let mtime: Option<i64> = r.get(3)?;
    let ctime: Option<i64> = r.get(4)?;
    let inode: Option<i64> = r.get(5)?;
    let stat = match (mtime, ctime, inode) {
        (Some(mtime_ns), Some(ctime_ns), Some(inode)) => Some(FileStat {
            size,
            mtime_ns,
            ctime_ns,
            inode: inode as u64,
        }),
        _ => None,
    };
    Ok(FileState {
        path: r.get(0)?,
        sha256: r.get(1)?,
        size,
        stat,
    })
}

/// The stat columns of a record (all NULL for "unknown").
fn stat_params(stat: Option<FileStat>) -> (Option<i64>, Option<i64>, Option<i64>) {
    match stat {
        // The inode is stored bit for bit (SQLite integers are signed).
        Some(s) => (Some(s.mtime_ns), Some(s.ctime_ns), Some(s.inode as i64)),
        None => (None, None, None),
    }
}

impl Db<'_> {
    /// Records (or replaces) the hash and size of a file just written. Its cached metadata is
    /// cleared: the next scan reads the file once and caches what it finds.
    pub fn upsert_file(&self, project_id: i64, path: &str, sha256: &str, size: u64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO files (project_id, path, sha256, size, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (project_id, path)
             DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
                           updated_at = excluded.updated_at,
                           mtime_ns = NULL, ctime_ns = NULL, inode = NULL",
            params![
                project_id,
                path,
                sha256.to_ascii_lowercase(),
                sql_size(size),
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

    /// True when samocoder has recorded any file of the project.
    pub fn has_files(&self, project_id: i64) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM files WHERE project_id = ?1)",
            [project_id],
            |r| r.get(0),
        )?)
    }

    /// A project's records with their cached metadata, by path (the table's key order, so no
    /// sort): what [`crate::workspace::Workspace::scan_tree`] compares the tree with.
    pub fn file_states(&self, project_id: i64) -> Result<Vec<FileState>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT path, sha256, size, mtime_ns, ctime_ns, inode FROM files WHERE project_id = ?1
             ORDER BY path",
        )?;
        let rows = stmt.query_map([project_id], state_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The records in `scopes` only (see [`crate::workspace::Rescan`]), by path: a range of
    /// the table's key per scope, so a rescan of a few directories reads a few rows.
    pub fn file_states_in(&self, project_id: i64, scopes: &[Scope]) -> Result<Vec<FileState>> {
        let mut out = Vec::new();
        for scope in scopes {
            let (lo, hi) = if scope.dir.is_empty() {
                (String::new(), None)
            } else {
                // Every path below `dir/` sorts between `dir/` and `dir0` ('0' follows '/').
                (format!("{}/", scope.dir), Some(format!("{}0", scope.dir)))
            };
            let mut stmt = self.conn.prepare_cached(
                "SELECT path, sha256, size, mtime_ns, ctime_ns, inode FROM files
                 WHERE project_id = ?1 AND path >= ?2 AND (?3 IS NULL OR path < ?3)
                   AND (?4 OR instr(substr(path, length(?2) + 1), '/') = 0)
                 ORDER BY path",
            )?;
            let rows = stmt.query_map(params![project_id, lo, hi, scope.recursive], state_row)?;
            for row in rows {
                out.push(row?);
            }
        }
        out.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        out.dedup_by(|a, b| a.path == b.path);
        Ok(out)
    }

    /// Writes what a scan found: new and modified files, refreshed metadata, removed paths.
    /// Unchanged files are not touched. Atomic (a savepoint).
    pub fn apply_tree_changes(&self, project_id: i64, changes: &TreeChanges) -> Result<()> {
        self.atomic(|| {
            let now = self.now();
            let mut upsert = self.conn.prepare_cached(
                "INSERT INTO files (project_id, path, sha256, size, updated_at, mtime_ns, ctime_ns, inode)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (project_id, path)
                 DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
                               updated_at = excluded.updated_at, mtime_ns = excluded.mtime_ns,
                               ctime_ns = excluded.ctime_ns, inode = excluded.inode",
            )?;
            for f in changes.added.iter().chain(&changes.modified) {
                let (m, c, i) = stat_params(f.stat);
                upsert.execute(params![
                    project_id,
                    f.path,
                    f.sha256.to_ascii_lowercase(),
                    sql_size(f.size),
                    now,
                    m,
                    c,
                    i
                ])?;
            }
            self.refresh_file_stats(project_id, changes)?;
            let mut delete = self
                .conn
                .prepare_cached("DELETE FROM files WHERE project_id = ?1 AND path = ?2")?;
            for p in &changes.removed {
                delete.execute(params![project_id, p])?;
            }
            Ok(())
        })
    }

    /// Writes only the refreshed metadata of files whose content is unchanged (a scan whose
    /// content changes are not samocoder's to record, such as the user's edits at the start
    /// of a run). The recorded hash is kept: the update applies only while it still matches.
    pub fn refresh_file_stats(&self, project_id: i64, changes: &TreeChanges) -> Result<()> {
        let mut update = self.conn.prepare_cached(
            "UPDATE files SET mtime_ns = ?4, ctime_ns = ?5, inode = ?6
             WHERE project_id = ?1 AND path = ?2 AND sha256 = ?3",
        )?;
        for f in &changes.refreshed {
            let (m, c, i) = stat_params(f.stat);
            update.execute(params![
                project_id,
                f.path,
                f.sha256.to_ascii_lowercase(),
                m,
                c,
                i
            ])?;
        }
        Ok(())
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
