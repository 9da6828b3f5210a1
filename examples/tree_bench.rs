//! What the size of a project costs samocoder: whole-process runs of the release binary against
//! the fake provider (real OpenAI wire format) on projects of N user files.
//!
//! ```text
//! cargo build --release && cargo run --release --example tree_bench -- [--files 100,1000,10000,50000] [--steps 10] [--runs 3] [--bin PATH] [--vs PATH]
//! ```
//! `--bin` times another samocoder binary than `target/release/samocoder`; `--vs` times a
//! second one in alternation with the first (before/after comparisons on a noisy machine).
//! For each N it makes a new project (`new` in an empty directory: spec, architecture, a
//! one-task plan, `task_done`, the test command `true`), then the user adds N small files
//! (100 a directory), then:
//! - `first`: the first `resume -d` after that (the user's files found, the stat cache filled,
//!   the checkpoint of what the user added);
//! - per-command overhead: a `resume -d` whose task runs `--steps` times `run_command true`,
//!   minus the same `resume -d` without them, divided by `--steps`;
//! - per-step overhead: the same with `read_file SPEC.md` instead of the command.
//!
//! Each figure is the median of `--runs` runs (the runs alternate, so drift hits all alike).

#[path = "../tests/common/fake_provider.rs"]
mod fake_provider;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use fake_provider::{Answer, FakeProvider, FakeToolCall, Reply};

fn arg(args: &[String], flag: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn call(name: &str, args: serde_json::Value) -> Answer {
    Answer {
        tool_calls: vec![FakeToolCall {
            id: "call_1".into(),
            name: name.into(),
            arguments: args.to_string(),
        }],
        ..Answer::default()
    }
}

fn plan_answer() -> Answer {
    call(
        "submit_plan",
        serde_json::json!({"tasks": [{"title": "Bench task", "goal": "Run the bench steps.",
                                      "files": [], "verify": "true"}]}),
    )
}

fn done() -> Answer {
    call("task_done", serde_json::json!({"summary": "done"}))
}

/// The project's user files: `data/dNNN/fNNNNN.txt`, 100 a directory, about 120 bytes each.
fn make_files(dir: &Path, n: usize) {
    for i in 0..n {
        let sub = dir.join(format!("data/d{:03}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::write(
            sub.join(format!("f{i:05}.txt")),
            format!("user file {i}\n{}\n", "x".repeat(100)),
        )
        .unwrap();
    }
}

struct Bench {
    bin: PathBuf,
    home: PathBuf,
    cwd: PathBuf,
    server: FakeProvider,
    _dir: tempfile::TempDir,
}

impl Bench {
    /// Runs samocoder with `args`, serving `answers`; returns the wall time in seconds.
    async fn run(&self, answers: Vec<Answer>, args: &[&str]) -> f64 {
        for a in answers {
            self.server.push(Reply::Answer(a));
        }
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--home")
            .arg(&self.home)
            .args(["--json"])
            .args(args)
            .current_dir(&self.cwd);
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || cmd.output().expect("run samocoder"))
            .await
            .unwrap();
        let wall = started.elapsed().as_secs_f64();
        let last = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        assert!(
            last.contains("\"status\":\"done\""),
            "run failed: {last}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(self.server.pending(), 0, "answers left over");
        wall
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sizes: Vec<usize> = arg(&args, "--files", "100,1000,10000,50000")
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("--files: numbers separated by commas")
        })
        .collect();
    let steps: usize = arg(&args, "--steps", "10").parse().expect("--steps N");
    let runs: usize = arg(&args, "--runs", "3").parse().expect("--runs N");
    assert!(
        (1..=25).contains(&steps),
        "--steps must be 1 to 25 (a task has at most 30 turns)"
    );
    let default_bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/samocoder");
    let mut bins = vec![PathBuf::from(arg(
        &args,
        "--bin",
        &default_bin.display().to_string(),
    ))];
    if let Some(i) = args.iter().position(|a| a == "--vs") {
        bins.push(PathBuf::from(args.get(i + 1).expect("--vs PATH")));
    }
    for b in &bins {
        assert!(
            b.is_file(),
            "{} is missing: build the release binary first (cargo build --release)",
            b.display()
        );
    }
    println!(
        "{:>7} {:>10} {:>14} {:>14} {:>12}  binary",
        "files", "first (ms)", "command (ms)", "step (ms)", "resume (ms)"
    );
    for n in sizes {
        // One project per binary (their databases may not be of the same schema); the runs
        // alternate between them so that the machine's drift hits both alike.
        let mut benches = Vec::new();
        for bin in &bins {
            benches.push((setup(bin).await, Vec::new(), Vec::new(), Vec::new()));
        }
        for (b, ..) in &benches {
            b.run(
                first_answers(),
                &["new", "bench", "--dir", "proj", "--yes", "-d", "bench"],
            )
            .await;
        }
        let args = ["resume", "bench", "--yes", "-d", "another change"];
        // The user adds N files to the project; the next run finds them.
        let mut firsts = Vec::new();
        for (b, ..) in &benches {
            make_files(&b.cwd.join("proj"), n);
            firsts.push(b.run(resume(vec![]), &args).await);
        }
        for _ in 0..runs {
            for (bench, base, cmd, step) in &mut benches {
                base.push(bench.run(resume(vec![]), &args).await);
                let commands = (0..steps)
                    .map(|_| call("run_command", serde_json::json!({"command": "true"})))
                    .collect();
                cmd.push(bench.run(resume(commands), &args).await);
                let reads = (0..steps)
                    .map(|_| call("read_file", serde_json::json!({"path": "SPEC.md"})))
                    .collect();
                step.push(bench.run(resume(reads), &args).await);
            }
        }
        for ((bench, base, cmd, step), new) in benches.iter().zip(firsts) {
            let per = |v: &[f64]| {
                let diffs: Vec<f64> = v
                    .iter()
                    .zip(base)
                    .map(|(t, b)| (t - b) / steps as f64)
                    .collect();
                median(diffs) * 1000.0
            };
            println!(
                "{n:>7} {:>10.0} {:>14.1} {:>14.1} {:>12.0}  {}",
                new * 1000.0,
                per(cmd),
                per(step),
                median(base.clone()) * 1000.0,
                bench.bin.display()
            );
        }
    }
}

/// A temporary home served by its own fake provider (the project is made in it by `new`).
async fn setup(bin: &Path) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let server = FakeProvider::start().await;
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\n\n[routes]\ndefault = [\"fake:bench\"]\n\n\
             [prices.\"fake:bench\"]\ninput_per_mtok = 3.0\noutput_per_mtok = 15.0\ncontext_window = 200000\n",
            server.base_url()
        ),
    )
    .unwrap();
    Bench {
        bin: bin.to_path_buf(),
        home,
        cwd: dir.path().to_path_buf(),
        server,
        _dir: dir,
    }
}

/// The first run's answers: spec, architecture (test command `true`), a one-task plan, done.
fn first_answers() -> Vec<Answer> {
    vec![
        call(
            "submit_spec",
            serde_json::json!({"spec_markdown": "# bench\n\nA benchmark project.\n", "assumptions": []}),
        ),
        call(
            "submit_architecture",
            serde_json::json!({"stack": "none", "template": null, "dependencies": [],
                               "install_command": null, "test_command": "true", "notes": ""}),
        ),
        plan_answer(),
        done(),
    ]
}

/// A `resume -d`: a one-task plan, `extra`, done.
fn resume(extra: Vec<Answer>) -> Vec<Answer> {
    let mut a = vec![plan_answer()];
    a.extend(extra);
    a.push(done());
    a
}
