//! Benchmark of a whole `samocoder new` run against the fake provider server, answering with the
//! todo example's answers (examples/todo/cassette.jsonl) over the real OpenAI wire format.
//!
//! ```text
//! cargo build --release && cargo run --release --example agent_bench -- [--runs N] [--jobs N] [--ttft-ms MS] [--tps N] [--wire openai|anthropic] [--bin PATH]
//! ```
//! Prints per run: wall time and peak RSS (GNU time, `/usr/bin/time`; includes the test runs it
//! starts), and for the requests the server received: count, total bytes, the share of each
//! request body's prefix that is identical to the previous request's (prompt-cache
//! friendliness), and the share of input a provider's prompt cache would serve
//! ([`cacheable_share`]: OpenAI's automatic prefix cache, or Anthropic's explicit breakpoints).
//! `--bin` runs another samocoder binary (an older release, for before/after figures).

#[path = "../tests/common/fake_provider.rs"]
mod fake_provider;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use fake_provider::{Answer, FakeProvider, FakeToolCall, FakeUsage, Finish, Reply, Timing};
use samocoder::llm::cassette::parse_cassette;

fn arg<T: std::str::FromStr>(args: &[String], flag: &str, default: T) -> T {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// With `writers`, an answer that writes several files becomes one `write_files` call plus one
/// writer answer per file (served to the request that names that file), so `--jobs` can
/// overlap the writers' model latency.
fn answers(writers: bool) -> Vec<Reply> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("examples/todo/cassette.jsonl");
    let text = std::fs::read_to_string(&path).expect("read the todo cassette");
    let tool = |name: &str, args: serde_json::Value| FakeToolCall {
        id: "call_1".into(),
        name: name.into(),
        arguments: args.to_string(),
    };
    parse_cassette(&text, &path.display().to_string())
        .expect("parse the todo cassette")
        .into_iter()
        .flat_map(|e| {
            let calls: Vec<FakeToolCall> = e
                .events()
                .into_iter()
                .filter_map(|ev| match ev {
                    samocoder::llm::StreamEvent::ToolCallEnd { call, .. } => Some(FakeToolCall {
                        id: call.id,
                        name: call.name,
                        arguments: call.arguments,
                    }),
                    _ => None,
                })
                .collect();
            let u = e.usage.clone().unwrap_or_default();
            let usage = Some(FakeUsage {
                input: u.input_tokens,
                output: u.output_tokens,
                ..FakeUsage::default()
            });
            let writes: Vec<(String, String)> = calls
                .iter()
                .filter(|c| c.name == "write_file")
                .filter_map(|c| {
                    let v: serde_json::Value = serde_json::from_str(&c.arguments).ok()?;
                    Some((v["path"].as_str()?.to_string(), v["content"].as_str()?.to_string()))
                })
                .collect();
            if writers && writes.len() >= 2 && writes.len() == calls.len() {
                let files: Vec<serde_json::Value> = writes
                    .iter()
                    .map(|(p, _)| serde_json::json!({"path": p, "instructions": format!("Write {p} as the task needs.")}))
                    .collect();
                let mut replies = vec![Reply::Answer(Answer {
                    tool_calls: vec![tool("write_files", serde_json::json!({"files": files}))],
                    usage: usage.clone(),
                    ..Answer::default()
                })];
                for (p, content) in writes {
                    replies.push(Reply::Matching {
                        when: format!("File to write: {p}"),
                        answer: Answer {
                            tool_calls: vec![tool("submit_file", serde_json::json!({"content": content}))],
                            usage: usage.clone(),
                            ..Answer::default()
                        },
                    });
                }
                return replies;
            }
            vec![Reply::Answer(Answer {
                text: e.text.clone(),
                tool_calls: calls,
                finish: Finish::Natural,
                usage,
                ..Answer::default()
            })]
        })
        .collect()
}

/// Bytes shared at the start of two strings.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// About 4 bytes a token, for the caches' minimum sizes.
const BYTES_PER_TOKEN: usize = 4;

