//! The files `export --provenance` adds to an archive, under `samocoder/`: the spec, the plan,
//! per-task test results, the command log and the project's cost ledger (CSV), the whole
//! timeline (JSON lines) and a manifest with the samocoder and price-table versions. Built
//! from what the store holds; never a key (none is stored), never a command's output (it may
//! print anything), never the database.

use serde_json::json;

use super::{Item, Record, Timeline};
use crate::protocol::StepPayload;
use crate::store::{Adoption, Project, Step, Task};

/// What the bundle is made from.
pub struct Input<'a> {
    pub project: &'a Project,
    pub tasks: &'a [Task],
    /// The project's `verify` steps, oldest first.
    pub verify: &'a [Step],
    pub timeline: &'a Timeline,
    pub adoption: Option<&'a Adoption>,
    /// The price table's sources and its version (the day it was built).
    pub price_table: (&'a str, &'a str),
    pub schema_version: i64,
    pub now_ms: i64,
}

/// (file name, content) of every file of the bundle.
pub fn bundle(i: &Input<'_>) -> Vec<(String, String)> {
    let mut files = vec![
        ("SPEC.md".to_string(), spec(i)),
        ("plan.md".to_string(), plan(i)),
        ("tests.csv".to_string(), tests(i)),
        ("commands.csv".to_string(), commands(i)),
        ("ledger.csv".to_string(), ledger(i)),
        ("log.jsonl".to_string(), log(i)),
    ];
    let names: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
    files.push(("manifest.json".to_string(), manifest(i, &names)));
    // samocoder never stores a key, but a model may have written one into a command line or
    // a spec: whatever looks like a provider's key does not leave the machine.
    files
        .into_iter()
        .map(|(name, text)| (name, scrub_keys(&text)))
        .collect()
}

/// Key prefixes of the providers (and code hosts) whose keys have a recognisable shape.
const KEY_PREFIXES: &[&str] = &[
    "sk-",
    "gsk_",
    "xai-",
    "AIza",
    "ghp_",
    "gho_",
    "github_pat_",
    "glpat-",
    "hf_",
];

