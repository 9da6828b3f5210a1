//! Reviewing the plan before paying for it: `new --plan-only` stops after the plan with an
//! estimate, `plan PROJECT` shows it in the file format, `plan --edit` changes it through the
//! user's editor (a script here) with bad edits refused by line and never lost, `--apply`
//! replaces it from a file, `resume` carries out the edited plan, `new --estimate` is a dry run,
//! and `show` puts the estimate beside what was spent.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::agent_run::todo_cassette;
use crate::common::Env;
use crate::common::agent::run;

fn plan_only(env: &Env) -> PathBuf {
    let cassette = todo_cassette();
    let r = run(
        env,
        &[
            "new",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--plan-only",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    let end = r.finished();
    assert_eq!(end["status"], "planned");
    assert_eq!(end["tasks_done"], 0);
    assert_eq!(end["model_calls"], 3, "spec, architecture and plan only");
    assert!(
        end["message"]
            .as_str()
            .unwrap()
            .contains("samocoder plan todo"),
        "{end}"
    );
    assert!(r.of_type("task_started").is_empty());
    let e = &r.of_type("cost_estimate")[0];
    assert_eq!(e["estimate"]["tasks"]["low"], 2);
    assert_eq!(e["estimate"]["source"], "typical");
    assert!(
        e["estimate"]["calls"]["high"].as_u64().unwrap()
            >= e["estimate"]["calls"]["low"].as_u64().unwrap()
    );
    assert!(
        r.of_type("plan_created")[0]["tasks"][1]["goal"]
            .as_str()
            .unwrap()
            .contains("python3 -m todo")
    );
    cassette
}

/// An editor: a shell script run on the file (`EDITOR="sh SCRIPT"`).
fn editor(env: &Env, name: &str, script: &str) -> String {
    let path = env.root.path().join(name);
    std::fs::write(&path, script).unwrap();
    format!("sh {}", path.display())
}

fn plan_json(env: &Env) -> Value {
    let out = env.cmd().args(["plan", "todo", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn titles(v: &Value) -> Vec<String> {
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn plan_only_then_an_edit_in_the_editor_then_resume_carries_out_the_edited_plan() {
    let env = Env::new();
    let cassette = plan_only(&env);
    assert!(!env.work().join("todo/todo").exists(), "no task ran");

    // `plan` prints the file an edit starts from, with the estimate as comments.
    let out = env.cmd().args(["plan", "todo"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("# samocoder plan: todo, iteration 1, 0 of 2 tasks done\n"),
        "{text}"
    );
    assert!(
        text.contains("\n## Todo storage\ngoal: A Store class"),
        "{text}"
    );
    assert!(
        text.contains("files: todo/cli.py, todo/__main__.py, tests/test_cli.py\n"),
        "{text}"
    );
    assert!(text.contains("# Estimate: $"), "{text}");
    assert_eq!(plan_json(&env)["estimate"]["tasks"]["low"], 2);
    // `resume --estimate` prices the open tasks of the saved plan and spends nothing.
    let out = env
        .cmd()
        .args([
            "resume",
            "todo",
            "--replay",
            cassette.to_str().unwrap(),
            "--estimate",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["estimate"]["tasks"],
        serde_json::json!({"low": 2, "high": 2})
    );
    assert_eq!(
        v["estimate"]["cost_usd"]["high"], 0.0,
        "a replay costs nothing"
    );

    let edit = editor(
        &env,
        "edit.sh",
        "sed -i 's/^## Command-line interface$/## A friendly command line/' \"$1\"\n",
    );
    let out = env
        .cmd()
        .env("EDITOR", &edit)
        .args(["plan", "todo", "--edit"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Saved the plan of todo: 2 open tasks"));
    assert_eq!(
        titles(&plan_json(&env)),
        ["Todo storage", "A friendly command line"]
    );

    let r = run(
        &env,
        &[
            "resume",
            "todo",
            "--replay",
            cassette.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["tasks_done"], 2);
    let started: Vec<&str> = r
        .of_type("task_started")
        .iter()
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["Todo storage", "A friendly command line"]);
    assert!(
        r.of_type("cost_estimate").is_empty(),
        "the plan was estimated when it was made"
    );

    // `show` puts the estimate beside what was spent.
    let out = env.cmd().args(["show", "todo", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = &v["estimates"][0];
    assert_eq!(e["estimate"]["tasks"]["low"], 2);
    assert!(e["actual_calls"].as_i64().unwrap() > 0, "{e}");
    assert_eq!(e["actual_usd"], 0.0);
    let out = env.cmd().args(["show", "todo"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Estimate:"), "{text}");
    assert!(text.contains("actual since: $0.0000 in"), "{text}");
}

#[test]
fn a_bad_edit_is_refused_with_its_lines_and_kept_and_can_be_applied_once_fixed() {
    let env = Env::new();
    plan_only(&env);
    let before = plan_json(&env);
    let bad = editor(
        &env,
        "bad.sh",
        "sed -i 's/^goal: A Store class/gaol: A Store class/' \"$1\"\nprintf 'stray line\\n' >> \"$1\"\n",
    );
    let out = env
        .cmd()
        .env("EDITOR", &bad)
        .args(["plan", "todo", "--edit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown field `gaol:`"), "{err}");
    assert!(err.contains("line 9:"), "the line of the bad field: {err}");
    assert!(err.contains("has no goal"), "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error: the plan was not changed:"),
        "{last}"
    );
    assert_eq!(plan_json(&env)["tasks"], before["tasks"], "nothing changed");

    // The edit is kept where the error says; fixed, it applies.
    let kept = last
        .split("your edit is kept in ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no kept file in {last}"));
    let text = std::fs::read_to_string(&kept).unwrap();
    assert!(text.contains("gaol: A Store class"), "{text}");
    let fixed = text.replace("gaol:", "goal:").replace("stray line\n", "");
    std::fs::write(&kept, fixed).unwrap();
    let out = env
        .cmd()
        .args(["plan", "todo", "--apply", kept.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no changes"),
        "the fixed file is the plan as it was"
    );

    // A failing editor changes nothing either.
    let out = env
        .cmd()
        .env("EDITOR", "false")
        .args(["plan", "todo", "--edit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the editor `false` failed"));
    assert_eq!(plan_json(&env)["tasks"], before["tasks"]);
}

#[test]
fn apply_refuses_a_file_written_from_another_plan() {
    let env = Env::new();
    plan_only(&env);
    let file = env.root.path().join("plan.md");
    let out = env.cmd().args(["plan", "todo"]).output().unwrap();
    std::fs::write(&file, out.stdout).unwrap();
    let stale = std::fs::read_to_string(&file)
        .unwrap()
        .replace("iteration 1, 0 of 2", "iteration 1, 1 of 2");
    std::fs::write(&file, stale).unwrap();
    let out = env
        .cmd()
        .args(["plan", "todo", "--apply", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("written from another plan"));
}

#[test]
fn new_estimate_is_a_dry_run_with_a_range_and_creates_nothing() {
    let env = Env::new();
    env.write_config("[routes]\ndefault = [\"openai:gpt-4.1\"]\n");
    let out = env
        .cmd()
        .args([
            "new",
            "-d",
            "a todo CLI in Python with tests",
            "--estimate",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    let e = &v["estimate"];
    assert_eq!(e["tasks"]["low"], 2);
    assert_eq!(e["tasks"]["high"], 6);
    let cost = &e["cost_usd"];
    assert!(
        cost["low"].as_f64().unwrap() > 0.0
            && cost["high"].as_f64().unwrap() > cost["low"].as_f64().unwrap(),
        "{v}"
    );
    assert_eq!(v["models"]["coder"], "openai:gpt-4.1");
    assert!(!Path::new(&env.work().join("todo-cli-python")).exists());
    assert!(
        !env.home().join("samocoder.db").exists(),
        "nothing was created"
    );
    let out = env
        .cmd()
        .args([
            "new",
            "-d",
            "a todo CLI",
            "--estimate",
            "--model",
            "mystery:model",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unknown provider is refused");
    let out = env
        .cmd()
        .args(["new", "-d", "a todo CLI", "--estimate"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Estimate: $"), "{text}");
    assert!(text.contains("Nothing was created or spent"), "{text}");
}
