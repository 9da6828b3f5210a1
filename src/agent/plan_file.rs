//! The plan as a readable file, for `samocoder plan` (shown) and `plan --edit` (edited in
//! `$EDITOR`, then read back). Only the open tasks are editable; done tasks are listed in the
//! header for reference. The header also says which plan the file was written from, so a file
//! applied after the plan moved on (a task done since, another iteration) is refused instead
//! of undoing work.
//!
//! ```text
//! # samocoder plan: todo, iteration 1, 1 of 3 tasks done
//! # ...help...
//! #   done 1. Todo storage
//!
//! ## Command-line interface
//! goal: Add `add`, `list` and `done` commands.
//!   More lines of the goal, indented or not.
//! files: todo/cli.py, tests/test_cli.py
//! verify: python3 -m unittest
//! ```
//!
//! Reading is strict where a slip would silently change the plan: text before the first task,
//! an unknown `field:`, a field given twice or a task without a goal are errors with their line
//! numbers, and all of them are reported at once.

use super::roles::{MAX_TASKS, PlannedTaskAnswer};
use crate::store::{Task, TaskStatus};

/// Which plan a file was written from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanHeader {
    pub project: String,
    pub iteration: i64,
    pub done: usize,
    pub total: usize,
}

/// One problem of an edited plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// 1-based; 0 for the file as a whole.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for PlanProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// A plan file as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFile {
    pub header: Option<PlanHeader>,
    pub tasks: Vec<PlannedTaskAnswer>,
}

const MAX_TITLE: usize = 200;
const MAX_GOAL: usize = 64 * 1024;
const MAX_FILES: usize = 100;

/// The file for the latest plan (`tasks` are its tasks, in order).
pub fn render(project: &str, tasks: &[&Task]) -> String {
    let iteration = tasks.first().map_or(1, |t| t.iteration);
    let done: Vec<(i64, String)> = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done)
        .map(|t| (t.ordinal, t.title.clone()))
        .collect();
    let open: Vec<PlannedTaskAnswer> = tasks
        .iter()
        .filter(|t| t.status != TaskStatus::Done)
        .map(|t| PlannedTaskAnswer {
            title: t.title.clone(),
            goal: t.goal.clone(),
            files: t.files.clone(),
            verify: t.verify.clone(),
        })
        .collect();
    render_plan(project, iteration, &done, tasks.len(), &open)
}

