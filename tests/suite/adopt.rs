//! Adopting a repository the user already has (`new --here`, `new --dir` with files): a real
//! Python project with its own `SPEC.md`, a dirty tree (a modified file, a staged new file, an
//! untracked file), a change planned and carried out from a cassette with its real tests, and
//! afterwards the user's branch, files, index and uncommitted changes exactly as they were with
//! samocoder's commits on its own branch. Then its log, its provenance export, and `rm`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::Env;
use crate::common::agent::{Cassette, Run, call, parse_events, task_done, tree, write_file};

const CLI: &str = r#""""A tiny item lister."""
import argparse
import sys

ITEMS = ["apple", "banana"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="app")
    parser.parse_args(argv)
    for item in ITEMS:
        print(item)
    return 0


if __name__ == "__main__":
    sys.exit(main())
"#;

const TEST_CLI: &str = r#"import io
import unittest
from contextlib import redirect_stdout

from app.cli import main


class CliTests(unittest.TestCase):
    def test_lists_items(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main([]), 0)
        self.assertEqual(out.getvalue(), "apple\nbanana\n")
"#;

const TEST_JSON: &str = r#"import io
import json
import unittest
from contextlib import redirect_stdout

from app.cli import main


class JsonTests(unittest.TestCase):
    def test_json_lists_items(self):
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main(["--json"]), 0)
        self.assertEqual(json.loads(out.getvalue()), ["apple", "banana"])
"#;

/// Writes the user's repository: two commits on `main`, then uncommitted work on top.
fn users_repo(dir: &Path) {
    let repo =
        git2::Repository::init_opts(dir, git2::RepositoryInitOptions::new().initial_head("main"))
            .unwrap();
    let sig = git2::Signature::now("Ada", "ada@example.com").unwrap();
    let commit = |files: &[(&str, &str)], msg: &str| {
        for (p, c) in files {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        }
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, msg, &tree, &parents)
            .unwrap();
    };
    commit(
        &[
            ("README.md", "# app\n\nLists items.\n"),
            ("SPEC.md", "# app: the user's own spec\n\nList the items.\n"),
            (
                "pyproject.toml",
                "[project]\nname = \"app\"\nversion = \"0.1.0\"\n",
            ),
            (".gitignore", "*.log\n"),
            ("app/__init__.py", ""),
            ("app/cli.py", CLI),
        ],
        "First version",
    );
    commit(
        &[("tests/__init__.py", ""), ("tests/test_cli.py", TEST_CLI)],
        "Tests",
    );
    // Work in progress: modified, staged new, untracked, and an ignored file.
    std::fs::write(
        dir.join("README.md"),
        "# app\n\nLists items.\n\nTODO: colours\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("docs/draft.md"), "draft\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("docs/draft.md")).unwrap();
    index.write().unwrap();
    std::fs::write(dir.join("notes.txt"), "call Bob\n").unwrap();
    std::fs::write(dir.join("debug.log"), "ignored\n").unwrap();
}

/// The change, answer by answer: a change spec, a plan, the edits, the tests, done.
fn change() -> Cassette {
    Cassette::new("cli")
        .tools(vec![call(
            "submit_spec",
            json!({"spec_markdown": "# Change: `--json`\n\n`app --json` prints the items as a JSON array; the default output stays.\n",
                   "assumptions": ["the JSON is one line"]}),
        )])
        .plan(&["Add --json"])
        .tools(vec![
            call("read_file", json!({"path": "app/cli.py"})),
        ])
        .tools(vec![
            call("edit_file", json!({"path": "app/cli.py", "old": "import argparse\n", "new": "import argparse\nimport json\n"})),
            call("edit_file", json!({"path": "app/cli.py",
                "old": "    parser.parse_args(argv)\n    for item in ITEMS:\n",
                "new": "    parser.add_argument(\"--json\", action=\"store_true\")\n    args = parser.parse_args(argv)\n    if args.json:\n        print(json.dumps(ITEMS))\n        return 0\n    for item in ITEMS:\n"})),
            write_file("tests/test_json.py", TEST_JSON),
        ])
        .tools(vec![task_done("added --json with a test")])
}

