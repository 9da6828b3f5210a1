//! A run on an adopted repository (a directory the user already had, `new --here`). The run
//! switches the directory to samocoder's branch when it starts ([`Session::enter_adopted`]),
//! works and commits there leaving the user's uncommitted changes out, and switches back when
//! it ends ([`Session::leave_adopted`]), so the user's branch, files and uncommitted changes are
//! as they were and samocoder's work is on its own branch; the finish says what changed and how
//! to merge it. A run killed on samocoder's branch is switched back by the next one.
//!
//! The spec step writes a change spec (`.samocoder/<project>.change.md`, never one of the
//! user's files), and the architecture is read from the repository's files; the architect is
//! asked only when they say nothing (and the run says it assumed, or asks the user).

use std::collections::BTreeSet;

use serde_json::json;

use super::error::AgentError;
use super::roles::{ArchitectureAnswer, submit_architecture_tool};
use super::session::{Session, Thread};
use crate::protocol::{
    ArchitectureSource, BranchCommit, Event, QuestionReply, QuestionRequest, Role, SwitchPurpose,
};
use crate::provenance::{BranchRecord, Record};
use crate::store::Adoption;
use crate::templates;
use crate::workspace::{Change, CommitId, Head};

/// The message of the commit that keeps samocoder's unfinished work when a run stops.
const UNFINISHED: &str = "samocoder: unfinished work, kept when the run stopped";

/// How much of the README and of the repository's own SPEC.md the spec writer sees.
const EXCERPT_CHARS: usize = 4000;

/// The state of an adopted project during a run.
#[derive(Debug, Clone)]
pub struct Adopted {
    pub row: Adoption,
    /// The user's uncommitted changes: never written by samocoder, never in its commits.
    pub keep_out: BTreeSet<String>,
    /// What to switch back to when the run ends (`None`: the user had samocoder's branch
    /// checked out; it stays).
    pub return_to: Option<Head>,
}

/// Registers a directory the user already has as a project, without changing their files:
/// checks it (a repository's top directory with commits, or no repository at all), makes
/// samocoder's branch at the current commit, and saves the project. A directory that is not a
/// repository becomes one first ([`crate::workspace::Workspace::init_adopted`]). Uncommitted
/// changes are refused unless `allow_dirty` (`command` is what the user ran, for the message).
pub fn adopt(
    store: &crate::store::Store,
    new: &crate::store::NewProject,
    allow_dirty: bool,
    command: &str,
    config: &crate::config::Config,
) -> Result<NewAdoption, AgentError> {
    use crate::workspace::{RepoState, Workspace};
    let limits = &config.limits;
    let ws = Workspace::open(&new.dir)?
        .with_user_file_limit(limits.max_user_file_bytes.max(limits.max_file_bytes));
    let dir = new.dir.display().to_string();
    let user_changes: Vec<String>;
    let mut left_out = None;
    let (base_branch, base_commit, initialized) = match ws.repo_state()? {
        RepoState::Repo { head, commit } => {
            let changes = ws.uncommitted()?;
            if !changes.is_empty() && !allow_dirty {
                return Err(AgentError::Usage(dirty_refusal(
                    &new.dir, &changes, command,
                )));
            }
            user_changes = changes.into_iter().map(|c| c.path).collect();
            let branch = match head {
                Head::Branch(b) => Some(b),
                Head::Detached(_) => None,
            };
            (branch, commit, false)
        }
        RepoState::NotRepo => {
            // What the base commit leaves out stays the user's, never committed by samocoder
            // (large files go to .git/info/exclude).
            let made = ws.init_adopted()?;
            user_changes = Vec::new();
            left_out = made.warning();
            let commit = made.commit.expect("init_adopted always commits");
            (Some("main".to_string()), commit, true)
        }
        RepoState::Unborn => {
            return Err(AgentError::Usage(format!(
                "{dir} is a git repository without any commit yet; commit your files first (git add -A && git commit -m \"first commit\"), then run this again"
            )));
        }
        RepoState::InsideRepo(top) => {
            return Err(AgentError::Usage(format!(
                "{dir} is inside the git repository {}; adopt the repository itself (samocoder new --dir {}), or make {dir} a repository of its own (git init) first",
                top.display(),
                top.display()
            )));
        }
        RepoState::Bare => {
            return Err(AgentError::Usage(format!(
                "{dir} is a bare git repository (it has no work tree); adopt a checkout of it"
            )));
        }
    };
    let branch = ws.next_branch_name(&new.name)?;
    ws.create_branch(&branch, &base_commit)?;
    ws.exclude_meta_dir()?;
    let saved = store.transaction(|db| {
        let project = db.create_project(new)?;
        let adoption = db.insert_adoption(&crate::store::NewAdoption {
            project_id: project.id,
            base_branch: base_branch.clone(),
            base_commit: base_commit.as_str().to_string(),
            branch: branch.clone(),
            initialized,
        })?;
        db.append_provenance(
            &project,
            None,
            None,
            &Record::Adopt(crate::provenance::AdoptRecord {
                dir: dir.clone(),
                base_branch: base_branch.clone(),
                base_commit: base_commit.as_str().to_string(),
                branch: branch.clone(),
                initialized,
                user_changes: user_changes.clone(),
            }),
        )?;
        db.append_audit(
            Some(project.id),
            "project.adopt",
            &json!({"dir": dir, "branch": branch, "base_commit": base_commit.as_str()}),
        )?;
        Ok((project, adoption))
    });
    if saved.is_err() {
        // Nothing refers to the branch yet: take it back.
        let _ = ws.delete_branch(&branch);
    }
    let (project, adoption) = saved?;
    Ok(NewAdoption {
        project,
        adoption,
        left_out,
    })
}

