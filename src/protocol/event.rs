//! Events: everything a run does that a user may want to see, as typed, serde-tagged values.
//! The engine only emits them; `ui` renders them for a human or as JSON lines (docs/events.md,
//! checked against these types by a test). Adding a field is compatible; renaming one is not.
//! Closed sets are enums; model calls carry a [`CallId`], commands a [`CommandId`].

use serde::{Deserialize, Serialize};

use super::prompt::RequestId;
pub use crate::exec::CommandRole;
use crate::llm::router::RouterEvent;

/// The version of the event stream, sent in `run_started`. Bumped when a field changes meaning.
pub const PROTOCOL_VERSION: u32 = 2;

/// One model call of a run (all attempts, retries and fallbacks included), numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

/// One command of a run, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CommandId(pub u64);

/// A pipeline phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Spec,
    Architecture,
    Plan,
    Tasks,
    Finish,
}

/// Who a model call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Spec,
    Architect,
    Planner,
    Coder,
    Troubleshooter,
    /// Writes one file of a `write_files` call.
    Writer,
    /// `samocoder ask`.
    Ask,
}

impl Role {
    /// The roles of a `new`/`resume` run.
    pub const AGENT: [Role; 6] = [
        Role::Spec,
        Role::Architect,
        Role::Planner,
        Role::Coder,
        Role::Troubleshooter,
        Role::Writer,
    ];

