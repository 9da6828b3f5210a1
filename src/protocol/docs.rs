//! `docs/events.md` checked against the event types: every event the JSON stream can carry has
//! a row, and the row names exactly the fields the event serializes. Adding a variant without
//! an example fails to compile (the match below is exhaustive); adding one without a row, or a
//! field without documenting it, fails this test.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::llm::router::RouterEvent;

/// One example of every event, with every optional field set.
fn examples() -> Vec<Event> {
    let call_id = CallId(1);
    vec![
        Event::RunStarted {
            protocol: PROTOCOL_VERSION,
            project: "p".into(),
            run_id: 1,
            dir: "/p".into(),
            command: RunCommand::New,
            budget: Budget::default(),
        },
        Event::PhaseStarted { phase: Phase::Spec },
        Event::SpecWritten {
            path: "SPEC.md".into(),
            assumptions: vec![],
        },
        Event::ArchitectureChosen {
            stack: "s".into(),
            template: None,
            install_command: None,
            test_command: "t".into(),
            source: ArchitectureSource::Detected,
            evidence: vec!["Cargo.toml".into()],
        },
        Event::PlanCreated { tasks: vec![] },
        Event::BranchSwitched {
            purpose: SwitchPurpose::Leave,
            from: "samocoder/p-1".into(),
            to: "main".into(),
            user_changes: vec![],
            saved: Some("c".into()),
        },
        Event::ChangesReady {
            branch: "samocoder/p-1".into(),
            base: "main".into(),
            base_commit: "c".into(),
            commits: vec![],
            added: vec![],
            modified: vec![],
            deleted: vec![],
            review: "r".into(),
            merge: "m".into(),
        },
        Event::CostEstimate {
            estimate: crate::estimate::estimate(
                &crate::estimate::Scope {
                    planning: vec![],
                    tasks: Some(1),
                    iteration: None,
                },
                &crate::estimate::Basis::default(),
                &|_, _, _| Some(0.0),
            ),
            spent_usd: 0.0,
        },
        Event::TaskStarted {
            index: 1,
            total: 1,
            title: "t".into(),
        },
        Event::ModelCallStarted {
            call_id,
            role: Role::Coder,
        },
        Event::ModelText {
            call_id,
            text: "x".into(),
        },
        Event::ModelReasoning {
            call_id,
            text: "t".into(),
        },
        Event::ModelReset {
            call_id,
            reason: "r".into(),
        },
        Event::ModelCallFinished {
            call_id,
            role: Role::Coder,
            provider: "p".into(),
            model: "m".into(),
            input_tokens: 1,
            cached_input_tokens: 0,
            output_tokens: 1,
            cost_usd: None,
            attempts: 1,
            replayed: false,
            error: Some("e".into()),
        },
        Event::Routing {
            call_id,
            message: "m".into(),
            event: RouterEvent::BreakerClosed {
                provider: "p".into(),
            },
        },
        Event::ToolCall {
            tool_call_id: "c".into(),
            name: "n".into(),
            target: "t".into(),
            ok: false,
            error: Some("e".into()),
        },
        Event::FileWritten {
            path: "a".into(),
            bytes: 1,
            created: true,
        },
        Event::CommandStarted {
            command_id: CommandId(1),
            command: "c".into(),
            purpose: CommandRole::Tool,
            timeout_s: 1,
        },
        Event::CommandFinished {
            command_id: CommandId(1),
            command: "c".into(),
            purpose: CommandRole::Test,
            exit_code: None,
            timed_out: false,
            duration_ms: 1,
            disposition: Disposition::Ran,
        },
        Event::TestsRun {
            command: "c".into(),
            status: TestStatus::NotRun,
            passed: false,
            reason: Some("r".into()),
            tail: String::new(),
        },
        Event::FixAttempt {
            index: 1,
            attempt: 1,
            max: 3,
            signature: "s".into(),
            repeated: false,
        },
        Event::TaskFinished {
            index: 1,
            status: TaskOutcome::Failed,
            checkpoint: None,
            reason: Some("r".into()),
        },
        Event::Restarted {
            branch: "b".into(),
            from_commit: "c".into(),
            tasks: 1,
            kept_changes: Some("k".into()),
        },
        Event::UserEdits {
            added: vec![],
            modified: vec![],
            deleted: vec![],
            counts: EditCounts::default(),
        },
        Event::BudgetWarning {
            scope: BudgetScope::Run,
            spent_usd: 1.0,
            cap_usd: 2.0,
        },
        Event::Warning {
            message: "w".into(),
        },
        Event::ApprovalRequested {
            request_id: RequestId(1),
            command: "c".into(),
            cwd: "/p".into(),
            warning: Some("w".into()),
            sandbox: Some("s".into()),
        },
        Event::QuestionsAsked {
            request_id: RequestId(1),
            questions: vec![],
        },
        Event::RunFinished {
            status: RunStatus::Done,
            exit_code: 0,
            cost_usd: 0.0,
            cost_incomplete: false,
            model_calls: 0,
            input_tokens: 0,
            cached_input_tokens: 0,
            output_tokens: 0,
            tasks_done: 0,
            tasks_total: 0,
            duration_ms: 0,
            message: Some("m".into()),
        },
    ]
}