/// A directory [`adopt`]ed.
pub struct NewAdoption {
    pub project: crate::store::Project,
    pub adoption: crate::store::Adoption,
    /// For a directory that was not a repository: what its base commit left out (a warning).
    pub left_out: Option<String>,
}

/// The refusal of a directory with uncommitted changes, with what to do.
pub fn dirty_refusal(dir: &std::path::Path, changes: &[Change], command: &str) -> String {
    let shown: Vec<String> = changes.iter().take(5).map(|c| c.to_string()).collect();
    let more = changes.len().saturating_sub(5);
    let list = if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    };
    format!(
        "{} has uncommitted changes ({list}); samocoder works on a branch of its own and leaves them out of its commits only when told to: commit or stash them first, or run `{command} --allow-dirty` to leave them exactly as they are (samocoder then never edits those files)",
        dir.display()
    )
}

/// `'a b'` for a shell when it needs quotes.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The first `n` characters of a text.
fn excerpt(text: &str, n: usize) -> String {
    let mut s: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        s.push_str("\n[…]");
    }
    s
}

impl Session<'_> {
    /// The user's uncommitted changes, refused unless `--allow-dirty` (temp files a killed run
    /// of samocoder left are removed, not counted).
    fn user_changes(&self, command: &str) -> Result<Vec<Change>, AgentError> {
        let changes = self.ws.drop_stale_temp_files(self.ws.uncommitted()?)?;
        if !changes.is_empty() && !self.deps.allow_dirty {
            return Err(AgentError::Usage(dirty_refusal(
                self.ws.root(),
                &changes,
                command,
            )));
        }
        Ok(changes)
    }

    /// Switches an adopted directory to samocoder's branch (nothing for other projects).
    /// Where to switch back is saved before the switch, so a killed run is finished later.
    /// `new_change`: a change request on a finished project (`resume -d`), which starts on a
    /// new branch from the user's current commit, so it builds on what they merged since.
    pub(super) fn enter_adopted(&mut self, new_change: bool) -> Result<(), AgentError> {
        let Some(mut row) = self.store().adoption(self.project.id)? else {
            return Ok(());
        };
        let now = self.ws.checked_out()?;
        let open = self.store().next_open_task(self.project.id)?.is_some();
        if new_change && !open && row.return_to.is_none() && now != Head::Branch(row.branch.clone())
        {
            let commit = match self.ws.head()? {
                Some(c) => c,
                None => CommitId::new(row.base_commit.clone()),
            };
            let branch = self.ws.next_branch_name(&self.project.name)?;
            self.ws.create_branch(&branch, &commit)?;
            let base_branch = match &now {
                Head::Branch(b) => Some(b.clone()),
                Head::Detached(_) => None,
            };
            self.store().set_adoption_base(
                self.project.id,
                base_branch.as_deref(),
                commit.as_str(),
                &branch,
            )?;
            row.base_branch = base_branch;
            row.base_commit = commit.as_str().to_string();
            row.branch = branch;
        }
        if !self.ws.branch_exists(&row.branch)? {
            return Err(AgentError::Usage(format!(
                "samocoder's branch {} is no longer in {} (deleted?); without it the work cannot go on: forget the project with `samocoder rm {}` and adopt the directory again",
                row.branch,
                self.ws.root().display(),
                self.project.name
            )));
        }
        let target = Head::Branch(row.branch.clone());
        let resume = format!("samocoder resume {}", self.project.name);
        let (return_to, keep_out, switched) = if now == target {
            match &row.return_to {
                // A run stopped on the branch before it could switch back (killed): its
                // unfinished work is uncommitted here, to be kept when this run leaves.
                Some(r) => {
                    self.ws.drop_stale_temp_files(self.ws.uncommitted()?)?;
                    self.touched
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    (
                        Some(Head::parse(r)),
                        row.user_changes.iter().cloned().collect(),
                        false,
                    )
                }
                // The user has samocoder's branch checked out: what changed on it is theirs.
                None => {
                    let c = self.user_changes(&resume)?;
                    (None, c.into_iter().map(|c| c.path).collect(), false)
                }
            }
        } else {
            let changes = self.user_changes(&resume)?;
            let keep: BTreeSet<String> = changes.into_iter().map(|c| c.path).collect();
            let list: Vec<String> = keep.iter().cloned().collect();
            self.store()
                .set_adoption_checkout(self.project.id, Some(&now.stored()), &list)?;
            if let Err(e) = self.ws.switch_to(&target) {
                self.store()
                    .set_adoption_checkout(self.project.id, None, &[])?;
                return Err(e.into());
            }
            (Some(now), keep, true)
        };
        let from = return_to
            .as_ref()
            .map_or_else(|| row.branch.clone(), |h| h.to_string());
        let user_changes: Vec<String> = keep_out.iter().cloned().collect();
        if switched {
            self.record(
                None,
                Record::Branch(BranchRecord {
                    event: "enter".into(),
                    from: from.clone(),
                    to: row.branch.clone(),
                    saved: None,
                }),
            )?;
        }
        self.emit(Event::BranchSwitched {
            purpose: SwitchPurpose::Enter,
            from,
            to: row.branch.clone(),
            user_changes,
            saved: None,
        });
        self.adopted = Some(Adopted {
            row,
            keep_out,
            return_to,
        });
        Ok(())
    }

    /// Stops before a commit when the directory is not on samocoder's branch any more
    /// (something switched it during the run): samocoder commits only on its own branch.
    pub(super) fn ensure_on_own_branch(&self) -> Result<(), AgentError> {
        let Some(a) = &self.adopted else {
            return Ok(());
        };
        let now = self.ws.checked_out()?;
        if now == Head::Branch(a.row.branch.clone()) {
            return Ok(());
        }
        Err(AgentError::Failed(format!(
            "the directory is on {now}, not on samocoder's branch {}: something switched it during the run, and samocoder commits only on its own branch, so nothing was committed; switch back with `git switch {}` (uncommitted changes come along), then `samocoder resume {}`",
            a.row.branch, a.row.branch, self.project.name
        )))
    }

    /// Commits samocoder's unfinished work on its branch and switches the directory back to
    /// what the user had. Nothing for other projects, or when the user was on the branch.
    pub(super) fn leave_adopted(&mut self) -> Result<(), AgentError> {
        let Some(a) = self.adopted.clone() else {
            return Ok(());
        };
        let Some(to) = a.return_to.clone() else {
            return Ok(());
        };
        if self.ws.checked_out()? == to {
            // Already back (a command switched it): nothing of samocoder's to keep from here.
            self.store()
                .set_adoption_checkout(self.project.id, None, &[])?;
            return Ok(());
        }
        self.ensure_on_own_branch()?;
        // Nothing written and no command run: nothing of samocoder's to keep (and no status of
        // a large tree to take).
        let saved = if self.touched.load(std::sync::atomic::Ordering::SeqCst) {
            self.ws.commit_own_changes(UNFINISHED, &a.keep_out)?.commit
        } else {
            None
        };
        self.ws.switch_to(&to)?;
        self.store()
            .set_adoption_checkout(self.project.id, None, &[])?;
        let saved = saved.map(|c| c.as_str().to_string());
        self.record(
            None,
            Record::Branch(BranchRecord {
                event: "leave".into(),
                from: a.row.branch.clone(),
                to: to.to_string(),
                saved: saved.clone(),
            }),
        )?;
        self.emit(Event::BranchSwitched {
            purpose: SwitchPurpose::Leave,
            from: a.row.branch.clone(),
            to: to.to_string(),
            user_changes: a.keep_out.iter().cloned().collect(),
            saved,
        });
        Ok(())
    }

    /// After the last task: what samocoder's branch holds and how to merge it.
    pub(super) fn changes_ready(&self) -> Result<(), AgentError> {
        let Some(a) = &self.adopted else {
            return Ok(());
        };
        let base = CommitId::new(a.row.base_commit.clone());
        let summary = self.ws.branch_summary(&base, &a.row.branch)?;
        let into = a
            .row
            .base_branch
            .clone()
            .unwrap_or_else(|| base.short().to_string());
        let dir = shell_quote(&self.ws.root().display().to_string());
        let branch = &a.row.branch;
        self.emit(Event::ChangesReady {
            branch: branch.clone(),
            base: into.clone(),
            base_commit: a.row.base_commit.clone(),
            commits: summary
                .commits
                .iter()
                .map(|(c, s)| BranchCommit {
                    commit: c.as_str().to_string(),
                    summary: s.clone(),
                })
                .collect(),
            added: summary.added,
            modified: summary.modified,
            deleted: summary.deleted,
            review: format!("git -C {dir} diff {}...{branch}", shell_quote(&into)),
            merge: match &a.row.base_branch {
                Some(b) => format!(
                    "git -C {dir} switch {} && git -C {dir} merge {branch}",
                    shell_quote(b)
                ),
                None => format!("git -C {dir} merge {branch}"),
            },
        });
        Ok(())
    }

    /// Whether the model may write `rel` (the user's uncommitted files are left alone).
    pub(super) fn protected(&self, rel: &str) -> bool {
        self.adopted
            .as_ref()
            .is_some_and(|a| a.keep_out.contains(rel))
    }

    /// The user's uncommitted files, for prompts.
    pub(super) fn user_changes_list(&self) -> Vec<String> {
        self.adopted
            .as_ref()
            .map(|a| a.keep_out.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The map the model sees: the bounded repository map for an adopted repository, the
    /// project map otherwise.
    pub(super) fn project_map_text(&self) -> Result<String, AgentError> {
        if self.adopted.is_some() {
            // The planning phases change no file of the tree the map shows: one map serves
            // the spec, the architect and the planner (a large tree is walked once, not three
            // times). Tasks change files, so each of their prompts gets a new one.
            let planning = self.current_task.is_none();
            let mut cache = self.map_cache.lock().unwrap_or_else(|p| p.into_inner());
            if planning && let Some(text) = cache.as_ref() {
                return Ok(text.clone());
            }
            let budget = self.deps.config.limits.repo_map_tokens;
            let text = self.ws.repo_map(None, budget)?.text;
            if planning {
                *cache = Some(text.clone());
            }
            return Ok(text);
        }
        let opts =
            crate::workspace::MapOptions::within_tokens(self.deps.config.limits.repo_map_tokens);
        Ok(self.ws.project_map(opts)?.render())
    }

    /// Where the change spec goes: `.samocoder/<project>.change.md`.
    pub(super) fn change_spec_name(&self) -> String {
        format!("{}.change.md", self.project.name)
    }

    /// The spec writer's first message for an adopted repository.
    pub(super) fn adopted_spec_prompt(&self) -> Result<String, AgentError> {
        let read = |name: &str| -> Option<String> {
            let p = self.ws.resolve(name).ok()?;
            self.ws
                .read(&p, 256 * 1024)
                .ok()
                .map(|t| excerpt(&t, EXCERPT_CHARS))
        };
        let readme = ["README.md", "README", "README.rst", "README.txt"]
            .iter()
            .find_map(|n| read(n));
        Ok(templates::render_prompt(
            "adopt.spec.user",
            json!({
                "project_name": self.project.name,
                "description": self.project.description,
                "readme": readme,
                "own_spec": read("SPEC.md"),
                "user_changes": self.user_changes_list(),
                "repo_map": self.project_map_text()?,
            }),
        )?)
    }

    /// The architecture of an adopted repository: read from its files, else the architect's
    /// answer (confirmed by the user when someone can answer, else assumed and said so).
    pub(super) async fn adopted_architecture(
        &self,
    ) -> Result<(ArchitectureAnswer, ArchitectureSource, Vec<String>), AgentError> {
        let found = self.ws.detect_stack();
        if let Some(test) = found.test_command {
            let evidence = found.evidence;
            let answer = ArchitectureAnswer {
                stack: found.stack,
                template: None,
                dependencies: vec![],
                install_command: found.install_command,
                test_command: test,
                notes: Some(format!("read from the repository: {}", evidence.join(", "))),
            };
            return Ok((answer, ArchitectureSource::Detected, evidence));
        }
        let thread = Thread {
            key: "architecture".into(),
            system: templates::render_prompt(
                "adopt.architect.system",
                json!({"available_tools": self.deps.available_tools}),
            )?,
            tools: vec![submit_architecture_tool()],
        };
        let first = templates::render_prompt(
            "adopt.architect.user",
            json!({"spec": self.project.spec, "repo_map": self.project_map_text()?}),
        )?;
        let mut answer: ArchitectureAnswer = self
            .structured(
                &thread,
                Role::Architect,
                &first,
                |a: &ArchitectureAnswer| {
                    if a.template().is_some() {
                        return Err("submit_architecture: leave `template` empty: the repository exists and no starter is applied to it".into());
                    }
                    a.validate(&[])
                },
            )
            .await?;
        answer.template = None;
        let question = format!(
            "Nothing in the repository says how its tests are run. The architect suggests `{}`. Press Enter to use it, or type the command that runs the tests:",
            answer.test_command
        );
        let Some(prompter) = &self.deps.prompter else {
            self.emit(Event::Warning {
                message: format!(
                    "no test command was found in the repository; assuming `{}` (the architect's guess)",
                    answer.test_command
                ),
            });
            return Ok((answer, ArchitectureSource::Assumed, vec![]));
        };
        let req = QuestionRequest {
            id: self.next_request_id(),
            questions: vec![question],
        };
        self.emit(Event::QuestionsAsked {
            request_id: req.id,
            questions: req.questions.clone(),
        });
        let reply = tokio::select! {
            reply = prompter.ask(req) => reply.unwrap_or(QuestionReply::Skip),
            _ = self.deps.cancel.cancelled() => return Err(self.interrupted()),
        };
        match reply {
            QuestionReply::Answers(a) => {
                let typed = a.first().map(|s| s.trim().to_string()).unwrap_or_default();
                if !typed.is_empty() && !typed.contains('\0') {
                    answer.test_command = typed;
                }
                Ok((answer, ArchitectureSource::User, vec![]))
            }
            QuestionReply::Skip => Ok((answer, ArchitectureSource::Assumed, vec![])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_lists_some_changes_and_says_what_to_do() {
        let changes: Vec<Change> = (0..7)
            .map(|i| Change {
                path: format!("f{i}.py"),
                code: "M".into(),
            })
            .collect();
        let m = dirty_refusal(
            std::path::Path::new("/repo"),
            &changes,
            "samocoder new --here",
        );
        assert!(
            m.starts_with("/repo has uncommitted changes (M f0.py, M f1.py"),
            "{m}"
        );
        assert!(m.contains("and 2 more"), "{m}");
        assert!(m.contains("`samocoder new --here --allow-dirty`"), "{m}");
        assert!(m.contains("commit or stash them first"), "{m}");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/home/me/app"), "/home/me/app");
        assert_eq!(shell_quote("/tmp/my app"), "'/tmp/my app'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
