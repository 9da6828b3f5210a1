//! What an edit of the plan needs beyond the task methods: taking back tasks nobody started.

use rusqlite::params;

use super::{Db, Result};

impl Db<'_> {
    /// Deletes the tasks of an iteration that were never started (pending, no attempt, no
    /// saved step): an edit of the plan before any work replaces them. Returns how many.
    pub fn delete_unstarted_tasks(&self, project_id: i64, iteration: i64) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM tasks
             WHERE project_id = ?1 AND iteration = ?2 AND status = 'pending' AND attempts = 0
               AND checkpoint IS NULL
               AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.task_id = tasks.id)",
            params![project_id, iteration],
        )?)
    }
}