/// The file for a plan: its done tasks (ordinal, title) and its open ones.
pub fn render_plan(
    project: &str,
    iteration: i64,
    done: &[(i64, String)],
    total: usize,
    open: &[PlannedTaskAnswer],
) -> String {
    let mut out = format!(
        "# samocoder plan: {project}, iteration {iteration}, {} of {total} tasks done\n",
        done.len(),
    );
    out.push_str(
        "# Edit the open tasks below, save and close the editor; samocoder checks the file and
# keeps the plan as it was if something is wrong (the errors name their lines).
# A task starts with `## <title>`, then `goal:` (required; the goal may go on over several
# lines), `files:` (comma-separated, optional) and `verify:` (optional). Delete a block to
# drop a task, write a new one to add it; the order of the blocks is the order of the work.
# Lines starting with `#` are comments. `samocoder resume` carries out the saved plan.
",
    );
    if !done.is_empty() {
        out.push_str("#\n# Done (not editable):\n");
        for (ordinal, title) in done {
            out.push_str(&format!("#   done {ordinal}. {}\n", one_line(title)));
        }
    }
    for t in open {
        out.push('\n');
        out.push_str(&format!("## {}\n", one_line(&t.title)));
        let mut goal = t.goal.trim().lines();
        out.push_str(&format!("goal: {}\n", goal.next().unwrap_or_default()));
        for l in goal {
            out.push_str(&format!("  {l}\n"));
        }
        if !t.files.is_empty() {
            out.push_str(&format!("files: {}\n", t.files.join(", ")));
        }
        if let Some(v) = t.verify.as_deref().filter(|v| !v.trim().is_empty()) {
            out.push_str(&format!("verify: {}\n", one_line(v)));
        }
    }
    out
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads the header line `# samocoder plan: NAME, iteration N, D of T tasks done`.
fn header(line: &str) -> Option<PlanHeader> {
    let rest = line.strip_prefix("# samocoder plan: ")?;
    let (project, rest) = rest.split_once(", iteration ")?;
    let (iteration, rest) = rest.split_once(", ")?;
    let (done, rest) = rest.split_once(" of ")?;
    let total = rest.strip_suffix(" tasks done")?;
    Some(PlanHeader {
        project: project.to_string(),
        iteration: iteration.parse().ok()?,
        done: done.parse().ok()?,
        total: total.parse().ok()?,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Goal,
    Files,
    Verify,
}

struct Draft {
    line: usize,
    title: String,
    goal: Option<String>,
    files: Option<Vec<String>>,
    verify: Option<String>,
}

/// Reads an edited plan; every problem is reported, with its line.
pub fn parse(text: &str) -> Result<PlanFile, Vec<PlanProblem>> {
    let mut problems = Vec::new();
    let mut head = None;
    let mut drafts: Vec<Draft> = Vec::new();
    let mut field: Option<Field> = None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if line.starts_with('#') && !line.starts_with("##") {
            if i == 0 {
                head = header(line);
            }
            continue;
        }
        if let Some(title) = line.strip_prefix("##") {
            let title = one_line(title);
            if title.is_empty() {
                problems.push(PlanProblem {
                    line: n,
                    message: "a task needs a title after `##`".into(),
                });
            } else if title.chars().count() > MAX_TITLE {
                problems.push(PlanProblem {
                    line: n,
                    message: format!("the title is longer than {MAX_TITLE} characters"),
                });
            }
            drafts.push(Draft {
                line: n,
                title,
                goal: None,
                files: None,
                verify: None,
            });
            field = None;
            continue;
        }
        if line.trim().is_empty() {
            // A blank line inside a goal is kept; elsewhere it separates blocks.
            if let (Some(Field::Goal), Some(d)) = (field, drafts.last_mut())
                && let Some(g) = d.goal.as_mut()
                && !g.is_empty()
            {
                g.push('\n');
            }
            continue;
        }
        let Some(d) = drafts.last_mut() else {
            problems.push(PlanProblem {
                line: n,
                message: "text before the first task; start a task with `## <title>` (or make the line a comment with `#`)".into(),
            });
            continue;
        };
        let unindented = !raw.starts_with([' ', '\t']);
        if let Some((key, value)) = line.split_once(':')
            && unindented
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        {
            let value = value.trim();
            let (f, seen) = match key.to_ascii_lowercase().as_str() {
                "goal" => (Field::Goal, d.goal.is_some()),
                "files" => (Field::Files, d.files.is_some()),
                "verify" => (Field::Verify, d.verify.is_some()),
                other => {
                    problems.push(PlanProblem {
                        line: n,
                        message: format!("unknown field `{other}:`; a task has `goal:`, `files:` and `verify:` (indent the line to continue the goal)"),
                    });
                    continue;
                }
            };
            if seen {
                problems.push(PlanProblem {
                    line: n,
                    message: format!("`{key}:` is given twice in task \"{}\"", d.title),
                });
                continue;
            }
            match f {
                Field::Goal => d.goal = Some(value.to_string()),
                Field::Files => d.files = Some(split_files(value)),
                Field::Verify => d.verify = Some(value.to_string()),
            }
            field = Some(f);
            continue;
        }
        match field {
            Some(Field::Goal) => {
                let g = d.goal.get_or_insert_with(String::new);
                if !g.is_empty() {
                    g.push('\n');
                }
                g.push_str(line.trim());
            }
            Some(Field::Files) => d.files.get_or_insert_with(Vec::new).extend(split_files(line)),
            Some(Field::Verify) => {
                let v = d.verify.get_or_insert_with(String::new);
                v.push(' ');
                v.push_str(line.trim());
            }
            None => problems.push(PlanProblem {
                line: n,
                message: format!("text in task \"{}\" outside a field; start it with `goal:`, `files:` or `verify:`", d.title),
            }),
        }
    }
    let mut tasks = Vec::new();
    for d in drafts {
        let goal = d
            .goal
            .as_deref()
            .map(str::trim)
            .unwrap_or_default()
            .to_string();
        if goal.is_empty() {
            problems.push(PlanProblem {
                line: d.line,
                message: format!(
                    "task \"{}\" has no goal; add a `goal:` line under it",
                    d.title
                ),
            });
        } else if goal.len() > MAX_GOAL {
            problems.push(PlanProblem {
                line: d.line,
                message: format!(
                    "the goal of task \"{}\" is longer than {MAX_GOAL} bytes",
                    d.title
                ),
            });
        }
        let files = d.files.unwrap_or_default();
        if files.len() > MAX_FILES {
            problems.push(PlanProblem {
                line: d.line,
                message: format!("task \"{}\" names more than {MAX_FILES} files", d.title),
            });
        }
        for f in &files {
            if let Some(why) = bad_path(f) {
                problems.push(PlanProblem {
                    line: d.line,
                    message: format!("task \"{}\": file `{f}` {why}", d.title),
                });
            }
        }
        tasks.push(PlannedTaskAnswer {
            title: d.title,
            goal,
            files,
            verify: d
                .verify
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
        });
    }
    if tasks.is_empty() && problems.is_empty() {
        problems.push(PlanProblem {
            line: 0,
            message: "the plan has no open task left; keep at least one `## <title>` block (to stop the work, simply do not resume)".into(),
        });
    }
    if tasks.len() > MAX_TASKS {
        problems.push(PlanProblem {
            line: 0,
            message: format!("{} tasks is too many; at most {MAX_TASKS}", tasks.len()),
        });
    }
    if problems.is_empty() {
        Ok(PlanFile {
            header: head,
            tasks,
        })
    } else {
        problems.sort_by_key(|p| p.line);
        Err(problems)
    }
}

fn split_files(s: &str) -> Vec<String> {
    s.split(',')
        .map(|f| f.trim().trim_matches('`').to_string())
        .filter(|f| !f.is_empty())
        .collect()
}

/// Why a listed file cannot be one of the project's (the same rules as a model's paths).
fn bad_path(f: &str) -> Option<&'static str> {
    if f.len() > 4096 || f.contains('\0') {
        return Some("is not a usable path");
    }
    if f.starts_with(['/', '\\']) || f.as_bytes().get(1) == Some(&b':') {
        return Some("must be relative to the project root");
    }
    let mut depth: i64 = 0;
    for c in f.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Some("leaves the project");
                }
            }
            _ => depth += 1,
        }
    }
    None
}

#[cfg(test)]
#[path = "plan_file_tests.rs"]
mod tests;
