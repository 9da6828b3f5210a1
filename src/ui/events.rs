//! Renderers for agent events: JSON lines for scripts, and a human view with colours, a
//! progress line per task, and the model's streamed text.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Paint, Ui};
use crate::agent::events::{Event, EventSink};

/// One JSON object per line on stdout. Streamed model text is left out (it is in the saved
/// state); everything else is written as it happens and flushed.
pub struct JsonRenderer {
    ui: Ui,
}

impl JsonRenderer {
    pub fn new(ui: Ui) -> Self {
        JsonRenderer { ui }
    }
}

impl EventSink for JsonRenderer {
    fn emit(&self, event: Event) {
        if matches!(event, Event::ModelText { .. }) {
            return;
        }
        // A closed stdout must not stop the work; the run's state is saved regardless.
        let _ = self.ui.json_line(&event);
    }
}

/// The human view: a spinner while the model works (on a terminal), one line per meaningful
/// step, and a summary at the end.
pub struct HumanRenderer {
    ui: Ui,
    state: Mutex<HumanState>,
}

struct HumanState {
    spinner: Option<ProgressBar>,
    task: Option<(u32, u32, String)>,
    streamed: bool,
}

impl HumanRenderer {
    pub fn new(ui: Ui) -> Self {
        HumanRenderer {
            ui,
            state: Mutex::new(HumanState {
                spinner: None,
                task: None,
                streamed: false,
            }),
        }
    }

