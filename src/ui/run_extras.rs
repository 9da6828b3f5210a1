//! Lines of the human view for the events of adopted repositories and cost estimates (kept
//! apart from `events.rs` so each file stays readable).

use crate::estimate::Estimate;
use crate::protocol::{ArchitectureSource, BranchCommit, SwitchPurpose};

/// How the architecture came about, after the `stack: ...; tests: ...` line.
pub(super) fn architecture_source(
    source: ArchitectureSource,
    evidence: &[String],
) -> Option<String> {
    match source {
        ArchitectureSource::Model => None,
        ArchitectureSource::Detected => Some(format!(
            "  read from the repository: {}",
            evidence.join(", ")
        )),
        ArchitectureSource::Assumed => Some(
            "  nothing in the repository named a test command: assumed the architect's guess"
                .into(),
        ),
        ArchitectureSource::User => Some("  the test command you gave".into()),
    }
}

/// `working on branch X ...` / `switched back to Y ...`.
pub(super) fn branch_switched(
    purpose: SwitchPurpose,
    from: &str,
    to: &str,
    user_changes: &[String],
    saved: Option<&str>,
) -> Vec<String> {
    let mut out = Vec::new();
    match purpose {
        SwitchPurpose::Enter if from == to => out.push(format!("working on samocoder's branch {to}")),
        SwitchPurpose::Enter => out.push(format!(
            "working on samocoder's branch {to}; your {from} stays as it is and the directory is switched back when the run ends"
        )),
        SwitchPurpose::Leave => {
            out.push(format!("switched the directory back to {to}; samocoder's work is on {from}"));
            if let Some(s) = saved {
                out.push(format!(
                    "  unfinished work kept on {from} as commit {}; `samocoder resume` carries on from it",
                    &s[..s.len().min(8)]
                ));
            }
        }
    }
    if !user_changes.is_empty() && purpose == SwitchPurpose::Enter {
        let n = user_changes.len();
        out.push(format!(
            "  your uncommitted change{} in {} {} left as {} and out of samocoder's commits",
            if n == 1 { "" } else { "s" },
            list(user_changes),
            if n == 1 { "is" } else { "are" },
            if n == 1 { "it is" } else { "they are" },
        ));
    }
    out
}

/// What the change holds and how to merge it.
#[allow(clippy::too_many_arguments)]
pub(super) fn changes_ready(
    branch: &str,
    base: &str,
    commits: &[BranchCommit],
    added: &[String],
    modified: &[String],
    deleted: &[String],
    review: &str,
    merge: &str,
) -> Vec<String> {
    let mut out = vec![format!(
        "The change is on branch {branch}: {} commit{} over {base}",
        commits.len(),
        if commits.len() == 1 { "" } else { "s" }
    )];
    for c in commits {
        out.push(format!(
            "  {} {}",
            &c.commit[..c.commit.len().min(8)],
            c.summary
        ));
    }
    for (mark, files) in [("A", added), ("M", modified), ("D", deleted)] {
        for f in files {
            out.push(format!("  {mark} {f}"));
        }
    }
    out.push(format!("Review it: {review}"));
    out.push(format!("Merge it:  {merge}"));
    out
}

/// The estimate lines of a run.
pub(super) fn estimate(e: &Estimate, spent: f64) -> Vec<String> {
    let mut out = vec![format!("estimate for the rest: {}", e.summary())];
    out.push(format!("  from {}", e.basis_text()));
    if spent > 0.0 {
        out.push(format!("  spent so far: ${spent:.4}"));
    }
    out
}

fn list(paths: &[String]) -> String {
    let shown: Vec<&str> = paths.iter().take(3).map(String::as_str).collect();
    match paths.len().saturating_sub(3) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finish_says_what_changed_and_how_to_merge() {
        let lines = changes_ready(
            "samocoder/app-1",
            "main",
            &[BranchCommit {
                commit: "0123456789".into(),
                summary: "Task 1: --json".into(),
            }],
            &["tests/test_json.py".into()],
            &["app/cli.py".into()],
            &[],
            "git -C /r diff main...samocoder/app-1",
            "git -C /r switch main && git -C /r merge samocoder/app-1",
        );
        assert_eq!(
            lines[0],
            "The change is on branch samocoder/app-1: 1 commit over main"
        );
        assert_eq!(lines[1], "  01234567 Task 1: --json");
        assert!(lines.contains(&"  A tests/test_json.py".to_string()));
        assert!(lines.contains(&"  M app/cli.py".to_string()));
        assert!(
            lines
                .last()
                .unwrap()
                .starts_with("Merge it:  git -C /r switch main")
        );
    }

    #[test]
    fn switches_name_the_users_changes() {
        let l = branch_switched(
            SwitchPurpose::Enter,
            "main",
            "samocoder/a-1",
            &["x.py".into()],
            None,
        );
        assert!(l[0].contains("your main stays as it is"), "{l:?}");
        assert!(l[1].contains("change in x.py is left as it is"), "{l:?}");
        let l = branch_switched(
            SwitchPurpose::Leave,
            "samocoder/a-1",
            "main",
            &[],
            Some("abcdef123"),
        );
        assert!(l[1].contains("as commit abcdef12"), "{l:?}");
    }
}
