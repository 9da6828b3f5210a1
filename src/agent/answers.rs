//! Which model answers the agent cannot use, and what to say about them. Every loop that calls
//! a model counts them: a model that answers in text where a tool call is required, sends
//! nothing, is cut off, or only makes invalid calls is stopped after a few tries instead of
//! being asked again forever; a refusal stops at once (it is not noise to retry).

use crate::llm::{FinishReason, Response};
use crate::protocol::{Role, StepPayload};

use super::session::ThreadLog;

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// Text where a tool call was required.
    TextOnly(String),
    /// Nothing at all.
    Empty,
    /// Cut by the output-token limit.
    Truncated,
    /// Cut because the model's context window was full (a bigger output limit cannot help).
    ContextFull,
    /// The model or the provider refused; the refusal text (may be empty).
    Refused(String),
    /// Only invalid tool calls; the last problem reported to the model.
    Invalid(String),
}

/// Judges an answer on its own (tool calls are judged by their results): `None` when it can
/// be used. `tool_required`: text alone is unusable (planning roles and writers).
pub fn judge(r: &Response, tool_required: bool) -> Option<Unusable> {
    if r.is_refused() {
        let why = r.refusal.as_deref().unwrap_or(&r.text);
        return Some(Unusable::Refused(why.trim().to_string()));
    }
    if r.finish == Some(FinishReason::ContextFull) {
        return Some(Unusable::ContextFull);
    }
    if r.is_truncated() {
        return Some(Unusable::Truncated);
    }
    if !r.tool_calls.is_empty() {
        return None;
    }
    if r.text.trim().is_empty() {
        return Some(Unusable::Empty);
    }
    tool_required.then(|| Unusable::TextOnly(r.text.trim().to_string()))
}

/// The unusable answers this run saved in a thread whose answers must be tool calls, in order:
/// each answer that was judged unusable, or whose calls all came back as errors.
pub fn unusable_turns(log: &ThreadLog, run_id: i64) -> Vec<Unusable> {
    let mut out = Vec::new();
    for (i, s) in log.steps.iter().enumerate() {
        let StepPayload::ModelTurn(t) = &s.payload else {
            continue;
        };
        if s.run_id != run_id {
            continue;
        }
        if let Some(u) = judge(&t.response, true) {
            out.push(u);
            continue;
        }
        let mut accepted = false;
        let mut last_error = None;
        let mut answered = false;
        for later in &log.steps[i + 1..] {
            match &later.payload {
                StepPayload::ToolCall(r) => {
                    answered = true;
                    if r.is_error {
                        last_error = Some(r.result.clone());
                    } else {
                        accepted = true;
                    }
                }
                StepPayload::ModelTurn(_) => break,
                _ => {}
            }
        }
        // An answer whose calls were not judged yet (the last one) is not counted.
        if answered && !accepted {
            out.push(Unusable::Invalid(last_error.unwrap_or_default()));
        }
    }
    out
}

/// How many unusable answers end the thread's log in a row (for the developer's loop, where
/// a text answer between tool calls is normal but several in a row mean it is stuck).
pub fn unusable_in_a_row(log: &ThreadLog, run_id: i64) -> Vec<Unusable> {
    let mut out = Vec::new();
    for s in log.steps.iter().rev() {
        match &s.payload {
            StepPayload::ModelTurn(t) if s.run_id == run_id => match judge(&t.response, true) {
                Some(u) => out.push(u),
                None => break,
            },
            StepPayload::ModelTurn(_) => break,
            _ => {}
        }
    }
    out.reverse();
    out
}

impl Unusable {
    /// What to tell the model before asking again.
    pub fn nudge(&self, tool: &str) -> String {
        match self {
            Unusable::TextOnly(_) => format!(
                "Text alone is not read here. Answer by calling the `{tool}` tool, with every field it needs."
            ),
            Unusable::Empty => format!("Your answer was empty. Answer by calling the `{tool}` tool."),
            Unusable::Truncated => "Your answer was cut off by the output limit and nothing from it was used. Answer again, more briefly, with one tool call.".into(),
            Unusable::ContextFull => "Your answer was cut off because the context window is full and nothing from it was used. Answer again, as briefly as you can, with one tool call.".into(),
            Unusable::Refused(_) | Unusable::Invalid(_) => format!("Call the `{tool}` tool."),
        }
    }
}

