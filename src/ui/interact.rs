//! The terminal end of the engine's requests: approvals and clarifying questions are read as
//! whole lines from stdin on a blocking thread, so the engine never blocks and Ctrl-C at a
//! prompt interrupts the run (the engine stops waiting; the reader thread is abandoned).

use std::io::{BufRead, Write};
use std::sync::Arc;

use super::events::HumanRenderer;
use super::{Paint, Ui};
use crate::protocol::{
    ApprovalReply, ApprovalRequest, Prompt, PromptReceiver, QuestionReply, QuestionRequest,
};

/// Answers the engine's requests on the terminal until the engine drops its end.
pub fn serve_prompts(
    ui: Ui,
    mut rx: PromptReceiver,
    view: Option<Arc<HumanRenderer>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(p) = rx.recv().await {
            if let Some(v) = &view {
                v.pause();
            }
            let ui = ui.clone();
            match p {
                Prompt::Approval(req, reply) => {
                    let answer = tokio::task::spawn_blocking(move || {
                        let stdin = std::io::stdin();
                        approve(&ui, &req, &mut stdin.lock())
                    })
                    .await
                    .unwrap_or(ApprovalReply::Deny {
                        reason: Some("the approval prompt failed".into()),
                    });
                    let _ = reply.send(answer);
                }
                Prompt::Questions(req, reply) => {
                    let answer = tokio::task::spawn_blocking(move || {
                        let stdin = std::io::stdin();
                        questions(&ui, &req, &mut stdin.lock())
                    })
                    .await
                    .unwrap_or(QuestionReply::Skip);
                    let _ = reply.send(answer);
                }
            }
        }
    })
}

/// Reads one line; `None` at end of input or on an error.
fn read_line(input: &mut dyn BufRead) -> Option<String> {
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// Asks about one command until the answer is yes, no or empty (the default: yes, or no when
/// the command looks destructive).
pub(crate) fn approve(ui: &Ui, req: &ApprovalRequest, input: &mut dyn BufRead) -> ApprovalReply {
    let mut err = std::io::stderr();
    if let Some(w) = &req.warning {
        let _ = writeln!(
            err,
            "{} this command {w}",
            ui.paint_err(Paint::Warn, "warning:")
        );
    }
    if let Some(note) = &req.sandbox {
        let _ = writeln!(err, "{}", ui.paint_err(Paint::Dim, &format!("({note})")));
    }
    let default_yes = req.warning.is_none();
    let choices = if default_yes { "[Y/n]" } else { "[y/N]" };
    loop {
        let _ = write!(
            err,
            "Run `{}` in {}? {choices} ",
            ui.paint_err(Paint::Bold, &req.command),
            req.cwd
        );
        let _ = err.flush();
        let Some(answer) = read_line(input) else {
            let _ = writeln!(err);
            return ApprovalReply::Deny {
                reason: Some("no answer (the input was closed)".into()),
            };
        };
        match answer.to_ascii_lowercase().as_str() {
            "" if default_yes => return ApprovalReply::Approve,
            "" => return ApprovalReply::Deny { reason: None },
            "y" | "yes" => return ApprovalReply::Approve,
            "n" | "no" => return ApprovalReply::Deny { reason: None },
            _ => {
                let _ = writeln!(err, "Please answer y or n.");
            }
        }
    }
}

/// Asks each question; an empty answer lets the model decide.
pub(crate) fn questions(ui: &Ui, req: &QuestionRequest, input: &mut dyn BufRead) -> QuestionReply {
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "{}",
        ui.paint_err(
            Paint::Bold,
            "The spec writer has questions (press Enter to let it decide):"
        )
    );
    let mut answers = Vec::new();
    for q in &req.questions {
        let _ = write!(err, "{q} ");
        let _ = err.flush();
        match read_line(input) {
            Some(a) => answers.push(a),
            None => {
                let _ = writeln!(err);
                return QuestionReply::Skip;
            }
        }
    }
    QuestionReply::Answers(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestId;

    fn req(warning: Option<&str>) -> ApprovalRequest {
        ApprovalRequest {
            id: RequestId(1),
            command: "make".into(),
            cwd: "/p".into(),
            warning: warning.map(String::from),
            sandbox: Some("sandbox workspace-write, network off".into()),
        }
    }

    fn answer(warning: Option<&str>, typed: &str) -> ApprovalReply {
        approve(
            &Ui::plain(false, false),
            &req(warning),
            &mut typed.as_bytes(),
        )
    }

    #[test]
    fn a_whole_line_is_read_so_no_enter_denies_only_this_command() {
        // "no" + Enter used to deny one command (the "n") and approve the next (the "o").
        assert_eq!(answer(None, "no\n"), ApprovalReply::Deny { reason: None });
        assert_eq!(answer(None, "yes\n"), ApprovalReply::Approve);
        assert_eq!(answer(None, "\n"), ApprovalReply::Approve);
        assert_eq!(
            answer(None, "maybe\nn\n"),
            ApprovalReply::Deny { reason: None }
        );
        assert!(matches!(
            answer(None, ""),
            ApprovalReply::Deny { reason: Some(_) }
        ));
    }

    #[test]
    fn a_flagged_command_defaults_to_no() {
        let w = Some("deletes files outside the project");
        assert_eq!(answer(w, "\n"), ApprovalReply::Deny { reason: None });
        assert_eq!(answer(w, "y\n"), ApprovalReply::Approve);
    }

    #[test]
    fn questions_take_one_line_each_and_stop_at_the_end_of_input() {
        let q = QuestionRequest {
            id: RequestId(2),
            questions: vec!["Which DB?".into(), "Port?".into()],
        };
        let ui = Ui::plain(false, false);
        assert_eq!(
            questions(&ui, &q, &mut "sqlite\n\n".as_bytes()),
            QuestionReply::Answers(vec!["sqlite".into(), String::new()])
        );
        assert_eq!(
            questions(&ui, &q, &mut "sqlite\n".as_bytes()),
            QuestionReply::Skip
        );
    }
}