/// What the user sees of their work tree and index, byte for byte.
#[derive(Debug, PartialEq)]
struct Snapshot {
    head: String,
    branch: String,
    files: BTreeMap<String, Vec<u8>>,
    index: Vec<(String, String)>,
    status: Vec<(String, u32)>,
}

fn snapshot(dir: &Path) -> Snapshot {
    let repo = git2::Repository::open(dir).unwrap();
    let head = repo.head().unwrap();
    let mut files = tree(dir);
    files.retain(|k, _| !k.starts_with(".samocoder/") && !k.contains("__pycache__"));
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true).recurse_untracked_dirs(true);
    let status = repo
        .statuses(Some(&mut opts))
        .unwrap()
        .iter()
        .map(|s| (s.path().unwrap().to_string(), s.status().bits()))
        .collect();
    Snapshot {
        head: head.target().unwrap().to_string(),
        branch: head.shorthand().unwrap().to_string(),
        files,
        index: repo
            .index()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    String::from_utf8_lossy(&e.path).into_owned(),
                    e.id.to_string(),
                )
            })
            .collect(),
        status,
    }
}

fn run_in(env: &Env, cwd: &Path, args: &[&str]) -> Run {
    let out = env
        .cmd()
        .current_dir(cwd)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        events: parse_events(&stdout),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn setup(env: &Env) -> (PathBuf, PathBuf) {
    let repo = env.work().join("myapp");
    std::fs::create_dir_all(&repo).unwrap();
    users_repo(&repo);
    let cassette = change().write(&env.root.path().join("change.jsonl"));
    (repo, cassette)
}

#[test]
fn adopting_a_dirty_repository_changes_it_on_samocoders_branch_and_leaves_it_as_it_was() {
    let env = Env::new();
    let (repo, cassette) = setup(&env);
    let before = snapshot(&repo);
    let r = run_in(
        &env,
        &repo,
        &[
            "new",
            "--here",
            "--allow-dirty",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["status"], "done");

    // The user's branch, files, index and uncommitted changes: exactly as they were.
    assert_eq!(snapshot(&repo), before);
    // The test command came from the repository, and it ran for real.
    let arch = &r.of_type("architecture_chosen")[0];
    assert_eq!(arch["source"], "detected", "{arch}");
    assert_eq!(
        arch["test_command"],
        "python3 -m unittest discover -s tests -t . -v"
    );
    let tests = r.of_type("tests_run");
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0]["status"], "passed", "{}", tests[0]);
    assert!(
        tests[0]["tail"].as_str().unwrap().contains("OK"),
        "{}",
        tests[0]
    );
    // Switched in with the user's changes named, and back.
    let switched = r.of_type("branch_switched");
    assert_eq!(switched.len(), 2);
    assert_eq!(switched[0]["to"], "samocoder/cli-1");
    assert_eq!(
        switched[0]["user_changes"],
        json!(["README.md", "docs/draft.md", "notes.txt"])
    );
    assert_eq!(switched[1]["to"], "main");
    // samocoder's work: one commit on its own branch, over the user's last commit, holding the
    // change and nothing of the user's.
    let git = git2::Repository::open(&repo).unwrap();
    let ours = git
        .revparse_single("samocoder/cli-1")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(ours.summary().unwrap(), Some("Task 1: Add --json"));
    assert_eq!(ours.parent_id(0).unwrap().to_string(), before.head);
    let blob = |path: &str| -> Option<String> {
        let e = ours.tree().unwrap().get_path(Path::new(path)).ok()?;
        let o = e.to_object(&git).ok()?;
        Some(String::from_utf8_lossy(o.as_blob()?.content()).into_owned())
    };
    assert!(
        blob("app/cli.py")
            .unwrap()
            .contains("print(json.dumps(ITEMS))")
    );
    assert_eq!(blob("tests/test_json.py").unwrap(), TEST_JSON);
    assert_eq!(
        blob("README.md").unwrap(),
        "# app\n\nLists items.\n",
        "not the user's edit"
    );
    assert_eq!(
        blob("SPEC.md").unwrap(),
        "# app: the user's own spec\n\nList the items.\n"
    );
    assert!(blob("notes.txt").is_none() && blob("docs/draft.md").is_none());
    assert!(blob(".samocoder/cli.change.md").is_none());
    assert_eq!(
        git.find_branch("main", git2::BranchType::Local)
            .unwrap()
            .get()
            .target()
            .unwrap()
            .to_string(),
        before.head
    );
    // The change spec is samocoder's own file.
    assert!(
        env.read(repo.join(".samocoder/cli.change.md"))
            .starts_with("# Change: `--json`")
    );
    // The finish says what changed and how to merge; merging gives a working project.
    let ready = &r.of_type("changes_ready")[0];
    assert_eq!(ready["branch"], "samocoder/cli-1");
    assert_eq!(ready["base"], "main");
    assert_eq!(ready["modified"], json!(["app/cli.py"]));
    assert_eq!(ready["added"], json!(["tests/test_json.py"]));
    assert!(
        ready["merge"]
            .as_str()
            .unwrap()
            .ends_with("merge samocoder/cli-1"),
        "{ready}"
    );

    // The human view of `show` names the branch; `rm --files` never deletes the user's directory.
    let show = env.cmd().args(["show", "cli"]).output().unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(
        text.contains("samocoder works on branch samocoder/cli-1 (from main)"),
        "{text}"
    );
    let rm = env
        .cmd()
        .args(["rm", "cli", "--files", "--yes"])
        .output()
        .unwrap();
    assert_eq!(rm.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&rm.stderr).contains("it is your own directory"));
    assert_eq!(snapshot(&repo), before);
}