/// A request's prompt in the order a provider caches it, as bytes, with the offsets (after a
/// block) where the request set a cache breakpoint. `cache_control` markers are left out of the
/// bytes: they are not part of the cached content.
struct Prompt {
    bytes: Vec<u8>,
    breakpoints: Vec<usize>,
}

fn prompt_of(body: &serde_json::Value, anthropic: bool) -> Prompt {
    let mut bytes = Vec::new();
    let mut breakpoints = Vec::new();
    let mut push = |block: &serde_json::Value, bytes: &mut Vec<u8>| {
        let mut b = block.clone();
        let marked = b
            .as_object_mut()
            .and_then(|o| o.remove("cache_control"))
            .is_some();
        bytes.extend(serde_json::to_vec(&b).unwrap());
        if marked {
            breakpoints.push(bytes.len());
        }
    };
    if anthropic {
        // Anthropic's order: tools, system, messages (each content block on its own).
        for t in body["tools"].as_array().into_iter().flatten() {
            push(t, &mut bytes);
        }
        match &body["system"] {
            serde_json::Value::Array(blocks) => blocks.iter().for_each(|b| push(b, &mut bytes)),
            other => bytes.extend(serde_json::to_vec(other).unwrap()),
        }
        for m in body["messages"].as_array().into_iter().flatten() {
            bytes.extend(serde_json::to_vec(&m["role"]).unwrap());
            match &m["content"] {
                serde_json::Value::Array(blocks) => blocks.iter().for_each(|b| push(b, &mut bytes)),
                other => bytes.extend(serde_json::to_vec(other).unwrap()),
            }
        }
    } else {
        bytes.extend(serde_json::to_vec(&body["tools"]).unwrap());
        for m in body["messages"].as_array().into_iter().flatten() {
            bytes.extend(serde_json::to_vec(m).unwrap());
        }
    }
    Prompt { bytes, breakpoints }
}

