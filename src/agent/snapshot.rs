//! Glue between the workspace's change scan and the store's file records: the store gives the
//! records, the workspace compares the tree with them (unchanged files cost one `lstat`), the
//! store writes what changed. Taken after anything samocoder did that may change files.

use super::error::AgentError;
use crate::store::{Db, Store};
use crate::workspace::{TreeChanges, Workspace};

/// What changed in the tree since the records, ready to be recorded.
pub struct TreeSnapshot {
    changes: TreeChanges,
}

impl TreeSnapshot {
    pub fn take(
        store: &Store,
        project_id: i64,
        ws: &Workspace,
    ) -> Result<TreeSnapshot, AgentError> {
        let known = store.file_states(project_id)?;
        Ok(TreeSnapshot {
            changes: ws.scan_tree(known)?,
        })
    }

    /// After a command: with the workspace's change watch, only the directories where
    /// something happened are read, and the store gives only their records.
    pub fn after_command(
        store: &Store,
        project_id: i64,
        ws: &Workspace,
    ) -> Result<TreeSnapshot, AgentError> {
        let rescan = ws.prepare_rescan()?;
        let known = match rescan.scopes() {
            None => store.file_states(project_id)?,
            Some(scopes) => store.file_states_in(project_id, scopes)?,
        };
        Ok(TreeSnapshot {
            changes: ws.finish_rescan(rescan, known)?,
        })
    }

    /// What changed in content since the records (added, modified, deleted).
    pub fn changes(&self) -> &TreeChanges {
        &self.changes
    }

    /// Records it, inside the caller's transaction.
    pub fn apply(&self, db: &Db<'_>, project_id: i64) -> crate::store::Result<()> {
        db.apply_tree_changes(project_id, &self.changes)
    }
}