#[test]
fn regression_a_dirty_tree_is_refused_with_what_to_do_and_nothing_is_changed() {
    let env = Env::new();
    let (repo, cassette) = setup(&env);
    let before = snapshot(&repo);
    let r = run_in(
        &env,
        &repo,
        &[
            "new",
            "--here",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.describe());
    assert!(
        r.stderr
            .contains("has uncommitted changes (M README.md, A docs/draft.md, ?? notes.txt)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("commit or stash them first, or run `samocoder new --here --allow-dirty`"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&repo), before);
    let git = git2::Repository::open(&repo).unwrap();
    assert_eq!(git.branches(None).unwrap().count(), 1, "no branch was made");
    let p = env.cmd().args(["projects", "--json"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&p.stdout).trim(), "[]");
}

#[test]
fn the_log_shows_everything_done_and_is_kept_after_rm() {
    let env = Env::new();
    let (repo, cassette) = setup(&env);
    let r = run_in(
        &env,
        &repo,
        &[
            "new",
            "--dir",
            repo.to_str().unwrap(),
            "--allow-dirty",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let log = |env: &Env| -> Value {
        let out = env.cmd().args(["log", "cli", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = log(&env);
    let entries = v["entries"].as_array().unwrap();
    let of = |kind: &str| {
        entries
            .iter()
            .filter(|e| e["kind"] == kind)
            .collect::<Vec<_>>()
    };
    let calls = of("model_call");
    assert_eq!(calls.len(), 5, "{v:#}");
    assert_eq!(calls[0]["detail"]["role"], "spec");
    assert_eq!(calls[0]["detail"]["provider"], "replay");
    assert!(calls[0]["detail"]["input_tokens"].as_i64().unwrap() > 0);
    let files: Vec<&str> = of("file")
        .iter()
        .map(|e| e["detail"]["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            ".samocoder/cli.change.md",
            "app/cli.py",
            "app/cli.py",
            "tests/test_json.py"
        ]
    );
    let commands = of("command");
    assert_eq!(commands.len(), 1);
    let c = &commands[0]["detail"];
    assert_eq!(
        c["command"],
        "python3 -m unittest discover -s tests -t . -v"
    );
    assert_eq!(c["approval"], "auto");
    assert_eq!(c["sandbox"], "workspace-write");
    assert_eq!(c["exit_code"], 0);
    assert!(c["duration_ms"].as_i64().unwrap() >= 0);
    assert_eq!(commands[0]["task"], "1.1");
    let checkpoints = of("checkpoint");
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(checkpoints[0]["detail"]["title"], "Add --json");
    for kind in ["adopt", "run", "spec", "plan", "estimate", "branch"] {
        assert!(!of(kind).is_empty(), "no {kind} entry: {v:#}");
    }
    assert_eq!(v["forgotten"], false);
    // The human view has a line per thing done.
    let out = env.cmd().args(["log", "cli"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("command  $ python3 -m unittest discover -s tests -t . -v  exit 0"),
        "{text}"
    );
    assert!(text.contains("model    spec replay:cassette"), "{text}");
    assert!(text.contains("5 model calls, $0.0000"), "{text}");

    // Forgetting the project keeps its record.
    let rm = env.cmd().args(["rm", "cli"]).output().unwrap();
    assert!(rm.status.success());
    let after = log(&env);
    assert_eq!(after["forgotten"], true);
    assert_eq!(
        after["entries"].as_array().unwrap().len(),
        entries.len(),
        "{after:#}"
    );
    let kinds = |v: &Value| {
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(&after), kinds(&v));
}

#[test]
fn export_provenance_adds_how_the_project_was_made_and_never_a_key_or_the_database() {
    let env = Env::new();
    let (repo, cassette) = setup(&env);
    let r = run_in(
        &env,
        &repo,
        &[
            "new",
            "--here",
            "--allow-dirty",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let zip_path = env.root.path().join("cli.zip");
    let out = env
        .cmd()
        .env("OPENAI_API_KEY", "sk-test-secret-key-123456")
        .args([
            "export",
            "cli",
            "--provenance",
            "-o",
            zip_path.to_str().unwrap(),
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["provenance"], "samocoder");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut read = |name: &str| -> String {
        let mut s = String::new();
        zip.by_name(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    assert!(read("samocoder/SPEC.md").starts_with("# Change: `--json`"));
    assert!(read("samocoder/plan.md").contains("1. Add --json [done]"));
    let tests = read("samocoder/tests.csv");
    assert!(
        tests.starts_with("time,run,task,title,command,status,exit_code,reason\r\n"),
        "{tests}"
    );
    assert!(
        tests.contains(",1.1,Add --json,python3 -m unittest discover -s tests -t . -v,passed,0,"),
        "{tests}"
    );
    let commands = read("samocoder/commands.csv");
    assert!(
        commands.contains(
            "python3 -m unittest discover -s tests -t . -v,test,auto,ran,workspace-write,0,false,"
        ),
        "{commands}"
    );
    let ledger = read("samocoder/ledger.csv");
    assert_eq!(
        ledger.lines().count(),
        1 + 5,
        "a header and one row per call:\n{ledger}"
    );
    assert!(
        ledger
            .lines()
            .nth(1)
            .unwrap()
            .contains(",spec,replay,cassette,0,1,ok,"),
        "{ledger}"
    );
    let manifest: Value = serde_json::from_str(&read("samocoder/manifest.json")).unwrap();
    assert_eq!(manifest["samocoder_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        manifest["price_table"]["source"]
            .as_str()
            .unwrap()
            .contains("LiteLLM"),
        "{manifest}"
    );
    assert!(manifest["price_table"]["version"].as_str().unwrap().len() == 10);
    assert_eq!(manifest["totals"]["model_calls"], 5);
    assert!(read("samocoder/log.jsonl").lines().count() > 10);
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("samocoder.db") || n.starts_with(".samocoder")),
        "{names:?}"
    );
    let all = std::fs::read(&zip_path).unwrap();
    assert!(
        !String::from_utf8_lossy(&all).contains("sk-test-secret"),
        "no key in the archive"
    );
}

/// A small repository on `main` whose tests are `make test`.
fn small_repo(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let repo =
        git2::Repository::init_opts(dir, git2::RepositoryInitOptions::new().initial_head("main"))
            .unwrap();
    std::fs::write(dir.join("Makefile"), "test:\n\ttrue\n").unwrap();
    std::fs::write(dir.join("a.txt"), "a\n").unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Ada", "ada@example.com").unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "mine", &tree, &[])
        .unwrap()
        .to_string()
}

/// Regression: in an adopted repository a model could run `git commit`, `git checkout` or
/// `git stash` like any command; git commands that change the repository are refused (and
/// never reach the shell), read-only ones run.
#[test]
fn regression_git_commands_that_change_the_repository_are_refused() {
    let env = Env::new();
    let dir = env.work().join("small");
    let head = small_repo(&dir);
    let c = Cassette::new("small")
        .tools(vec![call(
            "submit_spec",
            json!({"spec_markdown": "# Change\n", "assumptions": []}),
        )])
        .plan(&["Change a"])
        .tools(vec![
            crate::common::agent::run_command("git stash && git checkout -b mine"),
            crate::common::agent::run_command("git status --short > status.txt"),
            write_file("a.txt", "A\n"),
        ])
        .tools(vec![task_done("changed a")]);
    let cassette = c.write(&env.root.path().join("c.jsonl"));
    let r = run_in(
        &env,
        &dir,
        &[
            "new",
            "--here",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let finished = r.of_type("command_finished");
    assert_eq!(finished[0]["disposition"], "refused", "{}", finished[0]);
    assert_eq!(finished[1]["disposition"], "ran", "{}", finished[1]);
    let mut git = git2::Repository::open(&dir).unwrap();
    assert_eq!(git.head().unwrap().target().unwrap().to_string(), head);
    assert!(git.find_branch("mine", git2::BranchType::Local).is_err());
    let mut stashes = 0;
    git.stash_foreach(|_, _, _| {
        stashes += 1;
        true
    })
    .unwrap();
    assert_eq!(stashes, 0, "nothing was stashed");
    let ours = git.revparse_single("samocoder/small-1:a.txt").unwrap();
    assert_eq!(ours.as_blob().unwrap().content(), b"A\n");
}

/// A command that switches the directory to the user's branch behind samocoder's back (a
/// script the guard cannot read) never gets samocoder's commit onto it: the checkpoint stops.
/// (The sandbox keeps `.git` read-only, so this needs `--sandbox off`: the checkpoint's check
/// is the second line of defence.)
#[test]
fn a_switch_behind_samocoders_back_stops_the_checkpoint_and_nothing_lands_on_the_users_branch() {
    let env = Env::new();
    let dir = env.work().join("small");
    let head = small_repo(&dir);
    let script = env.root.path().join("switch.sh");
    std::fs::write(&script, "git switch -q main\n").unwrap();
    let c = Cassette::new("small")
        .tools(vec![call(
            "submit_spec",
            json!({"spec_markdown": "# Change\n", "assumptions": []}),
        )])
        .plan(&["Change a"])
        .tools(vec![
            write_file("b.txt", "b\n"),
            crate::common::agent::run_command(&format!("sh {}", script.display())),
        ])
        .tools(vec![task_done("changed a")]);
    let cassette = c.write(&env.root.path().join("c.jsonl"));
    let r = run_in(
        &env,
        &dir,
        &[
            "new",
            "--here",
            "--replay",
            cassette.to_str().unwrap(),
            "--sandbox",
            "off",
            "--yes",
            "--json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.describe());
    let msg = r.finished()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("not on samocoder's branch samocoder/small-1"),
        "{msg}"
    );
    let git = git2::Repository::open(&dir).unwrap();
    assert_eq!(git.head().unwrap().shorthand().unwrap(), "main");
    assert_eq!(
        git.head().unwrap().target().unwrap().to_string(),
        head,
        "nothing committed on main"
    );
}
