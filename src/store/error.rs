//! What can go wrong with the database, worded for the user.

use std::io;
use std::path::PathBuf;

use crate::exit::{Exit, ExitStatus};

/// An error from the store. Problems with the file itself (not a database, damaged, from a
/// newer samocoder) and bad input (project names) are usage errors (exit 2); the rest are
/// failures (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {} for the database: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot read the database {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(
        "{} is not a samocoder database ({reason}); move it aside so samocoder can start a new one, or pass --home DIR",
        path.display()
    )]
    NotADatabase { path: PathBuf, reason: String },
    #[error(
        "the database {} is damaged ({reason}); move it aside (and restore a backup if you have one), or pass --home DIR",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error(
        "the database {} was written by a newer samocoder (schema version {found}, this one knows up to {known}); upgrade samocoder",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot open the database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot upgrade the database {} to schema version {version}: {source}", path.display())]
    Migrate {
        path: PathBuf,
        version: i64,
        source: Box<StoreError>,
    },
    #[error("invalid project name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error(
        "a project named {name} already exists; pick another name, or see `samocoder projects`"
    )]
    ProjectExists { name: String },
    #[error("no project named {name}; see `samocoder projects`")]
    NoProject { name: String },
    #[error("no {what} with id {id} in the database")]
    NotFound { what: &'static str, id: i64 },
    #[error("the path {0:?} is not valid UTF-8; use a directory whose name is plain text")]
    NonUtf8Path(PathBuf),
    #[error("the database is busy (another samocoder is writing to it); try again in a moment")]
    Busy(rusqlite::Error),
    #[error("the database is damaged ({0}); move it aside, or pass --home DIR")]
    Damaged(rusqlite::Error),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error(
        "saved step {id} cannot be read ({reason}); the database was changed by something other than this samocoder"
    )]
    UnreadableStep { id: i64, reason: String },
    #[error(
        "provenance entry {id} cannot be read ({reason}); the database was changed by something other than this samocoder"
    )]
    UnreadableProvenance { id: i64, reason: String },
    #[error("bad JSON in the database: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a database task stopped unexpectedly: {0}")]
    Task(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => StoreError::Busy(e),
            Some(C::DatabaseCorrupt | C::NotADatabase) => StoreError::Damaged(e),
            _ => StoreError::Sqlite(e),
        }
    }
}

impl StoreError {
    /// Whether a unique or primary-key constraint refused the write.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    }
}

impl ExitStatus for StoreError {
    fn exit(&self) -> Exit {
        match self {
            StoreError::NotADatabase { .. }
            | StoreError::Corrupt { .. }
            | StoreError::TooNew { .. }
            | StoreError::Damaged(_)
            | StoreError::InvalidName { .. }
            | StoreError::ProjectExists { .. }
            | StoreError::NoProject { .. }
            | StoreError::NonUtf8Path(_) => Exit::Usage,
            StoreError::Migrate { source, .. } => source.exit(),
            _ => Exit::Failure,
        }
    }
}