/// The share of all prompt bytes a provider's cache would serve, under each provider's
/// documented rules, with a cache that never evicts within the run:
/// - OpenAI: the longest prefix shared with any earlier request, in 128-token steps, once it is
///   at least 1,024 tokens;
/// - Anthropic: the longest prefix up to one of this request's breakpoints that an earlier
///   request wrote (the same bytes up to one of *its* breakpoints), at least 1,024 tokens.
fn cacheable_share(prompts: &[Prompt], anthropic: bool) -> f64 {
    let min = 1024 * BYTES_PER_TOKEN;
    let mut cached = 0usize;
    let mut total = 0usize;
    for (i, p) in prompts.iter().enumerate() {
        total += p.bytes.len();
        let earlier = &prompts[..i];
        let hit = if anthropic {
            p.breakpoints
                .iter()
                .copied()
                .filter(|&b| b >= min)
                .filter(|&b| {
                    earlier
                        .iter()
                        .any(|e| e.breakpoints.contains(&b) && e.bytes[..b] == p.bytes[..b])
                })
                .max()
                .unwrap_or(0)
        } else {
            let best = earlier
                .iter()
                .map(|e| common_prefix(&e.bytes, &p.bytes))
                .max()
                .unwrap_or(0);
            let step = 128 * BYTES_PER_TOKEN;
            if best >= min { best / step * step } else { 0 }
        };
        cached += hit;
    }
    cached as f64 / total.max(1) as f64
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = arg(&args, "--runs", 3);
    let jobs: usize = arg(&args, "--jobs", 1);
    let writers = args.iter().any(|a| a == "--writers");
    let timing = Timing {
        ttft_ms: arg(&args, "--ttft-ms", 0),
        tokens_per_s: arg(&args, "--tps", 0.0),
    };
    let anthropic = match arg(&args, "--wire", "openai".to_string()).as_str() {
        "openai" => false,
        "anthropic" => true,
        other => panic!("--wire openai or --wire anthropic, not {other}"),
    };
    let bin = args
        .iter()
        .position(|a| a == "--bin")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/samocoder")
        });
    assert!(
        bin.is_file(),
        "build the release binary first: cargo build --release"
    );
    let mut walls = Vec::new();
    for run in 0..runs {
        let server = FakeProvider::start().await;
        server.set_timing(timing);
        for r in answers(writers) {
            server.push(r);
        }
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(
            home.join("config.toml"),
            format!(
                "[providers.fake]\nkind = \"{}\"\nbase_url = \"{}\"\nkey_env = \"FAKE_KEY\"\n\n[routes]\ndefault = [\"fake:bench\"]\n\n\
                 [prices.\"fake:bench\"]\ninput_per_mtok = 3.0\noutput_per_mtok = 15.0\ncontext_window = 200000\n",
                if anthropic { "anthropic" } else { "openai" },
                server.base_url()
            ),
        )
        .unwrap();
        let started = Instant::now();
        let bin2 = bin.clone();
        let home2 = home.clone();
        let cwd = dir.path().to_path_buf();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("/usr/bin/time")
                .args(["-f", "%M"])
                .arg(&bin2)
                .env("FAKE_KEY", "sk-bench-0123456789abcdef")
                .arg("--home")
                .arg(&home2)
                .args([
                    "--json",
                    "new",
                    "todo",
                    "--yes",
                    "--jobs",
                    &jobs.to_string(),
                    "-d",
                    "A small todo list CLI in Python",
                ])
                .current_dir(&cwd)
                .output()
                .expect("run samocoder")
        })
        .await
        .unwrap();
        let wall = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peak_kib: u64 = stderr
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        let last = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .to_string();
        assert!(
            last.contains("\"status\":\"done\""),
            "run failed: {last}\n{stderr}"
        );
        let requests = server.requests();
        let total: usize = requests
            .iter()
            .map(|r| serde_json::to_vec(&r.body).unwrap().len())
            .sum();
        // The prompt as a provider caches it (see `prompt_of`).
        let cached: Vec<Prompt> = requests
            .iter()
            .map(|r| prompt_of(&r.body, anthropic))
            .collect();
        let cache_share = cacheable_share(&cached, anthropic);
        let prompts: Vec<Vec<u8>> = cached.into_iter().map(|p| p.bytes).collect();
        let mut shares = Vec::new();
        let mut same_thread = Vec::new();
        let mut full_reuse = 0;
        for (i, w) in prompts.windows(2).enumerate() {
            let share = common_prefix(&w[0], &w[1]) as f64 / w[1].len() as f64;
            shares.push(share);
            let first = |r: &fake_provider::Recorded| {
                r.body["messages"]
                    .as_array()
                    .map(|m| m.iter().take(2).cloned().collect::<Vec<_>>())
            };
            if first(&requests[i]) == first(&requests[i + 1]) {
                same_thread.push(share);
                // The previous prompt minus its closing bracket is a prefix: nothing was rewritten.
                if common_prefix(&w[0], &w[1]) + 1 >= w[0].len() {
                    full_reuse += 1;
                }
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let mean_share = mean(&shares);
        let thread_share = mean(&same_thread);
        println!(
            "run {}: wall {:.0} ms, peak RSS {:.1} MiB, {} model calls, {} request bytes, prompt prefix shared with the previous request: mean {:.0}% over all calls, {:.0}% within a conversation ({} pairs, min {:.0}%; previous prompt reused whole in {} of them); {} prompt cache would serve {:.0}% of the input",
            run + 1,
            wall.as_secs_f64() * 1000.0,
            peak_kib as f64 / 1024.0,
            requests.len(),
            total,
            mean_share * 100.0,
            thread_share * 100.0,
            same_thread.len(),
            same_thread.iter().cloned().fold(1.0, f64::min) * 100.0,
            full_reuse,
            if anthropic { "Anthropic's" } else { "OpenAI's" },
            cache_share * 100.0,
        );
        walls.push(wall.as_secs_f64());
    }
    walls.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "median wall time: {:.0} ms (jobs {jobs}, ttft {} ms, {} tokens/s{})",
        walls[walls.len() / 2] * 1000.0,
        timing.ttft_ms,
        timing.tokens_per_s,
        if writers {
            ", files by parallel writers"
        } else {
            ""
        }
    );
}
