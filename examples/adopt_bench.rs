//! Benchmark of adopting a large repository: `samocoder new --here --plan-only` on a git
//! repository of N files (50,000 by default), answers replayed from a cassette (change spec and
//! plan; the test command is read from the repository), timed as a whole process. Then the
//! per-step overhead: whole runs (one task) whose model runs 1 and then 11 commands, the
//! difference divided by 10. Also times the pieces in process: `git status` of the tree, the
//! repository map within its budget, and what hashing the whole tree would cost (a new
//! project's snapshot after each command; an adopted repository takes none).
//!
//! ```text
//! cargo build --release && cargo run --release --example adopt_bench -- [--files N] [--runs N]
//! ```
//! The repository is generated once under `target/adopt-bench/` (N files in 2 levels of
//! directories: Python, JavaScript, Rust and Go sources and Markdown) and reused; every run
//! gets a fresh samocoder home and samocoder's branch is deleted after it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> T {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn source(i: usize) -> (String, String) {
    let d = format!("pkg{:02}/mod{:03}", i % 40, (i / 40) % 125);
    match i % 5 {
        0 => (
            format!("{d}/m{i}.py"),
            format!(
                "\"\"\"Module {i}.\"\"\"\nimport os\n\n\nclass Item{i}:\n    def load(self):\n        return {i}\n\n\ndef helper_{i}(x):\n    return x + {i}\n"
            ),
        ),
        1 => (
            format!("{d}/m{i}.js"),
            format!(
                "// Module {i}\nexport function add{i}(a, b) {{ return a + b + {i}; }}\nexport class Box{i} {{}}\n"
            ),
        ),
        2 => (
            format!("{d}/m{i}.rs"),
            format!("//! Module {i}.\npub struct S{i};\npub fn run{i}() -> u32 {{ {i} }}\n"),
        ),
        3 => (
            format!("{d}/m{i}.go"),
            format!(
                "package p\n\ntype T{i} struct{{}}\n\nfunc (t *T{i}) Run() int {{ return {i} }}\n"
            ),
        ),
        _ => (
            format!("{d}/notes{i}.md"),
            format!("# Notes {i}\n\nSome text.\n"),
        ),
    }
}

/// A committed repository of `n` files (made once).
fn repository(root: &Path, n: usize) -> PathBuf {
    let dir = root.join(format!("repo-{n}"));
    let done = root.join(format!("repo-{n}.done"));
    if done.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let t = Instant::now();
    std::fs::write(dir.join("README.md"), "# big\n\nA large repository.\n").unwrap();
    std::fs::write(dir.join("Makefile"), "test:\n\ttrue\n").unwrap();
    std::fs::write(dir.join(".gitignore"), "*.log\n").unwrap();
    for i in 0..n.saturating_sub(3) {
        let (p, c) = source(i);
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, c).unwrap();
    }
    let repo = git2::Repository::init_opts(
        &dir,
        git2::RepositoryInitOptions::new().initial_head("main"),
    )
    .unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("bench", "bench@example.com").unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "a large repository", &tree, &[])
        .unwrap();
    std::fs::write(&done, "").unwrap();
    eprintln!(
        "made {dir:?} with {n} files in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    dir
}

