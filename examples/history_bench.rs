//! Benchmark of what a project's history costs each step: a project with N saved steps of
//! earlier work gets a small change (`resume -d`: a plan and one task of six model turns)
//! against the fake provider, and the whole process is timed. The per-step figures should not
//! grow with N (each turn reads its own thread through an index, never the whole history).
//!
//! ```text
//! cargo build --release && cargo run --release --example history_bench -- [--runs N] [--steps 100,10000,100000]
//! ```
//! Prints per history size: median wall time of the run, wall time per model call, and peak RSS
//! (GNU time, `/usr/bin/time`).

#[path = "../tests/common/fake_provider.rs"]
mod fake_provider;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use fake_provider::{Answer, FakeProvider};
use samocoder::llm::{FinishReason, Response, ToolCall};
use samocoder::protocol::{Checkpoint, ModelTurn, Role, StepPayload, ToolResult, UserInput};
use samocoder::store::{NewProject, NewRun, NewStep, NewTask, Store, TaskStatus};

fn arg(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A project with `steps` steps of earlier work in threads of 20, as saved by earlier runs.
fn seed(home: &Path, dir: &Path, steps: usize) {
    let store = Store::open(
        &home.join("samocoder.db"),
        Arc::new(samocoder::clock::SystemClock),
    )
    .unwrap();
    let p = store
        .create_project(&NewProject {
            name: "hist".into(),
            dir: dir.canonicalize().unwrap(),
            description: "a project with a long history".into(),
            template: None,
            budget_usd: None,
        })
        .unwrap();
    store
        .set_project_spec(p.id, "# hist\n\nA project.\n")
        .unwrap();
    store
        .set_project_architecture(
            p.id,
            &serde_json::json!({"stack": "sh", "template": null, "test_command": "true"}),
        )
        .unwrap();
    let run = store
        .start_run(&NewRun {
            project_id: Some(p.id),
            command: "new".into(),
            max_cost_usd: None,
            pid: 1,
        })
        .unwrap();
    let task = store
        .insert_task(&NewTask {
            project_id: p.id,
            iteration: 1,
            ordinal: 1,
            title: "Earlier work".into(),
            goal: "done long ago".into(),
            files: vec![],
            verify: None,
        })
        .unwrap();
    store
        .set_task_status(task.id, TaskStatus::Done, None)
        .unwrap();
    let text = "x".repeat(600);
    store
        .transaction(|db| {
            for i in 0..steps {
                let payload = match i % 20 {
                    0 => StepPayload::UserInput(UserInput {
                        content: text.clone(),
                    }),
                    19 => StepPayload::Checkpoint(Checkpoint {
                        commit: None,
                        summary: "did a part".into(),
                    }),
                    n if n % 2 == 1 => StepPayload::ModelTurn(ModelTurn {
                        role: Role::Coder,
                        response: Response {
                            text: text[..200].to_string(),
                            tool_calls: vec![ToolCall {
                                id: format!("call_{n}"),
                                name: "write_file".into(),
                                arguments: serde_json::json!({"path": "f.txt", "content": text})
                                    .to_string(),
                            }],
                            finish: Some(FinishReason::ToolCalls),
                            ..Response::default()
                        },
                    }),
                    n => StepPayload::ToolCall(ToolResult {
                        call_id: format!("call_{}", n - 1),
                        name: "write_file".into(),
                        target: "f.txt".into(),
                        result: "wrote f.txt (600 bytes)".into(),
                        is_error: false,
                    }),
                };
                db.insert_step(&NewStep {
                    project_id: p.id,
                    run_id: run.id,
                    task_id: Some(task.id),
                    thread: format!("task:old-{}", i / 20),
                    payload,
                })?;
            }
            Ok(())
        })
        .unwrap();
    store
        .finish_run(run.id, samocoder::store::RunStatus::Ok, Some(0))
        .unwrap();
    store
        .set_project_status(p.id, samocoder::store::ProjectStatus::Done)
        .unwrap();
}

/// The change: a one-task plan, four tool turns, `task_done`.
fn answers() -> Vec<Answer> {
    let plan =
        serde_json::json!({"tasks": [{"title": "Add two files", "goal": "a.txt and b.txt"}]});
    let w = |p: &str| serde_json::json!({"path": p, "content": "hello\n"}).to_string();
    vec![
        Answer::tools(&[("call_1", "submit_plan", &plan.to_string())]),
        Answer::tools(&[("call_1", "list_files", "{}")]),
        Answer::tools(&[("call_1", "write_file", &w("a.txt"))]),
        Answer::tools(&[("call_1", "write_file", &w("b.txt"))]),
        Answer::tools(&[("call_1", "run_command", r#"{"command": "true"}"#)]),
        Answer::tools(&[("call_1", "task_done", r#"{"summary": "two files"}"#)]),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = arg(&args, "--runs")
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let sizes: Vec<usize> = arg(&args, "--steps")
        .unwrap_or_else(|| "100,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/samocoder");
    assert!(
        bin.is_file(),
        "build the release binary first: cargo build --release"
    );
    for steps in sizes {
        let mut walls = Vec::new();
        let mut peaks = Vec::new();
        let mut calls = 0;
        for _ in 0..runs {
            let tmp = tempfile::tempdir().unwrap();
            let home = tmp.path().join("home");
            let dir = tmp.path().join("hist");
            std::fs::create_dir_all(&home).unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            seed(&home, &dir, steps);
            let server = FakeProvider::start().await;
            for a in answers() {
                server.push_answer(a);
            }
            std::fs::write(
                home.join("config.toml"),
                format!(
                    "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\n\n[routes]\ndefault = [\"fake:bench\"]\n",
                    server.base_url()
                ),
            )
            .unwrap();
            let bin2 = bin.clone();
            let started = Instant::now();
            let out = tokio::task::spawn_blocking(move || {
                Command::new("/usr/bin/time")
                    .args(["-f", "%M"])
                    .arg(&bin2)
                    .arg("--home")
                    .arg(&home)
                    .args(["--json", "resume", "hist", "--yes", "-d", "add two files"])
                    .output()
                    .expect("run samocoder")
            })
            .await
            .unwrap();
            let wall = started.elapsed().as_secs_f64();
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = String::from_utf8_lossy(&out.stdout)
                .lines()
                .last()
                .unwrap_or("")
                .to_string();
            assert!(last.contains("\"status\":\"done\""), "{last}\n{stderr}");
            let peak: f64 = stderr
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0.0);
            calls = server.requests().len();
            walls.push(wall);
            peaks.push(peak / 1024.0);
        }
        walls.sort_by(|a, b| a.partial_cmp(b).unwrap());
        peaks.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let wall = walls[walls.len() / 2];
        println!(
            "{steps:>7} history steps: run {:.0} ms, {:.1} ms per model call ({calls} calls), peak RSS {:.1} MiB",
            wall * 1000.0,
            wall * 1000.0 / calls.max(1) as f64,
            peaks[peaks.len() / 2],
        );
    }
}
