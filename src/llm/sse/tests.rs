use proptest::prelude::*;

use super::*;

/// A recorded OpenAI stream: a comment keep-alive, a tool call in fragments, usage, `[DONE]`,
/// and a multi-byte character.
const OPENAI: &[u8] = b": OPENROUTER PROCESSING\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\xa6\x80\"},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"write_file\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"path\\\":\"}}]},\"finish_reason\":null}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n\
data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":44,\"completion_tokens\":16,\"total_tokens\":60,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n\
data: [DONE]\n\n";

/// A recorded Anthropic stream with `\r\n` line endings, a ping and a multi-line data field.
const ANTHROPIC: &[u8] = b"event: message_start\r\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":377,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\r\n\r\n\
event: content_block_start\r\n\
data: {\"type\":\"content_block_start\",\"index\":0,\r\n\
data: \"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"write_file\",\"input\":{}}}\r\n\r\n\
event: ping\r\n\
data: {\"type\": \"ping\"}\r\n\r\n\
event: content_block_delta\r\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\": \\\"\xc3\xa9\"}}\r\n\r\n\
event: content_block_stop\r\n\
data: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n\
event: message_delta\r\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":65}}\r\n\r\n\
event: message_stop\r\n\
data: {\"type\":\"message_stop\"}\r\n\r\n";

fn decode_split(bytes: &[u8], cuts: &[usize]) -> Vec<SseItem> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut dec = SseDecoder::default();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in cuts {
        dec.push(&bytes[start..cut], &mut out).unwrap();
        start = cut;
    }
    dec.push(&bytes[start..], &mut out).unwrap();
    dec.finish(&mut out);
    out
}

fn events(items: &[SseItem]) -> Vec<&SseEvent> {
    items
        .iter()
        .filter_map(|i| match i {
            SseItem::Event(e) => Some(e),
            SseItem::Comment(_) => None,
        })
        .collect()
}

#[test]
fn openai_recording_decodes_to_its_events() {
    let items = decode_all(OPENAI).unwrap();
    assert_eq!(items[0], SseItem::Comment("OPENROUTER PROCESSING".into()));
    let evs = events(&items);
    assert_eq!(evs.len(), 6);
    assert!(evs.iter().all(|e| e.event == "message"));
    assert!(evs[0].data.contains("héllo ✓ 🦀"));
    assert_eq!(evs[5].data, "[DONE]");
}

#[test]
fn anthropic_recording_with_crlf_and_multiline_data() {
    let items = decode_all(ANTHROPIC).unwrap();
    let evs = events(&items);
    let names: Vec<&str> = evs.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let joined: serde_json::Value = serde_json::from_str(&evs[1].data).unwrap();
    assert_eq!(joined["content_block"]["id"], "toolu_1");
    assert!(evs[1].data.contains(",\n\"content_block\""));
    assert!(!items[2].is_activity());
    assert!(items[3].is_activity());
}

#[test]
fn lone_cr_and_lf_line_endings_and_field_rules() {
    let items = decode_all(b"event: a\rdata:x\rdata\r\r:c\nid: 7\ndata:  two spaces\n\n").unwrap();
    assert_eq!(
        items,
        vec![
            SseItem::Event(SseEvent {
                event: "a".into(),
                data: "x\n".into(),
                id: None
            }),
            SseItem::Comment("c".into()),
            SseItem::Event(SseEvent {
                event: "message".into(),
                data: " two spaces".into(),
                id: Some("7".into())
            }),
        ]
    );
}

#[test]
fn empty_event_without_data_is_not_dispatched() {
    assert_eq!(decode_all(b"event: x\n\n\n").unwrap(), vec![]);
}

#[test]
fn bom_is_dropped_once() {
    let items = decode_all(b"\xEF\xBB\xBFdata: a\n\n").unwrap();
    assert_eq!(events(&items)[0].data, "a");
}

#[test]
fn eof_rules_dispatch_complete_lines_but_drop_a_cut_line() {
    let items = decode_all(b"data: [DONE]\n").unwrap();
    assert_eq!(events(&items)[0].data, "[DONE]");
    let items = decode_all(b"data: {\"a\":1}\n\ndata: {\"b\":").unwrap();
    assert_eq!(events(&items).len(), 1);
}

#[test]
fn events_above_one_mib_pass_and_the_cap_holds() {
    let big = "x".repeat(3 * 1024 * 1024);
    let body = format!("data: {big}\n\n");
    let items = decode_split(body.as_bytes(), &[1, 1000, 70_000, 2_000_000]);
    assert_eq!(events(&items)[0].data.len(), big.len());

    let mut dec = SseDecoder::new(1024 * 1024);
    let mut out = Vec::new();
    let err = dec.push(body.as_bytes(), &mut out).unwrap_err();
    assert_eq!(err, SseError::EventTooLarge { limit: 1024 * 1024 });
    // Many data lines count together.
    let mut dec = SseDecoder::new(1000);
    let many = "data: 0123456789\n".repeat(200);
    assert!(dec.push(many.as_bytes(), &mut out).is_err());
}

#[test]
fn cr_at_chunk_end_then_lf_is_one_line_ending() {
    let mut dec = SseDecoder::default();
    let mut out = Vec::new();
    dec.push(b"data: a\r", &mut out).unwrap();
    dec.push(b"\n", &mut out).unwrap();
    dec.push(b"\r", &mut out).unwrap();
    dec.push(b"\ndata: b\n\n", &mut out).unwrap();
    let evs = events(&out);
    assert_eq!(evs.len(), 2, "{out:?}");
    assert_eq!(evs[0].data, "a");
}

proptest! {
    #[test]
    fn openai_split_anywhere_decodes_the_same(cuts in prop::collection::vec(any::<usize>(), 0..40)) {
        prop_assert_eq!(decode_split(OPENAI, &cuts), decode_all(OPENAI).unwrap());
    }

    #[test]
    fn anthropic_split_anywhere_decodes_the_same(cuts in prop::collection::vec(any::<usize>(), 0..40)) {
        prop_assert_eq!(decode_split(ANTHROPIC, &cuts), decode_all(ANTHROPIC).unwrap());
    }

    #[test]
    fn byte_at_a_time_decodes_the_same(which in 0..2usize) {
        let bytes = [OPENAI, ANTHROPIC][which];
        let cuts: Vec<usize> = (0..bytes.len()).collect();
        prop_assert_eq!(decode_split(bytes, &cuts), decode_all(bytes).unwrap());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512),
                                   cuts in prop::collection::vec(any::<usize>(), 0..8)) {
        let _ = decode_split(&bytes, &cuts);
    }
}
