//! One process works on a project at a time: `new` and `resume` hold a file lock under the data
//! directory for the whole run, released by the OS when the process dies (so a killed run
//! never leaves a stale lock behind).

use std::path::Path;

use crate::exit::{Exit, ExitStatus};

/// Held while a process works on a project.
#[derive(Debug)]
pub struct ProjectLock {
    _file: std::fs::File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{name} is being worked on by another samocoder process; wait for it or stop it first")]
    Busy { name: String },
    #[error("cannot take the lock of {name} in {dir}: {source}")]
    Io {
        name: String,
        dir: String,
        source: std::io::Error,
    },
}

impl ExitStatus for LockError {
    fn exit(&self) -> Exit {
        match self {
            LockError::Busy { .. } => Exit::Usage,
            LockError::Io { .. } => Exit::Failure,
        }
    }
}

impl ProjectLock {
    /// Takes the lock of project `id` (named `name` in messages) under `data_dir/locks`.
    pub fn acquire(data_dir: &Path, id: i64, name: &str) -> Result<ProjectLock, LockError> {
        let dir = data_dir.join("locks");
        let io = |source| LockError::Io {
            name: name.to_string(),
            dir: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("project-{id}.lock")))
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(ProjectLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Busy {
                name: name.to_string(),
            }),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// Whether a live process holds project `id`'s lock (a `running` status without one is left
/// over from a process that was killed).
pub fn is_held(data_dir: &Path, id: i64) -> bool {
    let path = data_dir.join("locks").join(format!("project-{id}.lock"));
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else {
        return false;
    };
    matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_of_the_same_project_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = ProjectLock::acquire(dir.path(), 1, "todo").unwrap();
        let err = ProjectLock::acquire(dir.path(), 1, "todo").unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err}");
        assert_eq!(err.exit(), Exit::Usage);
        ProjectLock::acquire(dir.path(), 2, "other").unwrap();
        assert!(is_held(dir.path(), 1));
        drop(first);
        assert!(!is_held(dir.path(), 1));
        assert!(!is_held(dir.path(), 3), "never locked");
        ProjectLock::acquire(dir.path(), 1, "todo").unwrap();
    }
}
