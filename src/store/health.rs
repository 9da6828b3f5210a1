//! The database's own state, for `doctor` and benchmarks: schema version, integrity, and the
//! space each table and index takes.

use serde::Serialize;

use super::migrations;
use super::{Db, Result};

/// What `doctor` reports about the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `PRAGMA user_version`.
    pub schema_version: i64,
    /// The first line of `PRAGMA quick_check`: `ok`, or what is damaged.
    pub quick_check: String,
}

/// The space one table or index takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectSize {
    pub name: String,
    pub bytes: u64,
}

impl Db<'_> {
    /// Schema version and a quick integrity check (reads every page: seconds on a large file).
    pub fn health(&self) -> Result<Health> {
        Ok(Health {
            schema_version: migrations::user_version(self.conn)?,
            quick_check: self
                .conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))?,
        })
    }

    /// The bytes of each table and index (SQLite's `dbstat`), largest first.
    pub fn space_by_object(&self) -> Result<Vec<ObjectSize>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC, 1")?;
        let rows = stmt.query_map([], |r| {
            Ok(ObjectSize {
                name: r.get(0)?,
                bytes: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
