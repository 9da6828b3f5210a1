//! Helpers for the agent end-to-end suites: cassettes written from code, `new`/`resume` runs
//! with `--json` (parsed line by line), runs killed at a chosen event, the database, project
//! trees and git history.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use super::Env;
use super::fake_provider::{Answer, FakeToolCall, FakeUsage, Finish};

/// A replay cassette built answer by answer.
#[derive(Debug, Clone)]
pub struct Cassette {
    pub name: String,
    pub lines: Vec<Value>,
}

impl Cassette {
    /// A cassette for a project `name` (its header names the project for `new`).
    pub fn new(name: &str) -> Cassette {
        Cassette {
            name: name.to_string(),
            lines: Vec::new(),
        }
    }

    /// Appends one raw answer line.
    pub fn answer(mut self, line: Value) -> Cassette {
        self.lines.push(line);
        self
    }

    /// Appends an answer made of these tool calls (ids `call_1`, ...), with known usage.
    pub fn tools(self, calls: Vec<Value>) -> Cassette {
        self.answer(
            json!({"tool_calls": calls, "usage": {"input_tokens": 1000, "output_tokens": 100}}),
        )
    }

    /// The spec answer.
    pub fn spec(self) -> Cassette {
        let name = self.name.clone();
        self.tools(vec![call(
            "submit_spec",
            json!({"spec_markdown": format!("# {name}\n\nA small test project.\n"),
                   "assumptions": ["nothing else is needed"]}),
        )])
    }

    /// The architecture answer with this test command and no install command.
    pub fn architecture(self, test_command: &str) -> Cassette {
        self.tools(vec![call(
            "submit_architecture",
            json!({"stack": "POSIX sh", "template": null, "dependencies": [],
                   "install_command": null, "test_command": test_command, "notes": "files only"}),
        )])
    }

    /// The plan answer with these task titles.
    pub fn plan(self, titles: &[&str]) -> Cassette {
        let tasks: Vec<Value> = titles
            .iter()
            .map(|t| json!({"title": t, "goal": format!("{t}."), "files": [], "verify": "the tests pass"}))
            .collect();
        self.tools(vec![call("submit_plan", json!({"tasks": tasks}))])
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Writes the cassette (with its `# samocoder-new:` header) and returns its path.
    pub fn write(&self, path: &Path) -> PathBuf {
        let mut text = format!(
            "# samocoder-new: {}\n",
            json!({"name": self.name, "description": format!("{} for an end-to-end test", self.name)})
        );
        for l in &self.lines {
            text.push_str(&l.to_string());
            text.push('\n');
        }
        std::fs::write(path, text).unwrap();
        path.to_path_buf()
    }

    /// The same answers as scripted replies of the fake provider.
    pub fn fake_answers(&self) -> Vec<Answer> {
        self.lines.iter().map(fake_answer).collect()
    }
}

/// A tool call for a cassette answer.
pub fn call(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

pub fn write_file(path: &str, content: &str) -> Value {
    call("write_file", json!({"path": path, "content": content}))
}

pub fn edit_file(path: &str, old: &str, new: &str) -> Value {
    call("edit_file", json!({"path": path, "old": old, "new": new}))
}

pub fn read_file(path: &str) -> Value {
    call("read_file", json!({"path": path}))
}

pub fn run_command(command: &str) -> Value {
    call("run_command", json!({"command": command, "timeout_s": 30}))
}

pub fn task_done(summary: &str) -> Value {
    call("task_done", json!({"summary": summary}))
}

/// One cassette line as a scripted fake-provider answer.
pub fn fake_answer(line: &Value) -> Answer {
    let calls = line["tool_calls"].as_array().cloned().unwrap_or_default();
    Answer {
        text: line["text"].as_str().unwrap_or_default().to_string(),
        tool_calls: calls
            .iter()
            .enumerate()
            .map(|(i, c)| FakeToolCall {
                id: format!("call_{}", i + 1),
                name: c["name"].as_str().unwrap().to_string(),
                arguments: c["arguments"].to_string(),
            })
            .collect(),
        finish: if line["finish"] == "truncated" {
            Finish::Truncated
        } else {
            Finish::Natural
        },
        usage: Some(FakeUsage {
            input: line["usage"]["input_tokens"].as_u64().unwrap_or(1000),
            output: line["usage"]["output_tokens"].as_u64().unwrap_or(100),
            ..FakeUsage::default()
        }),
        ..Answer::default()
    }
}

/// A finished run of the binary with `--json`.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub events: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of_type(&self, ty: &str) -> Vec<&Value> {
        self.events.iter().filter(|e| e["type"] == ty).collect()
    }

    /// The last event, which must be `run_finished`.
    pub fn finished(&self) -> &Value {
        let last = self
            .events
            .last()
            .unwrap_or_else(|| panic!("no events: {self:?}"));
        assert_eq!(last["type"], "run_finished", "{self:?}");
        last
    }

    pub fn describe(&self) -> String {
        format!(
            "exit {}\nstderr: {}\nevents:\n{}",
            self.code,
            self.stderr,
            self.events
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

/// Every stdout line as one JSON event (a line that does not parse fails the test).
pub fn parse_events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"));
            assert!(v["type"].is_string(), "event without a type: {l}");
            v
        })
        .collect()
}

/// Runs `samocoder ARGS` to the end.
pub fn run(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut cmd = env.cmd();
    cmd.args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        events: parse_events(&stdout),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `samocoder ARGS` (which must include `--json`), reading events as they come; when
/// `stop` says so, waits `delay` and kills the process with SIGKILL. Returns the events read.
/// Panics if the process ends before `stop` matched.
pub fn run_and_kill(
    env: &Env,
    args: &[&str],
    vars: &[(&str, &str)],
    mut stop: impl FnMut(&Value) -> bool,
    delay: Duration,
) -> Vec<Value> {
    let mut cmd = env.std_cmd();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut events = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            panic!("the run ended ({status}) before the kill point; events: {events:#?}");
        }
        let v: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
        let hit = stop(&v);
        events.push(v);
        if hit {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
    events
}

/// The samocoder database of a test home, opened read-only.
pub fn db(env: &Env) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        env.home().join("samocoder.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap()
}

/// One integer from a query.
pub fn count(env: &Env, sql: &str) -> i64 {
    db(env).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Every file of a project directory and its bytes, leaving out `.git` and Python caches.
pub fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" || name == "__pycache__" {
                continue;
            }
            let path = entry.path();
            let ty = entry.file_type().unwrap();
            if ty.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let bytes = if ty.is_symlink() {
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()).into_bytes()
                } else {
                    std::fs::read(&path).unwrap()
                };
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The commit messages' first lines of a project's git history, oldest first.
pub fn git_log(dir: &Path) -> Vec<String> {
    let repo = git2::Repository::open(dir).unwrap();
    let Ok(head) = repo.head() else {
        return Vec::new();
    };
    let mut walk = repo.revwalk().unwrap();
    walk.push(head.target().unwrap()).unwrap();
    let mut out: Vec<String> = walk
        .map(|id| {
            let c = repo.find_commit(id.unwrap()).unwrap();
            c.summary().ok().flatten().unwrap_or("").to_string()
        })
        .collect();
    out.reverse();
    out
}
