//! Renderers for run events: JSON lines for scripts, and a human view. On a terminal the
//! human view keeps one status line at the bottom (phase, task k/n, what runs now with a timer,
//! the cost so far and the budget) redrawn in place, and prints everything else above it,
//! streamed model text included, line by line so the two never interleave. Off a terminal it
//! prints plain lines with no control codes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::{Paint, Ui, Verbosity};
use crate::protocol::{
    Budget, CallId, CommandRole, Disposition, Event, EventSink, Phase, Role, RunCommand, RunStatus,
    TaskOutcome, TestStatus,
};

/// One JSON object per line on stdout. Streamed model text is left out (it is in the saved
/// state); everything else is written as it happens and flushed.
pub struct JsonRenderer {
    ui: Ui,
    reader: Reader,
}

impl JsonRenderer {
    /// `on_close` is cancelled when stdout's reader goes away (`samocoder new --json | head`).
    pub fn new(ui: Ui, on_close: CancellationToken) -> Self {
        JsonRenderer {
            ui,
            reader: Reader::new(on_close),
        }
    }
}

impl EventSink for JsonRenderer {
    fn emit(&self, event: Event) {
        if matches!(
            event,
            Event::ModelText { .. } | Event::ModelReasoning { .. }
        ) || self.reader.gone()
        {
            return;
        }
        self.reader.wrote(self.ui.json_line(&event));
    }
}

/// Who reads the output. When the reader is gone (a closed pipe), the run is stopped like an
/// interruption (its state is saved) and nothing more is written.
struct Reader {
    gone: AtomicBool,
    on_close: CancellationToken,
}

impl Reader {
    fn new(on_close: CancellationToken) -> Reader {
        Reader {
            gone: AtomicBool::new(false),
            on_close,
        }
    }

    fn gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    fn wrote(&self, result: std::io::Result<()>) {
        if let Err(e) = result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.gone.store(true, Ordering::Relaxed);
            tracing::info!("the output was closed by its reader; stopping the run");
            self.on_close.cancel();
        }
    }
}

/// What the status line shows as running.
enum Activity {
    Idle,
    Thinking { role: String, since: Instant },
    Command { command: String, since: Instant },
}

/// The human view.
pub struct HumanRenderer {
    ui: Ui,
    state: Mutex<View>,
    reader: Reader,
}

struct View {
    /// The status line, on a terminal only.
    bar: Option<ProgressBar>,
    phase: Option<Phase>,
    task: Option<(u32, u32)>,
    activity: Activity,
    spent: f64,
    unknown_cost: bool,
    budget: Budget,
    /// Streamed text of the current call that has not ended in a newline yet.
    partial: String,
    streaming: Option<CallId>,
    /// A prompt owns the terminal: no status line until the next event.
    paused: bool,
    /// The activity whose time the status line's timer shows.
    timer_of: Option<Instant>,
}

impl HumanRenderer {
    /// `on_close` is cancelled when stderr's reader goes away (`samocoder new 2>&1 | head`).
    pub fn new(ui: Ui, on_close: CancellationToken) -> Self {
        HumanRenderer {
            ui,
            reader: Reader::new(on_close),
            state: Mutex::new(View {
                bar: None,
                phase: None,
                task: None,
                activity: Activity::Idle,
                spent: 0.0,
                unknown_cost: false,
                budget: Budget::default(),
                partial: String::new(),
                streaming: None,
                paused: false,
                timer_of: None,
            }),
        }
    }

    fn live(&self) -> bool {
        self.ui.stderr_is_tty() && self.ui.verbosity() > Verbosity::Quiet
    }

