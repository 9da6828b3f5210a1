//! Adopted directories: a project made from a directory the user already had. samocoder works
//! there on a branch of its own; `return_to` says where to switch the directory back when a run
//! ends (set while a run works on the branch, so a killed run is finished by the next one).

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{Db, Result, StoreError};

/// What `insert_adoption` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdoption {
    pub project_id: i64,
    /// The user's branch when adopted (`None`: a detached HEAD).
    pub base_branch: Option<String>,
    /// The commit samocoder's branch starts from.
    pub base_commit: String,
    /// samocoder's branch, `samocoder/<project>-<n>`.
    pub branch: String,
    /// samocoder ran `git init` (the directory was not a repository).
    pub initialized: bool,
}

/// An adoption as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Adoption {
    pub project_id: i64,
    pub base_branch: Option<String>,
    pub base_commit: String,
    /// The branch samocoder works on now (a `resume --from-task` moves it to a new one).
    pub branch: String,
    pub initialized: bool,
    /// While a run works on `branch`: what the directory had checked out before (a full ref
    /// name such as `refs/heads/main`, or a commit id for a detached HEAD).
    pub return_to: Option<String>,
    /// The paths with the user's uncommitted changes when the run switched to `branch`: never
    /// written by samocoder and never part of its commits.
    pub user_changes: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "project_id, base_branch, base_commit, branch, initialized, return_to, \
                       user_changes, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Adoption> {
    let changes: String = r.get(6)?;
    Ok(Adoption {
        project_id: r.get(0)?,
        base_branch: r.get(1)?,
        base_commit: r.get(2)?,
        branch: r.get(3)?,
        initialized: r.get(4)?,
        return_to: r.get(5)?,
        user_changes: serde_json::from_str(&changes).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
        })?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

impl Db<'_> {
    pub fn insert_adoption(&self, new: &NewAdoption) -> Result<Adoption> {
        let now = self.now();
        self.conn.execute(
            "INSERT INTO adoptions (project_id, base_branch, base_commit, branch, initialized,
                                    created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                new.project_id,
                new.base_branch,
                new.base_commit,
                new.branch,
                new.initialized,
                now
            ],
        )?;
        self.adoption(new.project_id)?.ok_or(StoreError::NotFound {
            what: "adoption",
            id: new.project_id,
        })
    }

    /// The project's adoption, `None` for a project samocoder made.
    pub fn adoption(&self, project_id: i64) -> Result<Option<Adoption>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM adoptions WHERE project_id = ?1"),
                [project_id],
                from_row,
            )
            .optional()?)
    }

    /// A run switched the directory to samocoder's branch (`return_to` set) or back (`None`).
    pub fn set_adoption_checkout(
        &self,
        project_id: i64,
        return_to: Option<&str>,
        user_changes: &[String],
    ) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE adoptions SET return_to = ?1, user_changes = ?2, updated_at = ?3
             WHERE project_id = ?4",
            params![
                return_to,
                serde_json::to_string(user_changes)?,
                self.now(),
                project_id
            ],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "adoption",
                id: project_id,
            });
        }
        Ok(())
    }

    /// A new change starts on a new branch from the user's current commit (`resume -d`).
    pub fn set_adoption_base(
        &self,
        project_id: i64,
        base_branch: Option<&str>,
        base_commit: &str,
        branch: &str,
    ) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE adoptions SET base_branch = ?1, base_commit = ?2, branch = ?3, updated_at = ?4
             WHERE project_id = ?5",
            params![base_branch, base_commit, branch, self.now(), project_id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "adoption",
                id: project_id,
            });
        }
        Ok(())
    }

    /// samocoder's work moved to another branch (`resume --from-task`).
    pub fn set_adoption_branch(&self, project_id: i64, branch: &str) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE adoptions SET branch = ?1, updated_at = ?2 WHERE project_id = ?3",
            params![branch, self.now(), project_id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "adoption",
                id: project_id,
            });
        }
        Ok(())
    }
}