/// One line for the user when a role gives up: what the model did, and how to carry on.
pub fn give_up_message(role: Role, tool: &str, bad: &[Unusable], project: &str) -> String {
    let n = bad.len();
    let what = match bad.last() {
        Some(Unusable::Refused(text)) if text.is_empty() => {
            format!("the {role} refused to answer (the provider gave no reason)")
        }
        Some(Unusable::Refused(text)) => format!("the {role} refused: \"{}\"", excerpt(text)),
        Some(Unusable::TextOnly(text)) => format!(
            "the {role} answered {n} time{} without calling {tool}; last answer: \"{}\"",
            if n == 1 { "" } else { "s" },
            excerpt(text)
        ),
        Some(Unusable::Empty) => format!("the {role} sent {n} empty answer{}", plural(n)),
        Some(Unusable::Truncated) => format!(
            "the {role}'s answer was cut off at the output limit {n} time{} (limits.max_output_tokens)",
            plural(n)
        ),
        Some(Unusable::ContextFull) => format!(
            "the {role}'s answer was cut off {n} time{} because the model's context window is full",
            plural(n)
        ),
        Some(Unusable::Invalid(e)) => format!(
            "the {role} gave no usable {tool} call in {n} tr{} (last problem: {})",
            if n == 1 { "y" } else { "ies" },
            excerpt(e)
        ),
        None => format!("the {role} gave no usable answer"),
    };
    let how = match bad.last() {
        Some(Unusable::ContextFull) => format!(
            "use a model with a larger context window, or raise the server's context size (Ollama num_ctx, llama.cpp --ctx-size), then `samocoder resume {project}`"
        ),
        Some(Unusable::Refused(_)) => format!(
            "change the request if it can be misread, or use another model with --model PROVIDER:MODEL, then `samocoder resume {project}`"
        ),
        _ => format!(
            "use a model that supports tool calls (--model PROVIDER:MODEL or a route in the config), then `samocoder resume {project}`"
        ),
    };
    format!("{what}; {how}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// At most 200 characters of a model's text, on one line.
fn excerpt(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 200 {
        return one_line;
    }
    let cut: String = one_line.chars().take(200).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ToolCall;

    fn resp(text: &str, calls: usize, finish: Option<FinishReason>) -> Response {
        Response {
            text: text.into(),
            tool_calls: (0..calls)
                .map(|i| ToolCall {
                    id: format!("c{i}"),
                    name: "submit_spec".into(),
                    arguments: "{}".into(),
                })
                .collect(),
            finish,
            ..Response::default()
        }
    }

    #[test]
    fn answers_are_judged() {
        assert_eq!(judge(&resp("", 1, None), true), None);
        assert_eq!(
            judge(&resp("I think", 0, None), true),
            Some(Unusable::TextOnly("I think".into()))
        );
        assert_eq!(judge(&resp("I think", 0, None), false), None);
        assert_eq!(judge(&resp(" \n", 0, None), false), Some(Unusable::Empty));
        assert_eq!(
            judge(&resp("x", 1, Some(FinishReason::Truncated)), true),
            Some(Unusable::Truncated)
        );
        assert_eq!(
            judge(&resp("I can't help", 0, Some(FinishReason::Refused)), true),
            Some(Unusable::Refused("I can't help".into()))
        );
    }

    #[test]
    fn give_up_messages_say_what_the_model_did() {
        let m = give_up_message(
            Role::Spec,
            "submit_spec",
            &[
                Unusable::Empty,
                Unusable::TextOnly("Sure! Here is\nthe spec".into()),
            ],
            "todo",
        );
        assert!(
            m.starts_with("the spec answered 2 times without calling submit_spec; last answer: \"Sure! Here is the spec\""),
            "{m}"
        );
        assert!(m.contains("samocoder resume todo"), "{m}");
        let m = give_up_message(Role::Coder, "", &[Unusable::Refused("No.".into())], "p");
        assert!(m.starts_with("the coder refused: \"No.\""), "{m}");
        let long = "x".repeat(500);
        let m = give_up_message(
            Role::Planner,
            "submit_plan",
            &[Unusable::TextOnly(long)],
            "p",
        );
        assert!(m.len() < 500, "{m}");
    }
}
