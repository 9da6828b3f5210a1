//! What the ledger says about earlier runs, for cost estimates, and what was spent since an
//! estimate (so `show` can put the two side by side). Replayed answers are never counted: they
//! cost nothing and their token counts are whatever a cassette says.

use rusqlite::params;

use super::{CostTotals, Db, Result};
use crate::estimate::{Basis, RoleAverage};

const ROLES: &str = "('spec', 'architect', 'planner', 'coder', 'troubleshooter', 'writer')";
const TASK_ROLES: &str = "('coder', 'troubleshooter', 'writer')";

impl Db<'_> {
    /// The averages of earlier runs: tokens per call per role over the whole ledger, calls per
    /// done task and tasks per plan over the projects that have done tasks.
    pub fn estimate_basis(&self) -> Result<Basis> {
        let mut basis = Basis::default();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT role, COUNT(*), AVG(input_tokens + cached_tokens + cache_write_tokens),
                    AVG(output_tokens)
             FROM llm_calls WHERE provider <> 'replay' AND role IN {ROLES} GROUP BY role"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                RoleAverage {
                    calls: r.get::<_, i64>(1)?.max(0) as u64,
                    input_tokens: r.get(2)?,
                    output_tokens: r.get(3)?,
                },
            ))
        })?;
        for row in rows {
            let (role, avg) = row?;
            basis.roles.insert(role, avg);
        }
        // Projects with done tasks and live calls; a task copied by `--from-task` keeps its
        // checkpoint, so done tasks are counted once per checkpoint.
        let (projects, tasks): (i64, i64) = self.conn.query_row(
            "SELECT COUNT(DISTINCT project_id), COUNT(DISTINCT project_id || ':' || COALESCE(checkpoint, id))
             FROM tasks t WHERE status = 'done' AND EXISTS (
                 SELECT 1 FROM llm_calls c WHERE c.project_id = t.project_id AND c.provider <> 'replay')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        basis.projects = projects.max(0) as u64;
        basis.tasks = tasks.max(0) as u64;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT role, COUNT(*) FROM llm_calls c
             WHERE provider <> 'replay' AND role IN {TASK_ROLES} AND project_id IN (
                 SELECT project_id FROM tasks WHERE status = 'done')
             GROUP BY role"
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (role, n) = row?;
            basis.task_calls.insert(role, n.max(0) as u64);
        }
        let (plans, planned): (i64, i64) = self.conn.query_row(
            "SELECT COUNT(DISTINCT project_id || ':' || iteration), COUNT(*) FROM tasks
             WHERE project_id IN (SELECT DISTINCT project_id FROM llm_calls
                                  WHERE provider <> 'replay' AND project_id IS NOT NULL)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        basis.plans = plans.max(0) as u64;
        basis.planned_tasks = planned.max(0) as u64;
        Ok(basis)
    }

    /// What a project's calls cost from `from_ms` (inclusive) to `to_ms` (exclusive; `None`:
    /// until now).
    pub fn project_cost_between(
        &self,
        project_id: i64,
        from_ms: i64,
        to_ms: Option<i64>,
    ) -> Result<CostTotals> {
        Ok(self.conn.query_row(
            "SELECT TOTAL(cost_usd), COUNT(*), COUNT(*) - COUNT(cost_usd),
                    COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0)
             FROM llm_calls
             WHERE project_id = ?1 AND created_at >= ?2 AND (?3 IS NULL OR created_at < ?3)",
            params![project_id, from_ms, to_ms],
            |r| {
                Ok(CostTotals {
                    cost_usd: r.get(0)?,
                    calls: r.get(1)?,
                    unknown_cost_calls: r.get(2)?,
                    input_tokens: r.get(3)?,
                    output_tokens: r.get(4)?,
                })
            },
        )?)
    }
}
