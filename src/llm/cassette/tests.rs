use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::llm::Message;

fn request() -> Request {
    Request {
        model: "gpt-4o".into(),
        system: String::new(),
        messages: vec![Message::User {
            content: "hi".into(),
        }],
        tools: vec![],
        max_output_tokens: 50,
        temperature: None,
        cache_key: None,
    }
}

fn sample_responses() -> Vec<Response> {
    vec![
        Response {
            text: "Here is the plan.\nLine \"two\" ünïcode".into(),
            tool_calls: vec![],
            finish: Some(FinishReason::Stop),
            usage: Usage {
                input_tokens: 120,
                output_tokens: 30,
                cached_input_tokens: 64,
                cache_write_tokens: 0,
                reasoning_tokens: 0,
                reported_cost_usd: Some(0.0012),
                estimated: false,
            },
            ..Response::default()
        },
        Response {
            text: String::new(),
            tool_calls: vec![
                ToolCall {
                    id: "call_a".into(),
                    name: "write_file".into(),
                    arguments: r#"{"content":"print(1)\n","path":"a.py"}"#.into(),
                },
                ToolCall {
                    id: "call_b".into(),
                    name: "run".into(),
                    // Not valid JSON, and spaced: must come back byte for byte.
                    arguments: r#"{"cmd": "pytest" "#.into(),
                },
            ],
            finish: Some(FinishReason::ToolCalls),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 5,
                ..Usage::default()
            },
            ..Response::default()
        },
        Response {
            text: "cut".into(),
            finish: Some(FinishReason::Other("content_filter_x".into())),
            ..Response::default()
        },
    ]
}

/// A provider that answers with prepared responses, in order.
struct Canned(std::sync::Mutex<Vec<Response>>);

impl Provider for Canned {
    fn name(&self) -> &str {
        "canned"
    }
    fn stream(&self, _request: Request) -> EventStream {
        let r = self.0.lock().unwrap().remove(0);
        let entry = CassetteEntry::from_response(&r, None, None);
        Box::pin(stream::iter(entry.events().into_iter().map(Ok)))
    }
}

#[tokio::test]
async fn record_then_replay_gives_the_same_responses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.jsonl");
    let responses = sample_responses();
    let rec = RecordingProvider::new(Arc::new(Canned(responses.clone().into())), &path);
    for want in &responses {
        assert_eq!(&rec.complete(request()).await.unwrap(), want);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.ends_with('\n'));
    assert!(
        text.contains(r#""arguments":{"content":"print(1)\n","path":"a.py"}"#),
        "valid JSON arguments are stored as values: {text}"
    );
    let replay = ReplayProvider::open(&path).unwrap();
    assert_eq!(replay.len(), 3);
    for want in &responses {
        assert_eq!(&replay.complete(request()).await.unwrap(), want);
    }
    assert_eq!(replay.position(), 3);
}

#[tokio::test]
async fn hand_written_lines_need_few_fields() {
    let text = r#"
# planner answer
{"text": "hello"}

{"tool_calls": [{"name": "write_file", "arguments": {"path": "x"}}, {"name": "run", "arguments": "ls -l"}]}
"#;
    let replay = ReplayProvider::from_text(text, "hand.jsonl").unwrap();
    let r = replay.complete(request()).await.unwrap();
    assert_eq!(
        (r.text.as_str(), r.finish),
        ("hello", Some(FinishReason::Stop))
    );
    let r = replay.complete(request()).await.unwrap();
    assert_eq!(r.finish, Some(FinishReason::ToolCalls));
    assert_eq!(r.tool_calls[0].id, "call_1");
    assert_eq!(r.tool_calls[0].arguments, r#"{"path":"x"}"#);
    assert_eq!(r.tool_calls[1].arguments, "ls -l");
}

#[tokio::test]
async fn exhaustion_names_the_file_and_its_size() {
    let replay = ReplayProvider::from_text("{\"text\":\"only\"}\n", "runs/a.jsonl").unwrap();
    replay.complete(request()).await.unwrap();
    let err = replay.complete(request()).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::CassetteExhausted);
    assert!(err.message.contains("runs/a.jsonl"), "{}", err.message);
    assert!(err.message.contains("holds 1"), "{}", err.message);
    assert_eq!(err.exit(), Exit::Usage);
}