/// Replaces key-shaped words (a known prefix and at least 16 more key characters) with the
/// prefix and `[redacted]`.
pub fn scrub_keys(text: &str) -> String {
    let key_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for p in KEY_PREFIXES {
            if let Some(after) = rest.strip_prefix(p) {
                let boundary = out.chars().last().is_none_or(|c| !key_char(c));
                let n = after.find(|c: char| !key_char(c)).unwrap_or(after.len());
                if boundary && n >= 16 {
                    out.push_str(p);
                    out.push_str("[redacted]");
                    rest = &after[n..];
                    continue 'outer;
                }
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// RFC 3339 UTC for a time in ms.
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// One CSV field (RFC 4180). Text that a model or a user wrote and that a spreadsheet would
/// run as a formula (`=`, `+`, `-`, `@` first) gets a leading `'`.
fn field(f: &str, text: bool) -> String {
    let f = if text && f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

/// A CSV line: `(value, is free text)` per column, CRLF-terminated.
fn line(out: &mut String, cols: &[(String, bool)]) {
    let cells: Vec<String> = cols.iter().map(|(v, t)| field(v, *t)).collect();
    out.push_str(&cells.join(","));
    out.push_str("\r\n");
}

fn header(out: &mut String, names: &[&str]) {
    line(
        out,
        &names
            .iter()
            .map(|n| (n.to_string(), false))
            .collect::<Vec<_>>(),
    );
}

fn num<T: ToString>(v: Option<T>) -> (String, bool) {
    (v.map(|v| v.to_string()).unwrap_or_default(), false)
}

fn text(v: &str) -> (String, bool) {
    (v.to_string(), true)
}

fn spec(i: &Input<'_>) -> String {
    match i.project.spec.as_deref() {
        Some(s) => s.to_string(),
        None => "(no spec was written yet)\n".to_string(),
    }
}

fn plan(i: &Input<'_>) -> String {
    let mut out = format!("# The plans of {}\n", i.project.name);
    let mut iteration = 0;
    for t in i.tasks {
        if t.iteration != iteration {
            iteration = t.iteration;
            out.push_str(&format!("\n## Iteration {iteration}\n\n"));
        }
        out.push_str(&format!("{}. {} [{}]", t.ordinal, t.title, t.status));
        if let Some(c) = &t.checkpoint {
            out.push_str(&format!(" checkpoint {}", &c[..c.len().min(12)]));
        }
        out.push('\n');
        for l in t.goal.lines() {
            out.push_str(&format!("   {l}\n"));
        }
        if !t.files.is_empty() {
            out.push_str(&format!("   files: {}\n", t.files.join(", ")));
        }
        if let Some(v) = &t.verify {
            out.push_str(&format!("   verify: {v}\n"));
        }
        if let Some(e) = &t.last_error {
            out.push_str(&format!(
                "   last error: {}\n",
                e.lines().next().unwrap_or_default()
            ));
        }
    }
    if i.tasks.is_empty() {
        out.push_str("\n(no plan was made yet)\n");
    }
    out
}

fn tests(i: &Input<'_>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &[
            "time",
            "run",
            "task",
            "title",
            "command",
            "status",
            "exit_code",
            "reason",
        ],
    );
    for s in i.verify {
        let StepPayload::Verify(v) = &s.payload else {
            continue;
        };
        let task = s.task_id.and_then(|id| i.tasks.iter().find(|t| t.id == id));
        line(
            &mut out,
            &[
                (utc(s.created_at), false),
                num(Some(s.run_id)),
                (
                    task.map(|t| format!("{}.{}", t.iteration, t.ordinal))
                        .unwrap_or_default(),
                    false,
                ),
                text(task.map(|t| t.title.as_str()).unwrap_or_default()),
                text(&v.command),
                (
                    serde_json::to_value(v.status)
                        .ok()
                        .and_then(|s| s.as_str().map(String::from))
                        .unwrap_or_default(),
                    false,
                ),
                num(v.exit_code),
                text(v.reason.as_deref().unwrap_or_default()),
            ],
        );
    }
    out
}

fn commands(i: &Input<'_>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &[
            "time",
            "run",
            "task",
            "command",
            "purpose",
            "approval",
            "disposition",
            "sandbox",
            "exit_code",
            "timed_out",
            "duration_ms",
        ],
    );
    for (e, r) in i.timeline.records() {
        let Record::Command(c) = r else { continue };
        line(
            &mut out,
            &[
                (utc(e.at), false),
                num(e.run_id),
                (e.task.clone().unwrap_or_default(), false),
                text(&c.command),
                (c.purpose.clone().unwrap_or_default(), false),
                (c.approval.clone(), false),
                (c.disposition.clone().unwrap_or_default(), false),
                (c.sandbox.clone().unwrap_or_default(), false),
                num(c.exit_code),
                (c.timed_out.to_string(), false),
                num(Some(c.duration_ms)),
            ],
        );
    }
    out
}

fn ledger(i: &Input<'_>) -> String {
    let mut out = String::new();
    header(
        &mut out,
        &[
            "time",
            "run",
            "role",
            "provider",
            "model",
            "route_index",
            "attempt",
            "outcome",
            "error_class",
            "input_tokens",
            "cached_tokens",
            "cache_write_tokens",
            "output_tokens",
            "reasoning_tokens",
            "cost_usd",
            "cost_source",
            "usage_estimated",
            "latency_ms",
        ],
    );
    for c in i.timeline.calls() {
        line(
            &mut out,
            &[
                (utc(c.at), false),
                num(c.run_id),
                text(&c.role),
                text(&c.provider),
                text(&c.model),
                num(Some(c.route_index)),
                num(Some(c.attempt)),
                (c.outcome.clone(), false),
                (c.error_class.clone().unwrap_or_default(), false),
                num(Some(c.input_tokens)),
                num(Some(c.cached_tokens)),
                num(Some(c.cache_write_tokens)),
                num(Some(c.output_tokens)),
                num(Some(c.reasoning_tokens)),
                (
                    c.cost_usd.map(|v| format!("{v:.6}")).unwrap_or_default(),
                    false,
                ),
                (c.cost_source.clone(), false),
                (c.usage_estimated.to_string(), false),
                num(Some(c.latency_ms)),
            ],
        );
    }
    out
}