    /// Clears the status line so a prompt can use the terminal; it comes back with the next
    /// event.
    pub fn pause(&self) {
        let mut v = self.lock();
        self.flush_partial(&mut v, false);
        if let Some(bar) = v.bar.take() {
            bar.finish_and_clear();
        }
        v.paused = true;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, View> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn paint(&self, p: Paint, text: &str) -> String {
        self.ui.paint_err(p, text)
    }

    /// Prints one line above the status line (or plainly, off a terminal).
    fn line(&self, v: &mut View, text: String) {
        self.flush_partial(v, false);
        self.print(v, text);
    }

    fn print(&self, v: &View, text: String) {
        if self.reader.gone() {
            return;
        }
        match &v.bar {
            Some(bar) => bar.println(text),
            None => self.reader.wrote(super::err_line(&text)),
        }
    }

    /// Ends the streamed text of the current call on its own line; `cut` marks it as cut off.
    fn flush_partial(&self, v: &mut View, cut: bool) {
        let mark = if cut { " [cut off]" } else { "" };
        if v.partial.is_empty() {
            if cut && v.streaming.is_some() {
                let text = self.paint(Paint::Warn, "[the text above was cut off]");
                self.print(v, text);
            }
            v.streaming = None;
            return;
        }
        let text = std::mem::take(&mut v.partial);
        let text = format!(
            "{}{}",
            self.paint(Paint::Dim, &text),
            self.paint(Paint::Warn, mark)
        );
        self.print(v, text);
        v.streaming = None;
    }

    /// Redraws the status line from the view (creating it on a terminal).
    fn status(&self, v: &mut View) {
        if !self.live() || v.paused {
            return;
        }
        let bar = v.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {elapsed}  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let mut place = v.phase.map(phase_name).unwrap_or_default().to_string();
        if let (Some((i, n)), Some(Phase::Tasks)) = (v.task, v.phase) {
            place.push_str(&format!(" [{i}/{n}]"));
        }
        let (doing, since) = match &v.activity {
            Activity::Idle => (String::new(), None),
            Activity::Thinking { role, since } => (format!(": {role} thinking"), Some(*since)),
            Activity::Command { command, since } => {
                (format!(": $ {}", shorten(command, 60)), Some(*since))
            }
        };
        if since != v.timer_of {
            // The timer counts from when the current activity began.
            bar.reset_elapsed();
            v.timer_of = since;
        }
        bar.set_prefix(format!("{place}{doing}"));
        bar.set_message(cost_line(v.spent, v.unknown_cost, &v.budget));
    }

    fn finish_bar(v: &mut View) {
        if let Some(bar) = v.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn render(&self, v: &mut View, event: Event) {
        let ui = &self.ui;
        let quiet = ui.verbosity() == Verbosity::Quiet;
        let verbose = ui.verbosity() == Verbosity::Verbose;
        match event {
            Event::RunStarted {
                project,
                dir,
                command,
                budget,
                ..
            } => {
                v.budget = budget;
                let verb = match command {
                    RunCommand::Resume => "Resuming",
                    RunCommand::New => "Building",
                };
                self.line(
                    v,
                    format!("{} {project} in {dir}", self.paint(Paint::Bold, verb)),
                );
            }
            Event::PhaseStarted { phase } => {
                v.phase = Some(phase);
                if !quiet {
                    let text = self.paint(Paint::Accent, &format!("== {}", phase_name(phase)));
                    self.line(v, text);
                }
            }
            Event::SpecWritten { path, assumptions } if !quiet => {
                self.line(v, format!("spec written to {path}"));
                for a in assumptions {
                    let text = self.paint(Paint::Dim, &format!("  assumed: {a}"));
                    self.line(v, text);
                }
            }
            Event::ArchitectureChosen {
                stack,
                template,
                test_command,
                source,
                evidence,
                ..
            } if !quiet => {
                let t = template
                    .map(|t| format!(" (template {t})"))
                    .unwrap_or_default();
                self.line(v, format!("stack: {stack}{t}; tests: {test_command}"));
                if let Some(l) = super::run_extras::architecture_source(source, &evidence) {
                    let text = self.paint(Paint::Dim, &l);
                    self.line(v, text);
                }
            }
            Event::BranchSwitched {
                purpose,
                from,
                to,
                user_changes,
                saved,
            } => {
                for l in super::run_extras::branch_switched(
                    purpose,
                    &from,
                    &to,
                    &user_changes,
                    saved.as_deref(),
                ) {
                    self.line(v, l);
                }
            }
            Event::ChangesReady {
                branch,
                base,
                commits,
                added,
                modified,
                deleted,
                review,
                merge,
                ..
            } => {
                for l in super::run_extras::changes_ready(
                    &branch, &base, &commits, &added, &modified, &deleted, &review, &merge,
                ) {
                    self.line(v, l);
                }
            }
            Event::CostEstimate {
                estimate,
                spent_usd,
            } if !quiet => {
                for l in super::run_extras::estimate(&estimate, spent_usd) {
                    self.line(v, l);
                }
            }
            Event::PlanCreated { tasks } if !quiet => {
                for t in tasks {
                    self.line(v, format!("  {}. {}", t.index, t.title));
                }
            }
            Event::TaskStarted {
                index,
                total,
                title,
            } => {
                v.task = Some((index, total));
                let text = self.paint(Paint::Bold, &format!("[{index}/{total}] {title}"));
                self.line(v, text);
            }
            Event::ModelCallStarted { role, .. } => {
                self.flush_partial(v, false);
                v.activity = Activity::Thinking {
                    role: role_name(role).to_string(),
                    since: Instant::now(),
                };
            }
            Event::ModelText { call_id, text } if verbose || (ui.stderr_is_tty() && !quiet) => {
                v.streaming = Some(call_id);
                v.partial.push_str(&text);
                // Whole lines go above the status line; the rest waits for its newline.
                while let Some(pos) = v.partial.find('\n') {
                    let line: String = v.partial.drain(..=pos).collect();
                    let text = self.paint(Paint::Dim, line.trim_end_matches('\n'));
                    self.print(v, text);
                }
            }
            Event::ModelReasoning { call_id, text }
                if verbose || (ui.stderr_is_tty() && !quiet) =>
            {
                // Thinking is shown dimmed, as whole lines, like the answer's text.
                v.streaming = Some(call_id);
                v.partial.push_str(&text);
                while let Some(pos) = v.partial.find('\n') {
                    let line: String = v.partial.drain(..=pos).collect();
                    let text = self.paint(Paint::Dim, line.trim_end_matches('\n'));
                    self.print(v, text);
                }
            }
            Event::ModelReset { reason, .. } => {
                self.flush_partial(v, true);
                let text = self.paint(
                    Paint::Warn,
                    &format!("(answer discarded: {reason}; retrying)"),
                );
                self.print(v, text);
            }
            Event::ModelCallFinished {
                role,
                provider,
                model,
                input_tokens,
                output_tokens,
                cost_usd,
                replayed,
                error,
                ..
            } => {
                self.flush_partial(v, false);
                v.activity = Activity::Idle;
                match cost_usd {
                    Some(c) => v.spent += c,
                    None => v.unknown_cost = true,
                }
                if verbose {
                    let cost = cost_usd.map_or("cost unknown".into(), |c| format!("${c:.4}"));
                    let src = if replayed { " (replayed)" } else { "" };
                    let failed = error.map(|e| format!(", failed: {e}")).unwrap_or_default();
                    let text = self.paint(
                        Paint::Dim,
                        &format!("  {role}: {provider}:{model} {input_tokens} in / {output_tokens} out, {cost}{src}{failed}"),
                    );
                    self.line(v, text);
                }
            }
            Event::Routing { message, .. } => {
                let text = self.paint(Paint::Warn, &format!("  {message}"));
                self.line(v, text);
            }
            Event::ToolCall {
                name,
                target,
                ok,
                error,
                ..
            } if !quiet => {
                let target = shorten(&target, 80);
                if !ok {
                    let e = error.unwrap_or_default();
                    let text = self.paint(
                        Paint::Warn,
                        &format!("  {name} {target}: {}", shorten(&e, 120)),
                    );
                    self.line(v, text);
                } else if verbose {
                    let text = self.paint(Paint::Dim, &format!("  {name} {target}"));
                    self.line(v, text);
                }
            }
            Event::FileWritten {
                path,
                bytes,
                created,
            } if !quiet => {
                let verb = if created { "created" } else { "updated" };
                self.line(v, format!("  {verb} {path} ({bytes} bytes)"));
            }
            Event::CommandStarted { command, .. } => {
                v.activity = Activity::Command {
                    command,
                    since: Instant::now(),
                };
            }
            Event::CommandFinished {
                command,
                exit_code,
                timed_out,
                disposition,
                duration_ms,
                purpose,
                ..
            } => {
                v.activity = Activity::Idle;
                // A test command that did not run is reported by `tests_run` alone.
                let unrun_test = purpose == CommandRole::Test && disposition != Disposition::Ran;
                if !quiet && !unrun_test {
                    let how = match (disposition, exit_code, timed_out) {
                        (Disposition::Ran, _, true) => self.paint(Paint::Warn, "timed out"),
                        (Disposition::Ran, Some(0), _) => self.paint(Paint::Good, "ok"),
                        (Disposition::Ran, Some(c), _) => {
                            self.paint(Paint::Warn, &format!("exit {c}"))
                        }
                        (Disposition::Ran, None, _) => self.paint(Paint::Warn, "killed"),
                        (Disposition::Denied, ..) => self.paint(Paint::Warn, "declined"),
                        (Disposition::Refused, ..) => self.paint(Paint::Warn, "refused"),
                        (Disposition::Recorded, ..) => self.paint(Paint::Warn, "not run"),
                    };
                    self.line(
                        v,
                        format!(
                            "  $ {} [{how}, {:.1} s]",
                            shorten(&command, 80),
                            duration_ms as f64 / 1000.0
                        ),
                    );
                }
            }
            Event::TestsRun {
                command,
                status,
                reason,
                tail,
                ..
            } => match status {
                TestStatus::Passed => {
                    let text = self.paint(Paint::Good, &format!("  tests pass ({command})"));
                    self.line(v, text);
                }
                TestStatus::NotRun => {
                    let why = reason.unwrap_or_default();
                    let text = self.paint(
                        Paint::Warn,
                        &format!(
                            "  tests not run ({}): the task is done but unverified",
                            shorten(&why, 100)
                        ),
                    );
                    self.line(v, text);
                }
                TestStatus::Failed => {
                    let text = self.paint(Paint::Warn, &format!("  tests fail ({command})"));
                    self.line(v, text);
                    if !quiet {
                        let lines: Vec<&str> = tail.lines().collect();
                        for l in &lines[lines.len().saturating_sub(6)..] {
                            let text = self.paint(Paint::Dim, &format!("    {l}"));
                            self.line(v, text);
                        }
                    }
                }
            },
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
                self.line(v, format!("  fix attempt {attempt}/{max}{note}"));
            }
            Event::TaskFinished {
                index,
                status,
                checkpoint,
                reason,
            } => {
                let text = match (status, checkpoint) {
                    (TaskOutcome::Done, Some(c)) => self.paint(
                        Paint::Good,
                        &format!("  task {index} done, checkpoint {}", &c[..c.len().min(8)]),
                    ),
                    (TaskOutcome::Done, None) => {
                        self.paint(Paint::Good, &format!("  task {index} done"))
                    }
                    (TaskOutcome::Failed, _) => self.paint(
                        Paint::Error,
                        &format!("  task {index} failed: {}", reason.unwrap_or_default()),
                    ),
                };
                self.line(v, text);
            }
            Event::Restarted {
                branch,
                from_commit,
                tasks,
                kept_changes,
            } => {
                let short = &from_commit[..from_commit.len().min(8)];
                self.line(
                    v,
                    format!("went back to {short} on the new branch {branch}; {tasks} task(s) to do again"),
                );
                if let Some(k) = kept_changes {
                    let text = self.paint(
                        Paint::Warn,
                        &format!(
                            "  your uncommitted changes were kept as commit {} on the branch you were on",
                            &k[..k.len().min(8)]
                        ),
                    );
                    self.line(v, text);
                }
            }
            Event::UserEdits { counts, .. } => {
                let n = counts.added + counts.modified + counts.deleted;
                self.line(
                    v,
                    format!("{n} file(s) changed since the last run; the model will be told"),
                );
            }
            Event::BudgetWarning {
                scope,
                spent_usd,
                cap_usd,
            } => {
                let text = self.paint(
                    Paint::Warn,
                    &format!(
                        "warning: {} budget: ${spent_usd:.2} of ${cap_usd:.2} spent",
                        scope.as_str()
                    ),
                );
                self.line(v, text);
            }
            Event::Warning { message } => {
                let text = format!("{} {message}", self.paint(Paint::Warn, "warning:"));
                self.line(v, text);
            }
            Event::ApprovalRequested { .. } | Event::QuestionsAsked { .. } => {
                // The prompt itself is the terminal prompter's; the status line steps aside.
                self.flush_partial(v, false);
                Self::finish_bar(v);
                v.paused = true;
                return;
            }
            Event::RunFinished {
                status,
                cost_usd,
                cost_incomplete,
                model_calls,
                input_tokens,
                cached_input_tokens,
                tasks_done,
                tasks_total,
                duration_ms,
                message,
                ..
            } => {
                self.flush_partial(v, false);
                Self::finish_bar(v);
                let cost = if cost_incomplete {
                    format!("at least ${cost_usd:.4} (some prices unknown)")
                } else {
                    format!("${cost_usd:.4}")
                };
                let head = match status {
                    RunStatus::Done => self.paint(Paint::Good, "Done."),
                    RunStatus::Planned => self.paint(Paint::Good, "Planned."),
                    s => self.paint(Paint::Error, &format!("Stopped ({}).", s.as_str())),
                };
                let cached = if input_tokens > 0 && cached_input_tokens > 0 {
                    format!(
                        ", {:.0}% of input cached",
                        100.0 * cached_input_tokens as f64 / input_tokens as f64
                    )
                } else {
                    String::new()
                };
                self.line(
                    v,
                    format!(
                        "{head} {tasks_done}/{tasks_total} tasks, {model_calls} model calls, {cost}{cached}, {:.1} s",
                        duration_ms as f64 / 1000.0
                    ),
                );
                if let Some(m) = message {
                    self.line(v, m);
                }
                return;
            }
            _ => {}
        }
        v.paused = false;
        self.status(v);
    }
}

impl EventSink for HumanRenderer {
    fn emit(&self, event: Event) {
        let mut v = self.lock();
        self.render(&mut v, event);
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Spec => "spec writer",
        Role::Architect => "architect",
        Role::Planner => "planner",
        Role::Coder => "coder",
        Role::Troubleshooter => "troubleshooter",
        Role::Writer => "file writer",
        Role::Ask => "model",
    }
}

fn phase_name(p: Phase) -> &'static str {
    match p {
        Phase::Spec => "spec",
        Phase::Architecture => "architecture",
        Phase::Plan => "plan",
        Phase::Tasks => "tasks",
        Phase::Finish => "finish",
    }
}