#[tokio::test]
async fn replay_can_start_at_an_offset() {
    let text = "{\"text\":\"one\"}\n{\"text\":\"two\"}\n{\"text\":\"three\"}\n";
    let replay = ReplayProvider::from_text(text, "c.jsonl")
        .unwrap()
        .starting_at(2);
    assert_eq!(replay.position(), 2);
    assert_eq!(replay.complete(request()).await.unwrap().text, "three");
    assert_eq!(replay.position(), 3);
    assert!(replay.complete(request()).await.is_err());
}

#[test]
fn malformed_lines_are_named_by_file_and_line() {
    let text = "{\"text\":\"ok\"}\n\n{\"text\": 5}\n";
    let err = parse_cassette(text, "bad.jsonl").unwrap_err();
    match &err {
        CassetteError::Malformed { path, line, .. } => {
            assert_eq!((path.as_str(), *line), ("bad.jsonl", 3))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("cassette bad.jsonl line 3 is not a valid answer")
    );
    assert_eq!(err.exit(), Exit::Usage);
    // Typos in field names are errors, not silently empty answers.
    assert!(parse_cassette("{\"txt\":\"hi\"}", "t.jsonl").is_err());
    assert!(parse_cassette("{\"tool_calls\":[{\"name\":\"\"}]}", "t.jsonl").is_err());
    let missing = ReplayProvider::open(Path::new("/nonexistent/samocoder.jsonl")).unwrap_err();
    assert!(matches!(missing, CassetteError::Read { .. }));
}

#[tokio::test]
async fn failed_streams_are_not_recorded_and_torn_lines_are_mended() {
    struct Broken;
    impl Provider for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn stream(&self, _r: Request) -> EventStream {
            Box::pin(stream::iter([
                Ok(StreamEvent::TextDelta { text: "par".into() }),
                Err(LlmError::new(ErrorClass::StreamCut, "broken", "m", "cut")),
            ]))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.jsonl");
    let rec = RecordingProvider::new(Arc::new(Broken), &path);
    assert!(rec.complete(request()).await.is_err());
    assert!(!path.exists());
    // A line torn by a crash does not swallow the next answer.
    std::fs::write(&path, "{\"text\":\"a\"}\n{\"tex").unwrap();
    let rec = RecordingProvider::new(
        Arc::new(Canned(
            vec![Response {
                text: "b".into(),
                finish: Some(FinishReason::Stop),
                ..Response::default()
            }]
            .into(),
        )),
        &path,
    );
    rec.complete(request()).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.lines().last().unwrap(),
        r#"{"text":"b","finish":"stop","provider":"canned","model":"gpt-4o"}"#
    );
    let err = parse_cassette(&text, "c.jsonl").unwrap_err();
    assert!(matches!(err, CassetteError::Malformed { line: 2, .. }));
}

#[test]
fn unknown_finish_reasons_round_trip() {
    let mut seen = BTreeMap::new();
    for f in ["stop", "tool_calls", "truncated", "refused", "weird"] {
        seen.insert(f, finish_name(&parse_finish(f)));
    }
    assert!(seen.iter().all(|(k, v)| k == v));
}

proptest! {
    #[test]
    fn parser_never_panics(text in "\\PC*") {
        let _ = parse_cassette(&text, "p.jsonl");
    }

    #[test]
    fn parser_never_panics_on_json_like_lines(
        lines in proptest::collection::vec(
            r#"\{("(text|finish|tool_calls|usage|name|arguments|id)"|[:,\[\]{}0-9"a-z .-]){0,40}\}?"#,
            0..6,
        )
    ) {
        let text = lines.join("\n");
        if let Ok(entries) = parse_cassette(&text, "p.jsonl") {
            for e in entries {
                let _ = e.events();
            }
        }
    }
}
