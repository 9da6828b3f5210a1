//! `samocoder log PROJECT [--json]`: the timeline of everything done for a project: runs, model
//! calls (role, model, tokens, cost), files written, commands (approval, sandbox, exit code,
//! duration), checkpoints, the spec, plans and estimates. A forgotten project's log is kept:
//! `log NAME` finds it when no live project has the name.
use super::Result;

use clap::Args;
use serde::Serialize;

use super::Ctx;
use super::projects::{clean, open_store};
use crate::exit::Exit;
use crate::provenance::{Item, Record, RunEvent, Timeline};
use crate::store::{ProjectKey, StoreError};
use crate::workspace::human_size;

#[derive(Debug, Args)]
pub struct LogArgs {
    /// The project's name (or id); a forgotten project is found by its name.
    #[arg(value_name = "PROJECT")]
    pub project: String,
}

#[derive(Debug, Serialize)]
struct LogJson<'a> {
    #[serde(flatten)]
    timeline: &'a Timeline,
    /// Sum of the known costs of the calls.
    cost_usd: f64,
    calls: usize,
    unknown_cost_calls: usize,
}

/// The project a log is asked for: a live one by name or id, else the latest forgotten one.
pub(super) fn find(store: &crate::store::Store, name: &str) -> Result<ProjectKey> {
    if let Some(p) = store.find_project(name)? {
        return Ok(ProjectKey::from(&p));
    }
    store
        .forgotten_projects(name)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            StoreError::NoProject {
                name: name.to_string(),
            }
            .into()
        })
}

pub fn run(args: LogArgs, ctx: &Ctx) -> Result<Exit> {
    let store = open_store(ctx)?.ok_or_else(|| StoreError::NoProject {
        name: args.project.clone(),
    })?;
    let key = find(&store, &args.project)?;
    let t = Timeline::load(&store, &key)?;
    let cost: f64 = t.calls().filter_map(|c| c.cost_usd).sum();
    let calls = t.calls().count();
    let unknown = t.calls().filter(|c| c.cost_usd.is_none()).count();
    if ctx.ui.json() {
        ctx.ui.json_doc(&LogJson {
            timeline: &t,
            cost_usd: crate::llm::pricing::round_micro(cost),
            calls,
            unknown_cost_calls: unknown,
        })?;
        return Ok(Exit::Ok);
    }
    let mut out = Vec::new();
    let created = super::projects::local_time(t.created_at);
    out.push(if t.forgotten {
        format!(
            "Log of {} (created {created}; forgotten: its record is kept)",
            clean(&t.project)
        )
    } else {
        format!("Log of {} (created {created})", clean(&t.project))
    });
    if t.entries.is_empty() {
        out.push("  nothing recorded yet".into());
    }
    for e in &t.entries {
        let time = seconds(e.at);
        let run = e
            .run_id
            .map_or("      ".to_string(), |r| format!("run {r:<2}"));
        let task = e
            .task
            .as_deref()
            .map_or(String::new(), |t| format!("[{t}] "));
        let what = match &e.item {
            Item::ModelCall(c) => {
                let c = &c.0;
                let cost = c
                    .cost_usd
                    .map_or("cost unknown".to_string(), |v| format!("${v:.4}"));
                let retry = if c.attempt > 1 || c.route_index > 0 {
                    format!(
                        ", attempt {} on route entry {}",
                        c.attempt,
                        c.route_index + 1
                    )
                } else {
                    String::new()
                };
                let outcome = if c.outcome == "ok" {
                    String::new()
                } else {
                    format!(", {}", c.outcome)
                };
                format!(
                    "model    {} {}:{}  {} in / {} out tokens, {cost}{retry}{outcome}",
                    c.role,
                    c.provider,
                    c.model,
                    c.input_tokens + c.cached_tokens + c.cache_write_tokens,
                    c.output_tokens
                )
            }
            Item::Record(r) => describe(r),
        };
        out.push(format!("{time}  {run} {task}{}", clean(&what)));
    }
    out.push(format!(
        "{calls} model call{}, {}{}",
        if calls == 1 { "" } else { "s" },
        if unknown > 0 && unknown == calls {
            "cost unknown".to_string()
        } else {
            format!("${cost:.4}")
        },
        if unknown > 0 && unknown < calls {
            format!(" + {unknown} of unknown price")
        } else {
            String::new()
        }
    ));
    ctx.ui.out(out.join("\n"))?;
    Ok(Exit::Ok)
}

/// `2026-11-02 10:00:01`, local time.
fn seconds(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

/// One line for a record.
fn describe(r: &Record) -> String {
    match r {
        Record::Run(run) => match run.event {
            RunEvent::Started => format!("started  {}", run.command),
            RunEvent::Finished => format!(
                "finished {} {}{}",
                run.command,
                run.status.as_deref().unwrap_or("?"),
                run.cost_usd.map_or(String::new(), |c| format!(", ${c:.4}"))
            ),
        },
        Record::File(f) => format!(
            "file     {} ({}, {}{})",
            f.path,
            human_size(f.bytes),
            if f.created { "new, " } else { "" },
            match f.source {
                crate::provenance::FileSource::Tool => "by a tool call",
                crate::provenance::FileSource::Writer => "by a writer",
                crate::provenance::FileSource::Spec => "the spec",
                crate::provenance::FileSource::Template => "from the starter template",
            }
        ),
        Record::Command(c) => {
            let how = match c.disposition.as_deref() {
                Some("ran") | None if c.approval != "denied" && c.approval != "recorded" => {
                    format!(
                        "exit {}{}, {:.1} s",
                        c.exit_code.map_or("none".to_string(), |e| e.to_string()),
                        if c.timed_out { " (timed out)" } else { "" },
                        c.duration_ms as f64 / 1000.0
                    )
                }
                Some(d) => format!("not run ({d})"),
                None => format!("not run ({})", c.approval),
            };
            format!(
                "command  $ {}  {how}; approval {}{}{}",
                c.command,
                c.approval,
                c.sandbox
                    .as_deref()
                    .map_or(String::new(), |s| format!(", sandbox {s}")),
                c.purpose
                    .as_deref()
                    .map_or(String::new(), |p| format!(", for {p}"))
            )
        }
        Record::Checkpoint(c) => format!(
            "commit   {} {}",
            c.commit
                .as_deref()
                .map_or("(nothing to commit)".to_string(), |c| c
                    .chars()
                    .take(8)
                    .collect()),
            c.title
        ),
        Record::Spec(s) => format!("spec     {} ({})", s.path, human_size(s.bytes)),
        Record::Plan(p) => format!(
            "plan     iteration {}{}: {}",
            p.iteration,
            if p.edited {
                " (edited by the user)"
            } else {
                ""
            },
            p.tasks.join("; ")
        ),
        Record::Estimate(e) => format!("estimate {}", e.summary()),
        Record::Adopt(a) => format!(
            "adopted  {} on branch {} from {}{}",
            a.dir,
            a.branch,
            a.base_branch
                .clone()
                .unwrap_or_else(|| a.base_commit.chars().take(8).collect()),
            if a.initialized {
                " (made a git repository)"
            } else {
                ""
            }
        ),
        Record::Branch(b) => format!(
            "switched {} -> {}{}",
            b.from,
            b.to,
            b.saved.as_deref().map_or(String::new(), |s| format!(
                " (unfinished work kept as {})",
                s.chars().take(8).collect::<String>()
            ))
        ),
    }
}
