//! The agent's state machine in process, over fakes: a scripted model behind a real router
//! and usage store, a scripted command runner, a scripted prompter and an event collector.
//! Every loop that calls a model is tried with a model that misbehaves.

use std::collections::HashSet;

use serde_json::json;

use super::testing::*;
use crate::exec::ApprovalPolicy;
use crate::exit::Exit;
use crate::llm::ErrorClass;
use crate::protocol::{
    ApprovalReply, CallId, Disposition, Event, Prompter, Role, RunCommand, TaskOutcome, TestStatus,
};

fn setup(test_command: &str, tasks: &[&str]) -> Vec<Reply> {
    vec![spec(), architecture(test_command), plan(tasks)]
}

fn roles(h: &Harness) -> Vec<Role> {
    h.events()
        .iter()
        .filter_map(|e| match e {
            Event::ModelCallStarted { role, .. } => Some(*role),
            _ => None,
        })
        .collect()
}

fn tests_run(h: &Harness) -> Vec<(TestStatus, bool)> {
    h.events()
        .iter()
        .filter_map(|e| match e {
            Event::TestsRun { status, passed, .. } => Some((*status, *passed)),
            _ => None,
        })
        .collect()
}

fn task_outcomes(h: &Harness) -> Vec<(TaskOutcome, Option<String>)> {
    h.events()
        .iter()
        .filter_map(|e| match e {
            Event::TaskFinished { status, reason, .. } => Some((*status, reason.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_test_is_fixed_by_the_troubleshooter_and_checkpointed() {
    let mut replies = setup("make test", &["one"]);
    replies.push(tools(&[write("a.txt", "a\n"), done()]));
    replies.push(tools(&[write("a.txt", "fixed\n"), done()]));
    let h = Harness::new(
        replies,
        vec![
            exited(1, "FAIL: test_a\nFAILED (failures=1)"),
            exited(0, "OK"),
        ],
    );
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    assert_eq!(
        roles(&h),
        [
            Role::Spec,
            Role::Architect,
            Role::Planner,
            Role::Coder,
            Role::Troubleshooter
        ]
    );
    assert_eq!(
        tests_run(&h),
        [(TestStatus::Failed, false), (TestStatus::Passed, true)]
    );
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::FixAttempt {
            attempt: 1,
            repeated: false,
            ..
        }
    )));
    assert!(matches!(
        &task_outcomes(&h)[..],
        [(TaskOutcome::Done, None)]
    ));
    assert_eq!(
        std::fs::read_to_string(h.project_dir().join("a.txt")).unwrap(),
        "fixed\n"
    );
    assert_eq!(h.runner.commands(), ["make test", "make test"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_model_that_answers_in_text_is_asked_at_most_three_times() {
    let replies = (0..50)
        .map(|_| text("Sure! Here is the specification you asked for: ..."))
        .collect();
    let h = Harness::new(replies, vec![]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(
        h.calls(),
        3,
        "the cap is 3 unusable answers, then the phase stops"
    );
    let m = h.message();
    assert!(
        m.contains("the spec answered 3 times without calling submit_spec; last answer: \"Sure! Here is the specification"),
        "{m}"
    );
    assert!(m.contains("samocoder resume t"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_refusal_is_not_retried_as_noise() {
    let mut replies = setup("true", &["one"]);
    replies.truncate(1);
    replies.insert(0, refusal("I can't help with that request."));
    let h = Harness::new(replies, vec![]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(h.calls(), 1);
    assert!(
        h.message()
            .contains("the spec refused: \"I can't help with that request.\""),
        "{}",
        h.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_empty_and_cut_answers_count_against_the_cap() {
    let cut = Reply::Answer {
        text: "{\"spec_markdown\": \"# half".into(),
        calls: vec![],
        finish: crate::llm::FinishReason::Truncated,
    };
    let h = Harness::new(vec![text(""), cut.clone(), text(" "), spec()], vec![]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(h.calls(), 3);
    assert!(h.message().contains("3 empty answers"), "{}", h.message());

    let h = Harness::new(vec![cut.clone(), cut.clone(), cut, spec()], vec![]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(h.calls(), 3);
    assert!(
        h.message().contains("cut off at the output limit 3 times"),
        "{}",
        h.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_tool_in_planning_counts_against_the_cap() {
    let wrong = tools(&[("write_file", json!({"path": "SPEC.md", "content": "x"}))]);
    let h = Harness::new(vec![wrong.clone(), wrong.clone(), wrong, spec()], vec![]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(h.calls(), 3);
    assert!(
        h.message()
            .contains("unknown tool `write_file`; call `submit_spec`"),
        "{}",
        h.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coder_that_only_talks_fails_the_task_after_three_answers() {
    let mut replies = setup("true", &["one"]);
    replies.extend((0..20).map(|_| text("I will now write the file.")));
    let h = Harness::new(replies, vec![]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(h.calls(), 3 + 3);
    let outcomes = task_outcomes(&h);
    assert_eq!(outcomes.len(), 1);
    let reason = outcomes[0].1.clone().unwrap();
    assert!(reason.contains("the coder answered 3 times"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coder_refusal_fails_the_task_at_once() {
    let mut replies = setup("true", &["one"]);
    replies.push(refusal("I won't do that."));
    replies.push(tools(&[done()]));
    let h = Harness::new(replies, vec![]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(h.calls(), 4);
    let reason = task_outcomes(&h)[0].1.clone().unwrap();
    assert!(
        reason.contains("the coder refused: \"I won't do that.\""),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tool_calls_past_the_limit_fail_the_task() {
    let mut replies = setup("true", &["one"]);
    replies.extend((0..20).map(|_| tools(&[("rm_rf", json!({}))])));
    let h = Harness::with_config(replies, vec![], &["limits.max_tool_errors=2"]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(h.calls(), 3 + 3);
    let reason = task_outcomes(&h)[0].1.clone().unwrap();
    assert!(
        reason.contains("3 invalid tool calls (limit 2)"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_failure_three_times_in_a_row_fails_the_task() {
    let mut replies = setup("make test", &["one"]);
    replies.extend((0..10).map(|_| tools(&[write("a.txt", "a\n"), done()])));
    let h = Harness::with_config(
        replies,
        vec![exited(1, "FAIL: test_a (line 3)")],
        &["limits.max_fix_attempts=5"],
    );
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    let repeated: Vec<bool> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::FixAttempt { repeated, .. } => Some(*repeated),
            _ => None,
        })
        .collect();
    assert_eq!(repeated, [false, true, true]);
    let reason = task_outcomes(&h)[0].1.clone().unwrap();
    assert!(
        reason.contains("the same test failure three times"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fix_attempts_are_capped() {
    let mut replies = setup("make test", &["one"]);
    replies.extend((0..10).map(|_| tools(&[write("a.txt", "a\n"), done()])));
    let outputs = ["FAIL a", "FAIL b", "FAIL c", "FAIL d", "FAIL e"];
    let h = Harness::with_config(
        replies,
        outputs.iter().map(|o| exited(1, o)).collect(),
        &["limits.max_fix_attempts=2"],
    );
    assert_eq!(h.run(RunCommand::New).await, Exit::Failure);
    assert_eq!(tests_run(&h).len(), 3);
    let reason = task_outcomes(&h)[0].1.clone().unwrap();
    assert!(
        reason.contains("tests still fail after 2 fix attempts"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_budget_stops_before_a_call_it_cannot_pay_and_the_state_is_resumable() {
    let mut replies = setup("true", &["one", "two", "three"]);
    replies.extend((0..6).map(|_| tools(&[write("a.txt", "a\n"), done()])));
    let mut h = Harness::with_config(replies, vec![], &["limits.max_output_tokens=100"]);
    h.max_cost_usd = Some(5.0);
    assert_eq!(h.run(RunCommand::New).await, Exit::Budget);
    let spent = h.store.project_cost(h.project_id).unwrap().cost_usd;
    assert!(spent <= 5.0 && spent > 0.0, "spent {spent}");
    assert!(
        h.message().contains("run budget exhausted"),
        "{}",
        h.message()
    );
    let project = h.store.project_by_id(h.project_id).unwrap();
    assert_eq!(project.status, crate::store::ProjectStatus::BudgetExhausted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_four_jobs_the_events_sum_to_the_recorded_total_with_unique_call_ids() {
    let mut replies = setup("true", &["files"]);
    let files: Vec<_> = (1..=4)
        .map(|i| json!({"path": format!("f{i}.txt"), "instructions": format!("write file {i}")}))
        .collect();
    replies.push(tools(&[("write_files", json!({ "files": files }))]));
    for i in [3, 1, 4, 2] {
        replies.push(Reply::File {
            path: format!("f{i}.txt"),
            content: format!("file {i}\n"),
        });
    }
    replies.push(tools(&[done()]));
    let mut h = Harness::new(replies, vec![]);
    h.jobs = 4;
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    for i in 1..=4 {
        let text = std::fs::read_to_string(h.project_dir().join(format!("f{i}.txt"))).unwrap();
        assert_eq!(text, format!("file {i}\n"));
    }
    let finished: Vec<(CallId, Option<f64>, u64, u64, Role)> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::ModelCallFinished {
                call_id,
                cost_usd,
                input_tokens,
                output_tokens,
                role,
                ..
            } => Some((*call_id, *cost_usd, *input_tokens, *output_tokens, *role)),
            _ => None,
        })
        .collect();
    assert_eq!(finished.len(), 9);
    assert_eq!(finished.iter().filter(|f| f.4 == Role::Writer).count(), 4);
    let ids: HashSet<CallId> = finished.iter().map(|f| f.0).collect();
    assert_eq!(ids.len(), finished.len(), "call ids are unique");
    let events_cost: f64 = finished.iter().map(|f| f.1.unwrap()).sum();
    let events_input: u64 = finished.iter().map(|f| f.2).sum();
    let events_output: u64 = finished.iter().map(|f| f.3).sum();
    let db = h.store.project_cost(h.project_id).unwrap();
    assert!(
        (events_cost - db.cost_usd).abs() < 1e-9,
        "{events_cost} vs {}",
        db.cost_usd
    );
    assert!((db.cost_usd - 9.0 * 1.2).abs() < 1e-9);
    assert_eq!(events_input as i64, db.input_tokens);
    assert_eq!(events_output as i64, db.output_tokens);
    assert_eq!(db.calls, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_is_counted_in_its_event_and_in_the_store() {
    let h = Harness::with_config(
        vec![Reply::Fail(ErrorClass::Server)],
        vec![],
        &["network.max_retries=0"],
    );
    let exit = h.run(RunCommand::New).await;
    assert_ne!(exit, Exit::Ok);
    let failed = h.events().into_iter().find_map(|e| match e {
        Event::ModelCallFinished {
            attempts, error, ..
        } => Some((attempts, error)),
        _ => None,
    });
    let (attempts, error) = failed.expect("a model_call_finished for the failed call");
    assert_eq!(attempts, 1);
    assert!(error.is_some());
    assert_eq!(h.store.project_cost(h.project_id).unwrap().calls, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_that_did_not_run_are_reported_as_not_run() {
    let mut replies = setup("make test", &["one"]);
    replies.push(tools(&[write("a.txt", "a\n"), done()]));
    let mut h = Harness::new(replies, vec![]);
    h.policy = ApprovalPolicy::Never;
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    assert_eq!(tests_run(&h), [(TestStatus::NotRun, false)]);
    assert!(h.runner.commands().is_empty());
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::CommandStarted { .. }))
    );
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::CommandFinished {
            disposition: Disposition::Recorded,
            ..
        }
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_command_is_not_run_and_the_tests_count_as_not_run() {
    let mut replies = setup("make test", &["one"]);
    replies.push(tools(&[write("a.txt", "a\n"), done()]));
    let mut h = Harness::new(replies, vec![]);
    h.policy = ApprovalPolicy::Ask;
    let (prompter, rx) = Prompter::channel();
    h.prompter = Some(prompter);
    let script = crate::protocol::prompt::scripted(
        rx,
        vec![ApprovalReply::Deny {
            reason: Some("not now".into()),
        }],
    );
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    let statuses = h.events().into_iter().find_map(|e| match e {
        Event::TestsRun { status, reason, .. } => Some((status, reason)),
        _ => None,
    });
    let (status, reason) = statuses.unwrap();
    assert_eq!(status, TestStatus::NotRun);
    assert!(reason.unwrap().contains("declined"));
    assert!(h.runner.commands().is_empty());
    drop(h);
    assert_eq!(script.await.unwrap(), ["make test"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dangerous_command_is_flagged_in_the_approval_request() {
    let mut replies = setup("true", &["one"]);
    replies.push(tools(&[("run_command", json!({"command": "rm -rf /"}))]));
    replies.push(tools(&[done()]));
    let mut h = Harness::new(replies, vec![exited(0, "")]);
    h.policy = ApprovalPolicy::Ask;
    let (prompter, rx) = Prompter::channel();
    h.prompter = Some(prompter);
    let _script = crate::protocol::prompt::scripted(rx, vec![ApprovalReply::Deny { reason: None }]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    let warning = h.events().into_iter().find_map(|e| match e {
        Event::ApprovalRequested {
            command, warning, ..
        } if command == "rm -rf /" => Some(warning),
        _ => None,
    });
    assert!(warning.flatten().is_some_and(|w| !w.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_an_approval_waits_interrupts_the_run() {
    let mut replies = setup("make test", &["one"]);
    replies.push(tools(&[done()]));
    let mut h = Harness::new(replies, vec![]);
    h.policy = ApprovalPolicy::Ask;
    let (prompter, mut rx) = Prompter::channel();
    h.prompter = Some(prompter);
    let cancel = h.cancel.clone();
    // Nobody answers; Ctrl-C comes while the request waits.
    let held = tokio::spawn(async move {
        let req = rx.recv().await;
        cancel.cancel();
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        drop(req);
    });
    assert_eq!(h.run(RunCommand::New).await, Exit::Interrupted);
    assert!(h.message().contains("interrupted"), "{}", h.message());
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stops_at_its_call_ceiling_priced_or_not_and_can_be_resumed() {
    let mut replies = setup("true", &["a", "b", "c"]);
    replies.extend((0..3).map(|_| tools(&[write("a.txt", "a\n"), done()])));
    let h = Harness::with_config(replies, vec![], &["limits.max_calls_per_run=4"]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Budget);
    assert_eq!(h.calls(), 4);
    let m = h.message();
    assert!(m.contains("this run made 4 model calls"), "{m}");
    assert!(m.contains("samocoder resume t"), "{m}");
    let project = h.store.project_by_id(h.project_id).unwrap();
    assert_eq!(project.status, crate::store::ProjectStatus::BudgetExhausted);
    // A new run has its own ceiling and carries on from the saved state.
    assert_eq!(h.run(RunCommand::Resume).await, Exit::Ok, "{}", h.message());
    assert_eq!(h.calls(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_project_budget_stop_names_the_knob_that_lifts_it() {
    let mut replies = setup("true", &["a"]);
    replies.push(tools(&[write("a.txt", "a\n"), done()]));
    let h = Harness::with_config(replies, vec![], &["limits.max_output_tokens=100"]);
    h.store.set_project_budget(h.project_id, Some(2.0)).unwrap();
    assert_eq!(h.run(RunCommand::New).await, Exit::Budget);
    let m = h.message();
    assert!(m.contains("project budget exhausted"), "{m}");
    // It used to say `resume --max-cost`, which cannot lift a project's cap.
    assert!(m.contains("samocoder budget t USD"), "{m}");
    assert!(!m.contains("--max-cost"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_an_edit_applied_before_a_kill_is_not_applied_again_on_resume() {
    use crate::protocol::StepPayload;
    use crate::store::NewStep;
    let mut replies = setup("true", &["one"]);
    replies.push(tools(&[write("a.txt", "value = 1\n")]));
    replies.push(Reply::Fail(ErrorClass::BadRequest));
    replies.push(tools(&[done()]));
    let h = Harness::with_config(replies, vec![], &["network.max_retries=0"]);
    assert_ne!(h.run(RunCommand::New).await, Exit::Ok);
    // The next answer edits the file; the run is killed after the write and before its result
    // was saved: the answer is saved, the file is edited, the store still has the old hash.
    let task = h.store.list_tasks(h.project_id).unwrap().remove(0);
    let run = h.store.list_runs(h.project_id).unwrap().remove(0);
    let edit = crate::llm::ToolCall {
        id: "call_9".into(),
        name: "edit_file".into(),
        arguments: json!({"path": "a.txt", "old": "= 1", "new": "= 10"}).to_string(),
    };
    h.store
        .insert_step(&NewStep {
            project_id: h.project_id,
            run_id: run.id,
            task_id: Some(task.id),
            thread: format!("task:{}", task.id),
            payload: turn(Role::Coder, "", vec![edit]),
        })
        .unwrap();
    std::fs::write(h.project_dir().join("a.txt"), "value = 10\n").unwrap();
    assert_eq!(h.run(RunCommand::Resume).await, Exit::Ok, "{}", h.message());
    assert_eq!(
        std::fs::read_to_string(h.project_dir().join("a.txt")).unwrap(),
        "value = 10\n",
        "the edit's `new` contains its `old`: applied twice it would give `= 100`"
    );
    let results: Vec<_> = h
        .store
        .thread_steps(h.project_id, &format!("task:{}", task.id))
        .unwrap()
        .into_iter()
        .filter_map(|s| match s.payload {
            StepPayload::ToolCall(r) if r.call_id == "call_9" => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), 1);
    assert!(!results[0].is_error, "{}", results[0].result);
}

/// Prompts are cache-friendly by construction: within a conversation each request is the
/// previous one plus new messages, and across the tasks of a run the system prompt and the tool
/// schemas (the start of every request) are byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_extends_the_previous_one_and_tasks_share_their_prefix() {
    let mut replies = setup("make test", &["one", "two"]);
    replies.push(tools(&[write("a.txt", "a\n")]));
    replies.push(tools(&[done()]));
    replies.push(tools(&[write("a.txt", "fixed\n"), done()]));
    replies.push(tools(&[write("b.txt", "b\n")]));
    replies.push(tools(&[done()]));
    let h = Harness::new(replies, vec![exited(1, "FAIL"), exited(0, "OK")]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    let requests = h.models.scripted.requests();
    let first_user = |r: &crate::llm::Request| format!("{:?}", r.messages.first());
    let mut by_thread: Vec<(String, Vec<&crate::llm::Request>)> = Vec::new();
    for r in &requests {
        let key = first_user(r);
        match by_thread.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(r),
            None => by_thread.push((key, vec![r])),
        }
    }
    let mut pairs = 0;
    for (_, list) in &by_thread {
        for w in list.windows(2) {
            assert_eq!(w[0].system, w[1].system);
            assert_eq!(w[0].tools, w[1].tools);
            assert_eq!(&w[1].messages[..w[0].messages.len()], &w[0].messages[..]);
            pairs += 1;
        }
    }
    assert!(pairs >= 3, "{pairs} same-thread pairs");
    let tasks: Vec<&&crate::llm::Request> = by_thread
        .iter()
        .filter(|(_, l)| l[0].tools.iter().any(|t| t.name == "task_done"))
        .map(|(_, l)| &l[0])
        .collect();
    assert_eq!(tasks.len(), 2);
    let prefix = |r: &crate::llm::Request| serde_json::to_string(&(&r.system, &r.tools)).unwrap();
    assert_eq!(prefix(tasks[0]), prefix(tasks[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_a_budget_is_never_enforced_on_an_unknown_price_counted_as_zero() {
    let mut replies = setup("true", &["one"]);
    replies.push(tools(&[write("a.txt", "a\n"), done()]));
    let unpriced = "[providers.proxy]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n";
    let mut h = Harness::with_model(replies.clone(), vec![], "proxy:my-own-model", unpriced, &[]);
    h.max_cost_usd = Some(1.0);
    assert_eq!(h.run(RunCommand::New).await, Exit::Usage);
    assert_eq!(h.calls(), 0, "nothing was spent");
    let m = h.message();
    assert!(
        m.contains("cannot be enforced: no price is known for proxy:my-own-model"),
        "{m}"
    );
    assert!(m.contains("[prices.\"proxy:my-own-model\"]"), "{m}");

    // Without a budget the same run goes ahead (its cost is recorded as unknown).
    let h = Harness::with_model(replies.clone(), vec![], "proxy:my-own-model", unpriced, &[]);
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());

    // A model priced only under another provider: the budget holds on the estimate, and says so.
    let mut h = Harness::with_model(replies, vec![], "proxy:gpt-4o", unpriced, &[]);
    h.max_cost_usd = Some(100.0);
    assert_eq!(h.run(RunCommand::New).await, Exit::Ok, "{}", h.message());
    assert!(h.events().iter().any(|e| matches!(
        e,
        Event::Warning { message } if message.contains("estimated prices for proxy:gpt-4o as openai:gpt-4o")
    )), "{:?}", h.events());
}
