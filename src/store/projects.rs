//! Projects: one per app samocoder builds, named by the user.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::llm_calls::CostTotals;
use super::text_enum::text_enum;
use super::{Db, Result, StoreError, path_text};

text_enum! {
    /// Where a project stands.
    pub enum ProjectStatus as "project status" {
        New = "new",
        Running = "running",
        Paused = "paused",
        Done = "done",
        Failed = "failed",
        BudgetExhausted = "budget_exhausted",
    }
}

/// What `create_project` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    pub name: String,
    pub dir: PathBuf,
    pub description: String,
    pub template: Option<String>,
    pub budget_usd: Option<f64>,
}

/// A project as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub dir: PathBuf,
    pub description: String,
    pub status: ProjectStatus,
    pub spec: Option<String>,
    pub architecture: Option<serde_json::Value>,
    pub template: Option<String>,
    pub budget_usd: Option<f64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A project with the money spent on it so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectWithCost {
    #[serde(flatten)]
    pub project: Project,
    pub cost: CostTotals,
}

/// Checks a project name: 1-64 characters from `A-Z a-z 0-9 . _ -`, not starting with `.`
/// or `-` (so it is safe as a directory name and never looks like a flag).
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(StoreError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.chars().count() > 64 {
        return bad("it is longer than 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return bad("use only letters, digits, '.', '_' and '-'");
    }
    if name.starts_with(['.', '-']) {
        return bad("it must not start with '.' or '-'");
    }
    Ok(())
}

const COLUMNS: &str = "id, name, dir, description, status, spec, architecture, template, budget_usd, created_at, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    let architecture: Option<String> = r.get(6)?;
    Ok(Project {
        id: r.get(0)?,
        name: r.get(1)?,
        dir: PathBuf::from(r.get::<_, String>(2)?),
        description: r.get(3)?,
        status: r.get(4)?,
        spec: r.get(5)?,
        architecture: architecture
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    6,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
        template: r.get(7)?,
        budget_usd: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

impl Db<'_> {
    /// Creates a project (status `new`) and logs it in the audit log.
    pub fn create_project(&self, new: &NewProject) -> Result<Project> {
        validate_name(&new.name)?;
        let dir = path_text(&new.dir)?;
        let now = self.now();
        self.atomic(|| {
            let inserted = self.conn.execute(
                "INSERT INTO projects (name, dir, description, template, budget_usd, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![new.name, dir, new.description, new.template, new.budget_usd, now],
            );
            if let Err(e) = inserted {
                let e = StoreError::from(e);
                return Err(if e.is_unique_violation() {
                    StoreError::ProjectExists { name: new.name.clone() }
                } else {
                    e
                });
            }
            let id = self.conn.last_insert_rowid();
            self.append_audit(
                Some(id),
                "project.create",
                &serde_json::json!({ "name": new.name, "dir": dir }),
            )?;
            self.project_by_id(id)
        })
    }

    pub fn project_by_id(&self, id: i64) -> Result<Project> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM projects WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "project",
                id,
            })
    }

    /// A project by name (case-insensitive) or, failing that, by numeric id.
    pub fn find_project(&self, name_or_id: &str) -> Result<Option<Project>> {
        let by_name = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM projects WHERE name = ?1"),
                [name_or_id],
                from_row,
            )
            .optional()?;
        if by_name.is_some() {
            return Ok(by_name);
        }
        match name_or_id.parse::<i64>() {
            Ok(id) if !name_or_id.starts_with('+') => Ok(self
                .conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM projects WHERE id = ?1"),
                    [id],
                    from_row,
                )
                .optional()?),
            _ => Ok(None),
        }
    }

    /// Like [`Db::find_project`], with a "no project named X" error when there is none.
    pub fn get_project(&self, name_or_id: &str) -> Result<Project> {
        self.find_project(name_or_id)?
            .ok_or_else(|| StoreError::NoProject {
                name: name_or_id.to_string(),
            })
    }

    /// Every project, oldest first, with what it has cost so far (from the daily roll-up, so
    /// its cost does not grow with the number of recorded calls).
    pub fn list_projects(&self) -> Result<Vec<ProjectWithCost>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS}, COALESCE(c.cost, 0.0), COALESCE(c.calls, 0), COALESCE(c.unknown, 0)
             FROM projects p LEFT JOIN (
                 SELECT project_id, TOTAL(cost_usd) AS cost, SUM(requests) AS calls,
                        SUM(unknown_cost_calls) AS unknown
                 FROM llm_usage_daily WHERE project_id <> 0 GROUP BY project_id
             ) c ON c.project_id = p.id
             ORDER BY p.created_at, p.id"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(ProjectWithCost {
                project: from_row(r)?,
                cost: CostTotals {
                    cost_usd: r.get(11)?,
                    calls: r.get(12)?,
                    unknown_cost_calls: r.get(13)?,
                    ..CostTotals::default()
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The most recently touched project that is not done: what `resume` picks by default.
    pub fn latest_unfinished_project(&self) -> Result<Option<Project>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM projects WHERE status <> 'done'
                     ORDER BY updated_at DESC, id DESC LIMIT 1"
                ),
                [],
                from_row,
            )
            .optional()?)
    }

    fn update_project(&self, id: i64, set: &str, value: &dyn rusqlite::ToSql) -> Result<()> {
        let n = self.conn.execute(
            &format!("UPDATE projects SET {set} = ?1, updated_at = ?2 WHERE id = ?3"),
            params![value, self.now(), id],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "project",
                id,
            });
        }
        Ok(())
    }

    pub fn set_project_status(&self, id: i64, status: ProjectStatus) -> Result<()> {
        self.update_project(id, "status", &status)
    }

    pub fn set_project_spec(&self, id: i64, spec: &str) -> Result<()> {
        self.update_project(id, "spec", &spec)
    }

    pub fn set_project_architecture(
        &self,
        id: i64,
        architecture: &serde_json::Value,
    ) -> Result<()> {
        self.update_project(id, "architecture", &serde_json::to_string(architecture)?)
    }

    pub fn set_project_budget(&self, id: i64, budget_usd: Option<f64>) -> Result<()> {
        self.update_project(id, "budget_usd", &budget_usd)
    }

    /// Forgets a project: its tasks, steps, file records and commands go with it. Its model
    /// calls and runs stay (with `project_id` cleared) so money spent remains in `usage`; its
    /// audit entries stay too. An audit entry records the deletion with `detail` merged in.
    pub fn delete_project(&self, id: i64, detail: &serde_json::Value) -> Result<()> {
        self.atomic(|| {
            let project = self.project_by_id(id)?;
            let cost = self.project_cost(id)?;
            let mut entry = serde_json::json!({
                "id": project.id,
                "name": project.name,
                "dir": project.dir,
                "cost_usd": cost.cost_usd,
            });
            if let (Some(map), Some(extra)) = (entry.as_object_mut(), detail.as_object()) {
                map.extend(extra.clone());
            }
            self.append_audit(None, "project.forget", &entry)?;
            self.conn
                .execute("DELETE FROM projects WHERE id = ?1", [id])?;
            Ok(())
        })
    }
}