    fn line(&self, st: &mut HumanState, text: String) {
        if st.streamed {
            eprintln!();
            st.streamed = false;
        }
        match &st.spinner {
            Some(pb) => pb.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    fn stop_spinner(st: &mut HumanState) {
        if let Some(pb) = st.spinner.take() {
            pb.finish_and_clear();
        }
    }
}

impl EventSink for HumanRenderer {
    fn emit(&self, event: Event) {
        let ui = &self.ui;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let quiet = ui.verbosity() == super::Verbosity::Quiet;
        match event {
            Event::RunStarted {
                project,
                dir,
                command,
                ..
            } => {
                let verb = if command == "resume" {
                    "Resuming"
                } else {
                    "Building"
                };
                self.line(
                    &mut st,
                    format!("{} {} in {}", ui.paint(Paint::Bold, verb), project, dir),
                );
            }
            Event::PhaseStarted { phase } if !quiet => {
                self.line(&mut st, ui.paint(Paint::Accent, &format!("== {phase}")));
            }
            Event::SpecWritten { path, assumptions } if !quiet => {
                self.line(&mut st, format!("spec written to {path}"));
                for a in assumptions {
                    self.line(&mut st, ui.paint(Paint::Dim, &format!("  assumed: {a}")));
                }
            }
            Event::ArchitectureChosen {
                stack,
                template,
                test_command,
                ..
            } if !quiet => {
                let t = template
                    .map(|t| format!(" (template {t})"))
                    .unwrap_or_default();
                self.line(&mut st, format!("stack: {stack}{t}; tests: {test_command}"));
            }
            Event::PlanCreated { tasks } if !quiet => {
                for t in tasks {
                    self.line(&mut st, format!("  {}. {}", t.index, t.title));
                }
            }
            Event::TaskStarted {
                index,
                total,
                title,
            } => {
                st.task = Some((index, total, title.clone()));
                self.line(
                    &mut st,
                    ui.paint(Paint::Bold, &format!("[{index}/{total}] {title}")),
                );
            }
            Event::ModelCallStarted { role } => {
                Self::stop_spinner(&mut st);
                if ui.stderr_is_tty() && !quiet {
                    let pb = ProgressBar::new_spinner();
                    pb.set_style(
                        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    let task = st
                        .task
                        .as_ref()
                        .map(|(i, n, _)| format!("[{i}/{n}] "))
                        .unwrap_or_default();
                    pb.set_message(format!("{task}{role} thinking"));
                    pb.enable_steady_tick(Duration::from_millis(120));
                    st.spinner = Some(pb);
                }
            }
            Event::ModelText { text }
                if ui.verbosity() == super::Verbosity::Verbose
                    || (ui.stderr_is_tty() && !quiet) =>
            {
                let dim = ui.paint(Paint::Dim, &text);
                match &st.spinner {
                    Some(pb) => pb.suspend(|| {
                        eprint!("{dim}");
                        let _ = std::io::stderr().flush();
                    }),
                    None => eprint!("{dim}"),
                }
                st.streamed = true;
            }
            Event::ModelReset { reason } => {
                self.line(
                    &mut st,
                    ui.paint(
                        Paint::Warn,
                        &format!("(answer discarded: {reason}; retrying)"),
                    ),
                );
            }
            Event::ModelCallFinished {
                role,
                provider,
                model,
                input_tokens,
                output_tokens,
                cost_usd,
                replayed,
            } => {
                Self::stop_spinner(&mut st);
                if ui.verbosity() == super::Verbosity::Verbose {
                    let cost = cost_usd.map_or("cost unknown".into(), |c| format!("${c:.4}"));
                    let src = if replayed { " (replayed)" } else { "" };
                    self.line(
                        &mut st,
                        ui.paint(
                            Paint::Dim,
                            &format!("  {role}: {provider}:{model} {input_tokens} in / {output_tokens} out, {cost}{src}"),
                        ),
                    );
                }
            }
            Event::Routing { message } => {
                self.line(&mut st, ui.paint(Paint::Warn, &format!("  {message}")));
            }
            Event::ToolCall {
                name,
                target,
                ok,
                error,
            } if !quiet => {
                let target = shorten(&target, 80);
                if ok {
                    if !matches!(
                        name.as_str(),
                        "write_file" | "edit_file" | "run_command" | "task_done"
                    ) {
                        self.line(&mut st, ui.paint(Paint::Dim, &format!("  {name} {target}")));
                    }
                } else {
                    let e = error.unwrap_or_default();
                    self.line(
                        &mut st,
                        ui.paint(
                            Paint::Warn,
                            &format!("  {name} {target}: {}", shorten(&e, 120)),
                        ),
                    );
                }
            }
            Event::FileWritten {
                path,
                bytes,
                created,
            } if !quiet => {
                let verb = if created { "created" } else { "updated" };
                self.line(&mut st, format!("  {verb} {path} ({bytes} bytes)"));
            }
            Event::CommandFinished {
                command,
                exit_code,
                timed_out,
                disposition,
                duration_ms,
            } if !quiet => {
                let how = match (disposition.as_str(), exit_code, timed_out) {
                    ("ran", _, true) => ui.paint(Paint::Warn, "timed out"),
                    ("ran", Some(0), _) => ui.paint(Paint::Good, "ok"),
                    ("ran", Some(c), _) => ui.paint(Paint::Warn, &format!("exit {c}")),
                    ("ran", None, _) => ui.paint(Paint::Warn, "killed"),
                    (d, _, _) => ui.paint(Paint::Warn, d),
                };
                self.line(
                    &mut st,
                    format!(
                        "  $ {} [{how}, {:.1} s]",
                        shorten(&command, 80),
                        duration_ms as f64 / 1000.0
                    ),
                );
            }
            Event::TestsRun {
                command,
                passed,
                tail,
            } => {
                if passed {
                    self.line(
                        &mut st,
                        ui.paint(Paint::Good, &format!("  tests pass ({command})")),
                    );
                } else {
                    self.line(
                        &mut st,
                        ui.paint(Paint::Warn, &format!("  tests fail ({command})")),
                    );
                    if !quiet {
                        for l in tail
                            .lines()
                            .rev()
                            .take(6)
                            .collect::<Vec<_>>()
                            .into_iter()
                            .rev()
                        {
                            self.line(&mut st, ui.paint(Paint::Dim, &format!("    {l}")));
                        }
                    }
                }
            }
            Event::FixAttempt {
                attempt,
                max,
                repeated,
                ..
            } => {
                let note = if repeated {
                    " (same failure as before: changing approach)"
                } else {
                    ""
                };
                self.line(&mut st, format!("  fix attempt {attempt}/{max}{note}"));
            }
            Event::TaskFinished {
                index,
                status,
                checkpoint,
                reason,
            } => {
                Self::stop_spinner(&mut st);
                let text = match (status.as_str(), checkpoint, reason) {
                    ("done", Some(c), _) => ui.paint(
                        Paint::Good,
                        &format!("  task {index} done, checkpoint {}", &c[..c.len().min(8)]),
                    ),
                    ("done", None, _) => ui.paint(Paint::Good, &format!("  task {index} done")),
                    (s, _, r) => ui.paint(
                        Paint::Error,
                        &format!("  task {index} {s}: {}", r.unwrap_or_default()),
                    ),
                };
                self.line(&mut st, text);
            }
            Event::UserEdits {
                added,
                modified,
                deleted,
            } => {
                let n = added.len() + modified.len() + deleted.len();
                self.line(
                    &mut st,
                    format!("{n} file(s) changed since the last run; the model will be told"),
                );
            }
            Event::BudgetWarning {
                scope,
                spent_usd,
                cap_usd,
            } => {
                self.line(
                    &mut st,
                    ui.paint(
                        Paint::Warn,
                        &format!("warning: {scope} budget: ${spent_usd:.2} of ${cap_usd:.2} spent"),
                    ),
                );
            }
            Event::Warning { message } => {
                self.line(
                    &mut st,
                    format!("{} {message}", ui.paint(Paint::Warn, "warning:")),
                );
            }
            Event::RunFinished {
                status,
                cost_usd,
                cost_incomplete,
                model_calls,
                tasks_done,
                tasks_total,
                duration_ms,
                message,
                ..
            } => {
                Self::stop_spinner(&mut st);
                let cost = if cost_incomplete {
                    format!("at least ${cost_usd:.4} (some prices unknown)")
                } else {
                    format!("${cost_usd:.4}")
                };
                let head = match status.as_str() {
                    "done" => ui.paint(Paint::Good, "Done."),
                    _ => ui.paint(Paint::Error, &format!("Stopped ({status}).")),
                };
                self.line(
                    &mut st,
                    format!(
                        "{head} {tasks_done}/{tasks_total} tasks, {model_calls} model calls, {cost}, {:.1} s",
                        duration_ms as f64 / 1000.0
                    ),
                );
                if let Some(m) = message {
                    self.line(&mut st, m);
                }
            }
            _ => {}
        }
    }
}

fn shorten(s: &str, max: usize) -> String {
    let one_line = s.lines().next().unwrap_or("");
    if one_line.chars().count() <= max && !s.contains('\n') {
        return one_line.to_string();
    }
    let cut: String = one_line.chars().take(max).collect();
    format!("{cut}…")
}