fn log(i: &Input<'_>) -> String {
    let mut out = String::new();
    for e in &i.timeline.entries {
        if let Ok(s) = serde_json::to_string(e) {
            out.push_str(&s);
            out.push('\n');
        }
    }
    out
}

fn manifest(i: &Input<'_>, files: &[String]) -> String {
    let calls: Vec<_> = i.timeline.calls().collect();
    let cost: f64 = calls.iter().filter_map(|c| c.cost_usd).sum();
    let unknown = calls.iter().filter(|c| c.cost_usd.is_none()).count();
    let records = i
        .timeline
        .entries
        .iter()
        .filter(|e| matches!(e.item, Item::Record(_)))
        .count();
    let m = json!({
        "samocoder_version": env!("CARGO_PKG_VERSION"),
        "schema_version": i.schema_version,
        "price_table": {"source": i.price_table.0, "version": i.price_table.1},
        "exported_at": utc(i.now_ms),
        "project": {
            "name": i.project.name,
            "description": i.project.description,
            "created_at": utc(i.project.created_at),
            "status": i.project.status,
        },
        "adoption": i.adoption.map(|a| json!({
            "branch": a.branch, "base_branch": a.base_branch, "base_commit": a.base_commit,
        })),
        "totals": {
            "model_calls": calls.len(),
            "cost_usd": crate::llm::pricing::round_micro(cost),
            "unknown_cost_calls": unknown,
            "records": records,
        },
        "files": files,
    });
    let mut s = serde_json::to_string_pretty(&m).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shaped_words_are_redacted() {
        assert_eq!(
            scrub_keys("curl -H 'Authorization: Bearer sk-proj-abcdefghijklmnop1234' x"),
            "curl -H 'Authorization: Bearer sk-[redacted]' x"
        );
        assert_eq!(scrub_keys("gsk_0123456789abcdef0123"), "gsk_[redacted]");
        assert_eq!(
            scrub_keys("task-list sk-short desk-abcdefghijklmnopqrst"),
            "task-list sk-short desk-abcdefghijklmnopqrst"
        );
        assert_eq!(
            scrub_keys("café sk-ant-api03-aaaaaaaaaaaaaaaaaaaa"),
            "café sk-[redacted]"
        );
    }

    proptest::proptest! {
        /// Scrubbing keeps every text that holds no key as it is, and never leaves a long key.
        #[test]
        fn scrubbing_removes_keys_and_nothing_else(words in proptest::collection::vec("[a-z ]{0,12}", 0..6), key in "[A-Za-z0-9]{16,40}") {
            let plain = words.join(" ");
            proptest::prop_assert_eq!(scrub_keys(&plain), plain.clone());
            let with = format!("{plain} sk-{key} {plain}");
            let s = scrub_keys(&with);
            proptest::prop_assert!(!s.contains(&key), "{s}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("a,b", true), "\"a,b\"");
        assert_eq!(field("say \"hi\"", true), "\"say \"\"hi\"\"\"");
        assert_eq!(
            field("=HYPERLINK(\"x\")", true),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(field("-1", false), "-1");
        assert_eq!(field("@cmd", true), "'@cmd");
        let mut out = String::new();
        line(&mut out, &[text("x\ny"), num(Some(3))]);
        assert_eq!(out, "\"x\ny\",3\r\n");
    }
}