/// Marks the variant of `e` (exhaustive: a new variant must be added here).
fn slot(e: &Event) -> usize {
    match e {
        Event::RunStarted { .. } => 0,
        Event::PhaseStarted { .. } => 1,
        Event::SpecWritten { .. } => 2,
        Event::ArchitectureChosen { .. } => 3,
        Event::PlanCreated { .. } => 4,
        Event::TaskStarted { .. } => 5,
        Event::ModelCallStarted { .. } => 6,
        Event::ModelText { .. } => 7,
        Event::ModelReset { .. } => 8,
        Event::ModelCallFinished { .. } => 9,
        Event::Routing { .. } => 10,
        Event::ToolCall { .. } => 11,
        Event::FileWritten { .. } => 12,
        Event::CommandStarted { .. } => 13,
        Event::CommandFinished { .. } => 14,
        Event::TestsRun { .. } => 15,
        Event::FixAttempt { .. } => 16,
        Event::TaskFinished { .. } => 17,
        Event::UserEdits { .. } => 18,
        Event::BudgetWarning { .. } => 19,
        Event::Warning { .. } => 20,
        Event::ApprovalRequested { .. } => 21,
        Event::QuestionsAsked { .. } => 22,
        Event::RunFinished { .. } => 23,
        Event::Restarted { .. } => 24,
        Event::ModelReasoning { .. } => 25,
        Event::BranchSwitched { .. } => 26,
        Event::ChangesReady { .. } => 27,
        Event::CostEstimate { .. } => 28,
    }
}
const VARIANTS: usize = 29;

/// `type` -> the field names of its row in docs/events.md (the backticked words of the
/// second column that are not inside parentheses).
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let doc = include_str!("../../docs/events.md");
    let mut rows = BTreeMap::new();
    // The rows of the table (its header names the `type` column).
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| `") && !l.starts_with("| `type`"))
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        let ty = cells[0]
            .trim_start_matches("| ")
            .trim_matches('`')
            .to_string();
        let mut fields = BTreeSet::new();
        let mut depth = 0;
        let mut rest = cells.get(1).copied().unwrap_or_default();
        while let Some(c) = rest.chars().next() {
            match c {
                '(' | '{' => depth += 1,
                ')' | '}' => depth -= 1,
                '`' if depth == 0 => {
                    let end = rest[1..].find('`').map_or(rest.len(), |i| i + 1);
                    fields.insert(rest[1..end].to_string());
                    rest = &rest[(end + 1).min(rest.len())..];
                    continue;
                }
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
        }
        rows.insert(ty, fields);
    }
    rows
}

#[test]
fn events_md_lists_every_event_and_field() {
    let examples = examples();
    let mut seen = [false; VARIANTS];
    for e in &examples {
        seen[slot(e)] = true;
    }
    assert!(seen.iter().all(|s| *s), "an event variant has no example");
    let docs = documented();
    let mut json_types = BTreeSet::new();
    for e in examples {
        if matches!(e, Event::ModelText { .. } | Event::ModelReasoning { .. }) {
            continue; // not in the JSON stream
        }
        let v = serde_json::to_value(&e).unwrap();
        let ty = v["type"].as_str().unwrap().to_string();
        assert_eq!(ty, e.type_name());
        let fields: BTreeSet<String> = v
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "type")
            .cloned()
            .collect();
        let row = docs
            .get(&ty)
            .unwrap_or_else(|| panic!("docs/events.md has no row for `{ty}`"));
        assert_eq!(&fields, row, "the fields of `{ty}` in docs/events.md");
        json_types.insert(ty);
    }
    let doc_types: BTreeSet<String> = docs.keys().cloned().collect();
    assert_eq!(doc_types, json_types, "docs/events.md rows vs event types");
}
