//! The agent's event protocol: everything a run does that a user may want to see, as typed,
//! serde-tagged values. The agent only emits; `ui` renders them for a human or as JSON lines
//! (documented in docs/events.md). Adding a field is compatible; renaming one is not.

use serde::{Deserialize, Serialize};

/// One thing that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        project: String,
        run_id: i64,
        dir: String,
        /// `new` or `resume`.
        command: String,
    },
    /// A pipeline phase begins: `spec`, `architecture`, `plan`, `tasks`, `finish`.
    PhaseStarted {
        phase: String,
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
    },
    PlanCreated {
        tasks: Vec<PlannedTask>,
    },
    TaskStarted {
        index: u32,
        total: u32,
        title: String,
    },
    /// A model call begins for a role (`spec`, `architect`, `planner`, `coder`, `troubleshooter`).
    ModelCallStarted {
        role: String,
    },
    /// Streamed model text (only for terminals; JSON renderers may skip it).
    ModelText {
        text: String,
    },
    /// The router discarded a partly streamed answer and is trying again.
    ModelReset {
        reason: String,
    },
    ModelCallFinished {
        role: String,
        provider: String,
        model: String,
        input_tokens: u64,
        output_tokens: u64,
        /// `None` when the price is unknown.
        cost_usd: Option<f64>,
        /// The answer came from the saved state or a cassette, not a paid call.
        replayed: bool,
    },
    /// A retry, wait, fallback or circuit-breaker notice from the router.
    Routing {
        message: String,
    },
    ToolCall {
        name: String,
        /// A short description: the path, or the command.
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
    CommandFinished {
        command: String,
        /// `None` when killed by a signal or never run.
        exit_code: Option<i32>,
        timed_out: bool,
        duration_ms: u64,
        /// `ran`, `denied` (the user said no), `refused` (looked destructive), `recorded`
        /// (policy `never`).
        disposition: String,
    },
    TestsRun {
        command: String,
        passed: bool,
        /// The last lines of the output, for the human.
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
        /// `done` or `failed`.
        status: String,
        checkpoint: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Files changed outside samocoder since its last run.
    UserEdits {
        added: Vec<String>,
        modified: Vec<String>,
        deleted: Vec<String>,
    },
    BudgetWarning {
        /// `run` or `project`.
        scope: String,
        spent_usd: f64,
        cap_usd: f64,
    },
    Warning {
        message: String,
    },
    /// Always the last event of a run.
    RunFinished {
        /// `done`, `failed`, `budget_exhausted`, `interrupted`, `no_provider`, `error`.
        status: String,
        exit_code: u8,
        cost_usd: f64,
        /// True when some calls had an unknown price (so `cost_usd` is a lower bound).
        cost_incomplete: bool,
        model_calls: u64,
        tasks_done: u32,
        tasks_total: u32,
        duration_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

/// A task as announced by the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTask {
    pub index: u32,
    pub title: String,
}

/// Where the agent sends its events. Implemented by the UI renderers and by test collectors.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Collects events in memory (tests).
#[derive(Debug, Default)]
pub struct CollectSink(pub std::sync::Mutex<Vec<Event>>);

impl EventSink for CollectSink {
    fn emit(&self, event: Event) {
        self.0.lock().expect("event collector poisoned").push(event);
    }
}

impl CollectSink {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().expect("event collector poisoned").clone()
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
        assert_eq!(j["type"], "task_started");
        assert_eq!(j["index"], 1);
        let back: Event = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
    }
}
