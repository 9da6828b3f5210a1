//! The records of the provenance log: one serde-tagged enum, [`Record`], stored as a `kind`
//! column (the tag) and a JSON `detail` column (the content), like saved steps. Written by the
//! agent and the commands that change a project (plan edits, adoption), read by `samocoder log`
//! and `export --provenance`. Never a key, never a command's output.

use serde::{Deserialize, Serialize};

use crate::estimate::Estimate;

/// One thing done for a project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Record {
    /// A run started or finished.
    Run(RunRecord),
    /// samocoder wrote a file (a tool call, a writer, the spec, a starter template).
    File(FileRecord),
    /// A command ran, or was declined, refused or only recorded.
    Command(CommandRecord),
    /// A task's work was committed.
    Checkpoint(CheckpointRecord),
    /// The spec (or an adopted repository's change spec) was written.
    Spec(SpecRecord),
    /// A plan was made, or edited by the user.
    Plan(PlanRecord),
    /// What the rest of the work was estimated to cost.
    Estimate(Estimate),
    /// A directory the user already had was adopted.
    Adopt(AdoptRecord),
    /// The adopted directory was switched to samocoder's branch, or back.
    Branch(BranchRecord),
}

impl Record {
    /// The `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Run(_) => "run",
            Record::File(_) => "file",
            Record::Command(_) => "command",
            Record::Checkpoint(_) => "checkpoint",
            Record::Spec(_) => "spec",
            Record::Plan(_) => "plan",
            Record::Estimate(_) => "estimate",
            Record::Adopt(_) => "adopt",
            Record::Branch(_) => "branch",
        }
    }

    /// The `detail` column.
    pub fn detail(&self) -> Result<String, serde_json::Error> {
        let v = serde_json::to_value(self)?;
        serde_json::to_string(v.get("detail").unwrap_or(&serde_json::Value::Null))
    }

    /// Joins the two stored columns back into a record.
    pub fn from_columns(kind: &str, detail: &str) -> Result<Record, serde_json::Error> {
        let detail: serde_json::Value = serde_json::from_str(detail)?;
        serde_json::from_value(serde_json::json!({"kind": kind, "detail": detail}))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEvent {
    Started,
    Finished,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub event: RunEvent,
    /// `new`, `resume`, `plan`.
    pub command: String,
    /// How it ended (finished runs): the `run_finished` status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// What the run's calls cost (known prices only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Written by the migration from what an earlier version recorded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfilled: bool,
}

/// Who wrote a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileSource {
    /// `write_file` or `edit_file` of the coder or troubleshooter.
    Tool,
    /// A writer call of `write_files`.
    Writer,
    /// The spec phase.
    Spec,
    /// A starter template.
    Template,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    pub created: bool,
    pub source: FileSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub command: String,
    /// `tool`, `install`, `test` (absent for commands recorded before this was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// `auto`, `user`, `denied`, `recorded`.
    pub approval: String,
    /// `ran`, `denied`, `refused`, `recorded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// How the command was confined; `none`: it ran as the user, in the project directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfilled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    pub commit: Option<String>,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backfilled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecRecord {
    pub path: String,
    pub bytes: u64,
    #[serde(default)]
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub iteration: i64,
    pub tasks: Vec<String>,
    /// The user changed it (`samocoder plan --edit` or `--apply`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub edited: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_request: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdoptRecord {
    pub dir: String,
    /// The user's branch (none: detached HEAD).
    pub base_branch: Option<String>,
    pub base_commit: String,
    pub branch: String,
    /// samocoder made the directory a git repository (it was not one).
    pub initialized: bool,
    /// Paths with uncommitted changes of the user, left as they were (`--allow-dirty`).
    #[serde(default)]
    pub user_changes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchRecord {
    /// `enter`: to samocoder's branch; `leave`: back to what the user had.
    pub event: String,
    pub from: String,
    pub to: String,
    /// An unfinished-work commit made on samocoder's branch before leaving it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_their_columns() {
        let r = Record::Command(CommandRecord {
            command: "pytest".into(),
            purpose: Some("test".into()),
            approval: "auto".into(),
            disposition: Some("ran".into()),
            sandbox: Some("none".into()),
            exit_code: Some(1),
            timed_out: false,
            duration_ms: 12,
            backfilled: false,
        });
        let detail = r.detail().unwrap();
        assert!(!detail.contains("\"kind\""), "{detail}");
        assert_eq!(Record::from_columns(r.kind(), &detail).unwrap(), r);
    }

    #[test]
    fn what_the_migration_backfilled_is_read() {
        let r = Record::from_columns(
            "command",
            r#"{"command":"make test","approval":"user","exit_code":0,"timed_out":false,"duration_ms":5,"backfilled":true}"#,
        )
        .unwrap();
        assert!(matches!(
            r,
            Record::Command(CommandRecord {
                backfilled: true,
                purpose: None,
                ..
            })
        ));
        let r = Record::from_columns(
            "run",
            r#"{"event":"finished","command":"new","status":"ok","exit_code":0,"backfilled":true}"#,
        )
        .unwrap();
        assert!(matches!(
            r,
            Record::Run(RunRecord {
                event: RunEvent::Finished,
                ..
            })
        ));
        let r = Record::from_columns(
            "checkpoint",
            r#"{"commit":"abc","title":"t","summary":"","backfilled":true}"#,
        )
        .unwrap();
        assert!(matches!(r, Record::Checkpoint(_)));
    }
}
