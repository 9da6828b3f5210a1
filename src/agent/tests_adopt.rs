//! Adopted repositories in process: the user's branch, files and uncommitted changes stay as
//! they were, samocoder's work lands on its own branch, a bad model is stopped in the new
//! phases too, `--plan-only` stops with an estimate, and the provenance log records the run.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::testing::*;
use crate::exit::{Exit, ExitStatus};
use crate::protocol::{ArchitectureSource, Event, Role, RunCommand, RunStatus, SwitchPurpose};
use crate::provenance::Record;
use crate::store::{ProjectKey, ProjectStatus};

const COMMITTED: &[(&str, &str)] = &[
    ("app.py", "def main():\n    print('items')\n"),
    ("SPEC.md", "# The user's own spec\n"),
    ("README.md", "# app\n"),
    ("Makefile", "test:\n\tpython3 -m unittest\n"),
];
const DIRTY: &[(&str, &str)] = &[
    ("README.md", "# app\n\nmy notes, not committed\n"),
    ("scratch.txt", "untracked\n"),
];

/// Every file of the directory (not `.git`, not samocoder's `.samocoder`) and its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name == ".git" || name == ".samocoder" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn head(dir: &Path) -> (String, String) {
    let repo = git2::Repository::open(dir).unwrap();
    let head = repo.head().unwrap();
    (
        head.shorthand().unwrap().to_string(),
        head.target().unwrap().to_string(),
    )
}

fn blob(dir: &Path, rev: &str) -> Option<String> {
    let repo = git2::Repository::open(dir).unwrap();
    let o = repo.revparse_single(rev).ok()?;
    Some(String::from_utf8_lossy(o.as_blob()?.content()).into_owned())
}