/// The change spec and the plan; with `commands`, also the one task: that many commands, a
/// file written, done.
fn cassette(root: &Path, commands: Option<usize>) -> PathBuf {
    let name = match commands {
        None => "adopt.jsonl".to_string(),
        Some(k) => format!("adopt-{k}.jsonl"),
    };
    let path = root.join(name);
    let mut lines = vec![
        r##"# samocoder-new: {"name": "big", "description": "add a --json flag"}"##.to_string(),
        serde_json::json!({"tool_calls": [{"name": "submit_spec", "arguments": {"spec_markdown": "# Change\n\nAdd --json.\n", "assumptions": []}}]}).to_string(),
        serde_json::json!({"tool_calls": [{"name": "submit_plan", "arguments": {"tasks": [{"title": "Add --json", "goal": "Add the flag and its test."}]}}]}).to_string(),
    ];
    if let Some(k) = commands {
        let mut calls: Vec<serde_json::Value> = (0..k)
            .map(|i| serde_json::json!({"name": "run_command", "arguments": {"command": format!("echo step {i}")}}))
            .collect();
        calls.push(serde_json::json!({"name": "write_file", "arguments": {"path": "pkg00/flag.py", "content": "JSON = True\n"}}));
        lines.push(serde_json::json!({"tool_calls": calls}).to_string());
        lines.push(serde_json::json!({"tool_calls": [{"name": "task_done", "arguments": {"summary": "done"}}]}).to_string());
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// One whole `new --here` run in the repository, then the adoption undone; its wall time.
fn adopt_once(bin: &Path, root: &Path, dir: &Path, cassette: &Path, plan_only: bool) -> Duration {
    let home = root.join("home");
    let _ = std::fs::remove_dir_all(&home);
    let t = Instant::now();
    let mut cmd = Command::new(bin);
    cmd.args([
        "--home",
        home.to_str().unwrap(),
        "new",
        "--here",
        "--yes",
        "--json",
    ])
    .args(["--replay", cassette.to_str().unwrap()])
    .current_dir(dir);
    if plan_only {
        cmd.arg("--plan-only");
    }
    let out = cmd.output().unwrap();
    let wall = t.elapsed();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Undo the adoption so the next run adopts the same repository again.
    let repo = git2::Repository::open(dir).unwrap();
    for b in repo.branches(Some(git2::BranchType::Local)).unwrap() {
        let (mut b, _) = b.unwrap();
        if b.name()
            .unwrap()
            .unwrap_or_default()
            .starts_with("samocoder/")
        {
            b.delete().unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(dir.join(".samocoder"));
    let _ = std::fs::remove_dir_all(&home);
    wall
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--files", 50_000);
    let runs: usize = arg(&args, "--runs", 3).max(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/adopt-bench");
    std::fs::create_dir_all(&root).unwrap();
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/samocoder");
    assert!(bin.is_file(), "build it first: cargo build --release");
    let dir = repository(&root, n);
    let plan = cassette(&root, None);
    let one = cassette(&root, Some(1));
    // `--commands N`: the long run's commands (more commands, less noise per command).
    let many: usize = arg(&args, "--commands", 11).max(2);
    let eleven = cassette(&root, Some(many));

    let mut walls = Vec::new();
    for run in 0..runs {
        let wall = adopt_once(&bin, &root, &dir, &plan, true);
        walls.push(wall);
        println!(
            "run {}: adopt + change spec + plan of {n} files: {:.3} s",
            run + 1,
            wall.as_secs_f64()
        );
    }
    let mut per_command = Vec::new();
    for run in 0..runs {
        let a = adopt_once(&bin, &root, &dir, &one, false);
        let b = adopt_once(&bin, &root, &dir, &eleven, false);
        let each = b.saturating_sub(a) / (many as u32 - 1);
        println!(
            "run {}: a whole run with 1 command {:.3} s, with {many} commands {:.3} s: {:.1} ms per command",
            run + 1,
            a.as_secs_f64(),
            b.as_secs_f64(),
            each.as_secs_f64() * 1000.0
        );
        per_command.push(each);
    }

    // The pieces, in process.
    let ws = samocoder::workspace::Workspace::open(&dir).unwrap();
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        f();
        t.elapsed()
    };
    let status = median(
        (0..runs)
            .map(|_| {
                time(&|| {
                    assert!(ws.uncommitted().unwrap().is_empty());
                })
            })
            .collect(),
    );
    let map = ws.repo_map(None, 4096).unwrap();
    let mapping = median(
        (0..runs)
            .map(|_| {
                time(&|| {
                    ws.repo_map(None, 4096).unwrap();
                })
            })
            .collect(),
    );
    let hash = median(
        (0..runs)
            .map(|_| {
                time(&|| {
                    ws.scan_tree(Vec::new()).unwrap();
                })
            })
            .collect(),
    );
    println!(
        "median of {runs}: adoption {:.3} s (target < 2 s); {:.1} ms more per command; git status {:.3} s; repo map {:.3} s ({} of {} files listed, {} read, {} tokens); hashing the whole tree (a first scan with no stat cache; never taken in an adopted repository) {:.3} s",
        median(walls).as_secs_f64(),
        median(per_command).as_secs_f64() * 1000.0,
        status.as_secs_f64(),
        mapping.as_secs_f64(),
        map.listed,
        map.files,
        map.read,
        map.tokens(),
        hash.as_secs_f64(),
    );
}
