//! Schema migrations, counted by `PRAGMA user_version`. Migration `n` (1-based) is
//! `MIGRATIONS[n - 1]`; each runs in one transaction that also bumps `user_version`, so a
//! crash leaves the database at the previous version, never half-way.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Every migration in order. Append only: never edit one that has shipped.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_usage_daily.sql"),
    include_str!("migrations/0003_steps_thread.sql"),
    include_str!("migrations/0004_reasoning_tokens.sql"),
    include_str!("migrations/0005_price_tables.sql"),
    include_str!("migrations/0006_sandbox.sql"),
    include_str!("migrations/0007_file_stats_and_lean_call_indexes.sql"),
    include_str!("migrations/0008_adopt_provenance.sql"),
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Reads `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

/// Brings the database up to `target` (at most [`SCHEMA_VERSION`]). Foreign keys are off
/// while migrating (a migration may rebuild a table, which SQLite only allows that way) and
/// `foreign_key_check` must come back clean before each migration commits.
pub(crate) fn migrate(conn: &mut Connection, target: i64, path: &Path) -> Result<(), StoreError> {
    debug_assert!(target <= SCHEMA_VERSION);
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = migrate_steps(conn, target, path);
    conn.pragma_update(None, "foreign_keys", true)?;
    result
}

fn migrate_steps(conn: &mut Connection, target: i64, path: &Path) -> Result<(), StoreError> {
    // A database created now gets one log line, not one per migration.
    let mut fresh = None;
    loop {
        // IMMEDIATE: two processes opening an old database at once must not both migrate.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = user_version(&tx)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version >= target {
            return Ok(());
        }
        if *fresh.get_or_insert(version == 0) && version == 0 {
            tracing::info!(version = target, path = %path.display(), "database created");
        }
        let next = version + 1;
        let apply = || -> Result<(), StoreError> {
            tx.execute_batch(MIGRATIONS[version as usize])?;
            let broken: Option<String> = tx
                .prepare("PRAGMA foreign_key_check")?
                .query_map([], |r| r.get::<_, String>(0))?
                .next()
                .transpose()?;
            if let Some(table) = broken {
                return Err(StoreError::Corrupt {
                    path: path.to_path_buf(),
                    reason: format!("table {table} has rows that point at missing rows"),
                });
            }
            tx.pragma_update(None, "user_version", next)?;
            Ok(())
        };
        apply().map_err(|e| StoreError::Migrate {
            path: path.to_path_buf(),
            version: next,
            source: Box::new(e),
        })?;
        tx.commit()?;
        if fresh != Some(true) {
            tracing::info!(version = next, path = %path.display(), "database migrated");
        }
    }
}
