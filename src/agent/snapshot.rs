//! The project's files as the store knows them (path, hash, size): what user-edit detection
//! compares against on the next run. Taken after anything samocoder did that may change files.

use super::error::AgentError;
use crate::store::{Db, Store};
use crate::workspace::Workspace;

/// The tree on disk (ignore rules applied) and the recorded paths that are gone from it.
pub struct TreeSnapshot {
    files: Vec<(String, String, u64)>,
    removed: Vec<String>,
}

impl TreeSnapshot {
    pub fn take(
        store: &Store,
        project_id: i64,
        ws: &Workspace,
    ) -> Result<TreeSnapshot, AgentError> {
        let tree = ws.hash_tree()?;
        let removed = store
            .list_files(project_id)?
            .into_iter()
            .map(|f| f.path)
            .filter(|p| !tree.contains_key(p))
            .collect();
        let files = tree
            .into_iter()
            .map(|(p, h)| {
                let size = std::fs::metadata(ws.root().join(&p))
                    .map(|m| m.len())
                    .unwrap_or(0);
                (p, h, size)
            })
            .collect();
        Ok(TreeSnapshot { files, removed })
    }

    /// Records it, inside the caller's transaction.
    pub fn apply(&self, db: &Db<'_>, project_id: i64) -> crate::store::Result<()> {
        for (p, h, size) in &self.files {
            db.upsert_file(project_id, p, h, *size)?;
        }
        for p in &self.removed {
            db.remove_file(project_id, p)?;
        }
        Ok(())
    }
}