    /// The route name and the `role` recorded with each call.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Spec => "spec",
            Role::Architect => "architect",
            Role::Planner => "planner",
            Role::Coder => "coder",
            Role::Troubleshooter => "troubleshooter",
            Role::Writer => "writer",
            Role::Ask => "ask",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `new` or `resume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunCommand {
    New,
    Resume,
}

impl RunCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            RunCommand::New => "new",
            RunCommand::Resume => "resume",
        }
    }
}

/// What happened to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Ran,
    /// The user said no.
    Denied,
    /// It looked destructive under `--approve auto`.
    Refused,
    /// Commands are disabled (`--approve never`): recorded, not run.
    Recorded,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutcome {
    Done,
    Failed,
}

/// Which budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetScope {
    Run,
    Project,
}

impl BudgetScope {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetScope::Run => "run",
            BudgetScope::Project => "project",
        }
    }
}

/// How a run ended; each status has one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Exit 0.
    Done,
    /// Exit 1: a task failed, the model gave no usable answer, or the machine failed.
    Failed,
    /// Exit 2: bad input; nothing was done.
    Error,
    /// Exit 3.
    BudgetExhausted,
    /// Exit 4.
    NoProvider,
    /// Exit 130.
    Interrupted,
    /// Exit 0: stopped after the plan as asked (`--plan-only`); `resume` carries it out.
    Planned,
}

impl RunStatus {
    pub fn from_exit(exit: crate::exit::Exit) -> RunStatus {
        use crate::exit::Exit;
        match exit {
            Exit::Ok => RunStatus::Done,
            Exit::Failure => RunStatus::Failed,
            Exit::Usage => RunStatus::Error,
            Exit::Budget => RunStatus::BudgetExhausted,
            Exit::NoProvider => RunStatus::NoProvider,
            Exit::Interrupted => RunStatus::Interrupted,
        }
    }

    /// The exit code of this status.
    pub fn exit(self) -> crate::exit::Exit {
        use crate::exit::Exit;
        match self {
            RunStatus::Done | RunStatus::Planned => Exit::Ok,
            RunStatus::Failed => Exit::Failure,
            RunStatus::Error => Exit::Usage,
            RunStatus::BudgetExhausted => Exit::Budget,
            RunStatus::NoProvider => Exit::NoProvider,
            RunStatus::Interrupted => Exit::Interrupted,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Error => "error",
            RunStatus::BudgetExhausted => "budget_exhausted",
            RunStatus::NoProvider => "no_provider",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Planned => "planned",
        }
    }
}

/// Where the architecture came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchitectureSource {
    /// The architect chose it (a new project).
    #[default]
    Model,
    /// Read from the adopted repository's files (no model call).
    Detected,
    /// Nothing in the repository said: the architect's guess, taken without asking.
    Assumed,
    /// Nothing in the repository said: the user gave or confirmed the test command.
    User,
}

/// Which way a switch of an adopted directory went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchPurpose {
    /// To samocoder's branch, when a run starts.
    Enter,
    /// Back to what the user had, when the run ends.
    Leave,
}

/// One commit of samocoder's branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchCommit {
    pub commit: String,
    pub summary: String,
}

/// Caps in force for a run, for the status line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// This run's cap (`--max-cost` or `budget.per_run_usd`).
    pub run_cap_usd: Option<f64>,
    /// The project's cap and what the project had spent before this run.
    pub project_cap_usd: Option<f64>,
    pub project_spent_usd: f64,
}

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        project: String,
        run_id: i64,
        dir: String,
        command: RunCommand,
        budget: Budget,
    },
    PhaseStarted {
        phase: Phase,
    },
    /// The spec was written to the project (`SPEC.md`).
    SpecWritten {
        path: String,
        /// What the spec writer assumed instead of asking (non-interactive runs).
        assumptions: Vec<String>,
    },
    ArchitectureChosen {
        stack: String,
        template: Option<String>,
        install_command: Option<String>,
        test_command: String,
        /// Where it came from (an adopted repository's files, the architect, the user).
        #[serde(default)]
        source: ArchitectureSource,
        /// The files the stack and test command were read from (detected).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        evidence: Vec<String>,
    },
    PlanCreated {
        tasks: Vec<PlannedTask>,
    },
    TaskStarted {
        index: u32,
        total: u32,
        title: String,
    },
    ModelCallStarted {
        call_id: CallId,
        role: Role,
    },
    /// Streamed model text (terminals only; the JSON renderer leaves it out: the complete
    /// answers are saved).
    ModelText {
        call_id: CallId,
        text: String,
    },
    /// Streamed reasoning ("thinking") of a model (terminals only, shown dimmed; never written
    /// as a file and left out of the JSON stream: it is saved with the answer).
    ModelReasoning {
        call_id: CallId,
        text: String,
    },
    /// What was streamed so far of this call is discarded; the call is tried again.
    ModelReset {
        call_id: CallId,
        reason: String,
    },
    /// The call's answer was saved. Tokens and cost are the sum over the call's own attempts
    /// (failed retries included), exactly what the usage records of the call say.
    ModelCallFinished {
        call_id: CallId,
        role: Role,
        /// Who answered (the last attempt).
        provider: String,
        model: String,
        /// Input tokens of every kind: full price, cached and cache writes.
        input_tokens: u64,
        cached_input_tokens: u64,
        output_tokens: u64,
        /// `None` when a price is unknown.
        cost_usd: Option<f64>,
        /// Attempts recorded for the call (1 when the first one answered).
        attempts: u32,
        /// The answer came from a cassette, not a paid call.
        replayed: bool,
        /// Set when the call failed (its attempts are still counted above).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A retry, wait, fallback or circuit-breaker decision of the router during a call.
    Routing {
        call_id: CallId,
        /// The same, as one line of English.
        message: String,
        event: RouterEvent,
    },
    /// A tool call other than `run_command` (commands have their own events).
    ToolCall {
        /// The model's id for the call.
        tool_call_id: String,
        name: String,
        /// A short description: the path, or the files.
        target: String,
        ok: bool,
        /// For failures: the error returned to the model.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    FileWritten {
        path: String,
        bytes: u64,
        created: bool,
    },
    /// A command is about to run (after approval).
    CommandStarted {
        command_id: CommandId,
        command: String,
        purpose: CommandRole,
        timeout_s: u64,
    },
    CommandFinished {
        command_id: CommandId,
        command: String,
        purpose: CommandRole,
        /// `None` when killed by a signal or never run.
        exit_code: Option<i32>,
        timed_out: bool,
        duration_ms: u64,
        disposition: Disposition,
    },
    /// The test command after `task_done`.
    TestsRun {
        command: String,
        status: super::step::TestStatus,
        /// True only when the tests ran and passed.
        passed: bool,
        /// Why they did not run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The last lines of the output.
        tail: String,
    },
    FixAttempt {
        index: u32,
        attempt: u32,
        max: u32,
        /// The same signature twice in a row means the fix did not change the failure.
        signature: String,
        repeated: bool,
    },
    TaskFinished {
        index: u32,
        status: TaskOutcome,
        checkpoint: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// `resume --from-task`: the project went back to a checkpoint on a new branch.
    Restarted {
        branch: String,
        from_commit: String,
        /// Tasks to do again.
        tasks: u32,
        /// The user's uncommitted changes, kept as this commit on the branch they were on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kept_changes: Option<String>,
    },
    /// An adopted directory was switched to samocoder's branch (a run starts) or back to what
    /// the user had (the run ends).
    BranchSwitched {
        purpose: SwitchPurpose,
        from: String,
        to: String,
        /// The user's uncommitted changes, carried along and left out of samocoder's commits.
        user_changes: Vec<String>,
        /// Leaving: the commit on samocoder's branch that keeps its unfinished work.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        saved: Option<String>,
    },
    /// An adopted repository's change is done: what samocoder's branch holds over the base,
    /// and how to review and merge it.
    ChangesReady {
        branch: String,
        /// The user's branch it started from (or the base commit when HEAD was detached).
        base: String,
        base_commit: String,
        commits: Vec<BranchCommit>,
        added: Vec<String>,
        modified: Vec<String>,
        deleted: Vec<String>,
        /// Commands to run in the repository.
        review: String,
        merge: String,
    },
    /// What the rest of the work is estimated to cost (after a plan is made, and for
    /// `--plan-only`).
    CostEstimate {
        estimate: crate::estimate::Estimate,
        /// What the project has spent so far.
        spent_usd: f64,
    },
    /// Files changed outside samocoder since its last run (at most 200 paths of each kind;
    /// `counts` has the whole numbers).
    UserEdits {
        added: Vec<String>,
        modified: Vec<String>,
        deleted: Vec<String>,
        counts: EditCounts,
    },
    BudgetWarning {
        scope: BudgetScope,
        spent_usd: f64,
        cap_usd: f64,
    },
    Warning {
        message: String,
    },
    /// A command waits for the user's approval (policy `ask`); the front end replies.
    ApprovalRequested {
        request_id: RequestId,
        command: String,
        cwd: String,
        /// Why `--approve auto` would refuse it, when it would.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
        /// How it will be confined ("sandbox workspace-write, network off").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sandbox: Option<String>,
    },
    /// The spec writer asks; the front end replies with answers or lets it decide.
    QuestionsAsked {
        request_id: RequestId,
        questions: Vec<String>,
    },
    /// Always the last event of a run.
    RunFinished {
        status: RunStatus,
        exit_code: u8,
        cost_usd: f64,
        /// True when some calls had an unknown price (so `cost_usd` is a lower bound).
        cost_incomplete: bool,
        model_calls: u64,
        /// Input tokens of this run's calls (every kind), of which read from a prompt cache,
        /// and output tokens.
        input_tokens: u64,
        cached_input_tokens: u64,
        output_tokens: u64,
        tasks_done: u32,
        tasks_total: u32,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

impl Event {
    /// The `type` tag, as written in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::PhaseStarted { .. } => "phase_started",
            Event::SpecWritten { .. } => "spec_written",
            Event::ArchitectureChosen { .. } => "architecture_chosen",
            Event::PlanCreated { .. } => "plan_created",
            Event::TaskStarted { .. } => "task_started",
            Event::ModelCallStarted { .. } => "model_call_started",
            Event::ModelText { .. } => "model_text",
            Event::ModelReasoning { .. } => "model_reasoning",
            Event::ModelReset { .. } => "model_reset",
            Event::ModelCallFinished { .. } => "model_call_finished",
            Event::Routing { .. } => "routing",
            Event::ToolCall { .. } => "tool_call",
            Event::FileWritten { .. } => "file_written",
            Event::CommandStarted { .. } => "command_started",
            Event::CommandFinished { .. } => "command_finished",
            Event::TestsRun { .. } => "tests_run",
            Event::FixAttempt { .. } => "fix_attempt",
            Event::TaskFinished { .. } => "task_finished",
            Event::Restarted { .. } => "restarted",
            Event::UserEdits { .. } => "user_edits",
            Event::BranchSwitched { .. } => "branch_switched",
            Event::ChangesReady { .. } => "changes_ready",
            Event::CostEstimate { .. } => "cost_estimate",
            Event::BudgetWarning { .. } => "budget_warning",
            Event::Warning { .. } => "warning",
            Event::ApprovalRequested { .. } => "approval_requested",
            Event::QuestionsAsked { .. } => "questions_asked",
            Event::RunFinished { .. } => "run_finished",
        }
    }
}

/// How many files of each kind a `user_edits` event is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditCounts {
    pub added: u64,
    pub modified: u64,
    pub deleted: u64,
}

/// A task as announced by the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTask {
    pub index: u32,
    pub title: String,
    #[serde(default)]
    pub goal: String,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub verify: Option<String>,
}

/// Where the engine sends its events: the UI renderers, and test collectors.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Collects events in memory (tests).
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
pub struct CollectSink(pub std::sync::Mutex<Vec<Event>>);

#[cfg(any(test, feature = "testing"))]
impl EventSink for CollectSink {
    fn emit(&self, event: Event) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }
}

#[cfg(any(test, feature = "testing"))]
impl CollectSink {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_snake_case_json() {
        let e = Event::TaskStarted {
            index: 1,
            total: 3,
            title: "Add storage".into(),
        };
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["type"], e.type_name());
        assert_eq!(j["index"], 1);
        let back: Event = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
        let j = serde_json::to_value(Event::ModelCallStarted {
            call_id: CallId(7),
            role: Role::Troubleshooter,
        })
        .unwrap();
        assert_eq!(
            j,
            serde_json::json!({"type": "model_call_started", "call_id": 7, "role": "troubleshooter"})
        );
    }
}