fn change_spec() -> Reply {
    tools(&[(
        "submit_spec",
        json!({"spec_markdown": "# Change\n\nAdd --json.\n", "assumptions": []}),
    )])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_repository_is_changed_on_samocoders_branch_and_left_as_it_was() {
    let replies = vec![
        change_spec(),
        plan(&["Add --json"]),
        tools(&[
            write("app.py", "def main(json=False):\n    print('items')\n"),
            write("tests/test_app.py", "import unittest\n"),
            done(),
        ]),
    ];
    let h = Harness::adopted(replies, vec![exited(0, "OK")], COMMITTED, DIRTY, true)
        .map_err(|b| b.1)
        .unwrap();
    let dir = h.project_dir();
    let before = files(&dir);
    let (branch_before, main_before) = head(&dir);
    assert_eq!(branch_before, "main");

    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());

    // The user's branch, files and uncommitted changes are exactly as they were.
    assert_eq!(head(&dir), (branch_before, main_before.clone()));
    assert_eq!(files(&dir), before);
    let events = h.events();
    // No architect call: the Makefile says how the tests run.
    let roles: Vec<Role> = events
        .iter()
        .filter_map(|e| match e {
            Event::ModelCallStarted { role, .. } => Some(*role),
            _ => None,
        })
        .collect();
    assert_eq!(roles, [Role::Spec, Role::Planner, Role::Coder]);
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ArchitectureChosen { source: ArchitectureSource::Detected, test_command, .. } if test_command == "make test"
    )));
    assert_eq!(h.runner.commands(), ["make test"]);
    // samocoder's commit is on its own branch, without the user's changes.
    let branch = "samocoder/repo-1";
    assert_eq!(
        blob(&dir, &format!("{branch}:app.py")).unwrap(),
        "def main(json=False):\n    print('items')\n"
    );
    assert!(blob(&dir, &format!("{branch}:tests/test_app.py")).is_some());
    assert_eq!(
        blob(&dir, &format!("{branch}:README.md")).unwrap(),
        "# app\n"
    );
    assert!(blob(&dir, &format!("{branch}:scratch.txt")).is_none());
    assert_eq!(
        blob(&dir, &format!("{branch}:SPEC.md")).unwrap(),
        "# The user's own spec\n"
    );
    assert!(blob(&dir, &format!("{branch}:.samocoder/repo.change.md")).is_none());
    // The change spec is samocoder's own file, not the user's SPEC.md.
    assert_eq!(
        std::fs::read_to_string(dir.join(".samocoder/repo.change.md")).unwrap(),
        "# Change\n\nAdd --json.\n"
    );
    assert!(events.iter().any(
        |e| matches!(e, Event::SpecWritten { path, .. } if path == ".samocoder/repo.change.md")
    ));
    // Switched in and out, and the finish says what changed and how to merge.
    let switches: Vec<SwitchPurpose> = events
        .iter()
        .filter_map(|e| match e {
            Event::BranchSwitched {
                purpose,
                user_changes,
                ..
            } => {
                assert_eq!(user_changes, &["README.md", "scratch.txt"]);
                Some(*purpose)
            }
            _ => None,
        })
        .collect();
    assert_eq!(switches, [SwitchPurpose::Enter, SwitchPurpose::Leave]);
    let ready = events.iter().find_map(|e| match e {
        Event::ChangesReady {
            branch,
            base,
            base_commit,
            modified,
            added,
            commits,
            merge,
            ..
        } => Some((
            branch.clone(),
            base.clone(),
            base_commit.clone(),
            modified.clone(),
            added.clone(),
            commits.len(),
            merge.clone(),
        )),
        _ => None,
    });
    let (b, base, base_commit, modified, added, commits, merge) = ready.expect("changes_ready");
    assert_eq!((b.as_str(), base.as_str()), (branch, "main"));
    assert_eq!(base_commit, main_before);
    assert_eq!(modified, ["app.py"]);
    assert_eq!(added, ["tests/test_app.py"]);
    assert_eq!(commits, 1);
    assert!(merge.ends_with("merge samocoder/repo-1"), "{merge}");
    // The tree is never hashed whole (git keeps the record): only samocoder's own writes are
    // in the files table, not the user's files.
    let recorded: Vec<String> = h
        .store
        .list_files(h.project_id)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(recorded, ["app.py", "tests/test_app.py"]);
    // And the record of it.
    let p = h.store.project_by_id(h.project_id).unwrap();
    let kinds: Vec<&str> = h
        .store
        .provenance(&ProjectKey::from(&p))
        .unwrap()
        .iter()
        .map(|e| e.record.kind())
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    for k in [
        "adopt",
        "run",
        "branch",
        "spec",
        "plan",
        "estimate",
        "file",
        "command",
        "checkpoint",
    ] {
        assert!(kinds.contains(&k), "no {k} record in {kinds:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_dirty_tree_is_refused_and_nothing_is_created() {
    let Err(refused) = Harness::adopted(vec![], vec![], COMMITTED, DIRTY, false) else {
        panic!("adopted a dirty tree without --allow-dirty");
    };
    let (h, err) = *refused;
    let m = err.to_string();
    assert!(
        m.contains("has uncommitted changes (M README.md, ?? scratch.txt)"),
        "{m}"
    );
    assert!(m.contains("--allow-dirty"), "{m}");
    assert_eq!(err.exit(), Exit::Usage);
    assert!(
        h.store.find_project("repo").unwrap().is_none(),
        "no project"
    );
    let repo = git2::Repository::open(h._tmp.path().join("repo")).unwrap();
    let branches: Vec<String> = repo
        .branches(None)
        .unwrap()
        .map(|b| b.unwrap().0.name().unwrap().unwrap().to_string())
        .collect();
    assert_eq!(branches, ["main"], "no branch");
    assert_eq!(
        std::fs::read_to_string(h._tmp.path().join("repo/README.md")).unwrap(),
        DIRTY[0].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_cannot_write_the_users_uncommitted_files() {
    let replies = vec![
        change_spec(),
        plan(&["Change the README"]),
        tools(&[write("README.md", "overwritten\n"), done()]),
    ];
    let h = Harness::adopted(replies, vec![exited(0, "OK")], COMMITTED, DIRTY, true)
        .map_err(|b| b.1)
        .unwrap();
    let dir = h.project_dir();
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "# app\n\nmy notes, not committed\n"
    );
    let refused = h.events().into_iter().find_map(|e| match e {
        Event::ToolCall {
            ok: false, error, ..
        } => error,
        _ => None,
    });
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("uncommitted changes of the user")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_only_talks_in_the_change_spec_is_stopped_and_the_directory_switched_back() {
    let replies = (0..10)
        .map(|_| text("Here is what I would change: ..."))
        .collect();
    let h = Harness::adopted(replies, vec![], COMMITTED, &[], false)
        .map_err(|b| b.1)
        .unwrap();
    let dir = h.project_dir();
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(
        h.calls(),
        3,
        "the bounded loop holds in the adopted spec phase"
    );
    assert!(
        h.message().contains("without calling submit_spec"),
        "{}",
        h.message()
    );
    assert_eq!(head(&dir).0, "main");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_test_command_in_the_repository_the_architect_is_asked_and_the_guess_said() {
    let committed = &[("notes/app.sh", "echo hi\n")];
    let replies = vec![
        change_spec(),
        architecture("sh tests/run.sh"),
        plan(&["One"]),
        tools(&[write("tests/run.sh", "exit 0\n"), done()]),
    ];
    let h = Harness::adopted(replies, vec![exited(0, "")], committed, &[], false)
        .map_err(|b| b.1)
        .unwrap();
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    let events = h.events();
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ArchitectureChosen {
            source: ArchitectureSource::Assumed,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(e, Event::Warning { message } if message.contains("assuming `sh tests/run.sh`"))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_on_samocoders_branch_is_switched_back_by_the_next_one() {
    let replies = vec![
        change_spec(),
        plan(&["One"]),
        tools(&[write("app.py", "x = 1\n"), done()]),
    ];
    let h = Harness::adopted(replies, vec![exited(0, "")], COMMITTED, &[], false)
        .map_err(|b| b.1)
        .unwrap();
    let dir = h.project_dir();
    // What a run killed after switching leaves: the branch checked out, `return_to` saved.
    let ws = crate::workspace::Workspace::open(&dir).unwrap();
    ws.switch_to(&crate::workspace::Head::Branch("samocoder/repo-1".into()))
        .unwrap();
    h.store
        .set_adoption_checkout(h.project_id, Some("refs/heads/main"), &[])
        .unwrap();
    assert_eq!(h.run(RunCommand::Resume).await, Exit::Ok, "{}", h.message());
    assert_eq!(head(&dir).0, "main");
    assert_eq!(
        std::fs::read_to_string(dir.join("app.py")).unwrap(),
        COMMITTED[0].1
    );
    assert_eq!(blob(&dir, "samocoder/repo-1:app.py").unwrap(), "x = 1\n");
    assert_eq!(
        h.store.adoption(h.project_id).unwrap().unwrap().return_to,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_only_stops_after_the_plan_with_an_estimate_and_resume_carries_it_out() {
    let mut replies = vec![spec(), architecture("true"), plan(&["One", "Two"])];
    replies.push(tools(&[write("a.txt", "a\n"), done()]));
    replies.push(tools(&[write("b.txt", "b\n"), done()]));
    let mut h = Harness::new(replies, vec![exited(0, "")]);
    h.plan_only = true;
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    let events = h.events();
    let estimate = events.iter().find_map(|e| match e {
        Event::CostEstimate { estimate, .. } => Some(estimate.clone()),
        _ => None,
    });
    let estimate = estimate.expect("an estimate");
    assert_eq!(estimate.tasks.low, 2);
    assert!(
        estimate.cost_usd.is_some_and(|c| c.low > 0.0),
        "{estimate:?}"
    );
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished {
            status: RunStatus::Planned,
            exit_code: 0,
            ..
        })
    ));
    assert!(h.message().contains("samocoder plan t"), "{}", h.message());
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::TaskStarted { .. }))
    );
    assert_eq!(h.calls(), 3);
    assert_eq!(
        h.store.project_by_id(h.project_id).unwrap().status,
        ProjectStatus::Paused
    );

    h.plan_only = false;
    assert_eq!(h.run(RunCommand::Resume).await, Exit::Ok, "{}", h.message());
    assert_eq!(
        h.calls(),
        5,
        "the saved plan is carried out without planning again"
    );
    let p = h.store.project_by_id(h.project_id).unwrap();
    let estimates = h
        .store
        .provenance(&ProjectKey::from(&p))
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.record, Record::Estimate(_)))
        .count();
    assert_eq!(estimates, 1, "resuming a plan does not estimate it again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_change_starts_on_a_new_branch_from_what_the_user_has_now() {
    let replies = vec![
        change_spec(),
        plan(&["One"]),
        tools(&[write("one.txt", "1\n"), done()]),
        plan(&["Two"]),
        tools(&[write("two.txt", "2\n"), done()]),
    ];
    let mut h = Harness::adopted(replies, vec![exited(0, "")], COMMITTED, &[], false)
        .map_err(|b| b.1)
        .unwrap();
    let dir = h.project_dir();
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    // The user merges samocoder's branch and goes on with their own work.
    let repo = git2::Repository::open(&dir).unwrap();
    let ours = repo.revparse_single("samocoder/repo-1").unwrap().id();
    repo.reference("refs/heads/main", ours, true, "merge (fast-forward)")
        .unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
    write_file(&dir, "mine.txt", "mine\n");
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("mine.txt")).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("u", "u@example.com").unwrap();
    let parent = repo.head().unwrap().peel_to_commit().unwrap();
    let mine = repo
        .commit(Some("HEAD"), &sig, &sig, "more of mine", &tree, &[&parent])
        .unwrap();

    h.change_request = Some("add two".into());
    assert_eq!(h.run(RunCommand::Resume).await, Exit::Ok, "{}", h.message());
    let a = h.store.adoption(h.project_id).unwrap().unwrap();
    assert_eq!(a.branch, "samocoder/repo-2");
    assert_eq!(a.base_commit, mine.to_string());
    let two = repo
        .revparse_single("samocoder/repo-2")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(
        two.parent_id(0).unwrap(),
        mine,
        "built on the user's latest commit"
    );
    assert!(blob(&dir, "samocoder/repo-2:mine.txt").is_some());
    assert!(blob(&dir, "samocoder/repo-2:two.txt").is_some());
    assert_eq!(head(&dir), ("main".to_string(), mine.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_branch_stops_the_run_with_what_to_do() {
    let h = Harness::adopted(vec![change_spec()], vec![], COMMITTED, &[], false)
        .map_err(|b| b.1)
        .unwrap();
    let dir = h.project_dir();
    let repo = git2::Repository::open(&dir).unwrap();
    repo.find_branch("samocoder/repo-1", git2::BranchType::Local)
        .unwrap()
        .delete()
        .unwrap();
    assert_eq!(h.run(RunCommand::Resume).await, Exit::Usage);
    assert!(
        h.message()
            .contains("samocoder's branch samocoder/repo-1 is no longer in"),
        "{}",
        h.message()
    );
    assert_eq!(h.calls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_runs_unfinished_work_is_kept_on_the_branch_even_when_the_next_run_writes_nothing()
{
    let replies = vec![change_spec(), plan(&["One"])];
    let mut h = Harness::adopted(replies, vec![], COMMITTED, &[], false)
        .map_err(|b| b.1)
        .unwrap();
    h.plan_only = true;
    let dir = h.project_dir();
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    // A run killed after it wrote a file (and a temp file) on samocoder's branch.
    let ws = crate::workspace::Workspace::open(&dir).unwrap();
    ws.switch_to(&crate::workspace::Head::Branch("samocoder/repo-1".into()))
        .unwrap();
    write_file(&dir, "half.txt", "half\n");
    write_file(&dir, "src/.samocoder-tmp-abc123", "torn");
    h.store
        .set_adoption_checkout(h.project_id, Some("refs/heads/main"), &[])
        .unwrap();
    assert_eq!(h.run(RunCommand::Resume).await, Exit::Ok, "{}", h.message());
    assert_eq!(head(&dir).0, "main");
    assert!(
        !dir.join("half.txt").exists(),
        "not carried onto the user's branch"
    );
    assert!(
        !dir.join("src/.samocoder-tmp-abc123").exists(),
        "the torn temp file is gone"
    );
    assert_eq!(blob(&dir, "samocoder/repo-1:half.txt").unwrap(), "half\n");
    assert!(blob(&dir, "samocoder/repo-1:src/.samocoder-tmp-abc123").is_none());
}