/// `$0.0123`, `$0.0123 of $5.00 (run)`, `$0.0123+ (some prices unknown)`.
fn cost_line(spent: f64, unknown: bool, b: &Budget) -> String {
    let mut s = format!("${spent:.4}");
    if unknown {
        s.push('+');
    }
    if let Some(cap) = b.run_cap_usd {
        s.push_str(&format!(" of ${cap:.2}"));
    }
    if let Some(cap) = b.project_cap_usd {
        let left = (cap - b.project_spent_usd - spent).max(0.0);
        s.push_str(&format!(" (project: ${left:.2} left)"));
    }
    s
}

fn shorten(s: &str, max: usize) -> String {
    let one_line = s.lines().next().unwrap_or("");
    if one_line.chars().count() <= max && !s.contains('\n') {
        return one_line.to_string();
    }
    let cut: String = one_line.chars().take(max).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_line_shows_the_budget_left() {
        let b = Budget {
            run_cap_usd: Some(5.0),
            project_cap_usd: Some(10.0),
            project_spent_usd: 4.0,
        };
        assert_eq!(
            cost_line(1.0, false, &b),
            "$1.0000 of $5.00 (project: $5.00 left)"
        );
        assert_eq!(cost_line(0.5, true, &Budget::default()), "$0.5000+");
    }
}
