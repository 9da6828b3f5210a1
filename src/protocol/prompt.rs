//! Requests the engine makes of the person running it (approve a command, answer questions)
//! and their replies. The engine announces a request as an [`super::Event`], sends it on a
//! [`Prompter`] and awaits the reply without blocking a thread; the front end (a terminal
//! prompt, a test script) answers. Ctrl-C while a request waits interrupts the run.

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

/// Numbers the requests of one run, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

/// Run this command?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRequest {
    pub id: RequestId,
    pub command: String,
    pub cwd: String,
    /// Why `--approve auto` would refuse it (the prompt then defaults to No).
    pub warning: Option<String>,
    /// How it will be confined ("sandbox workspace-write, network off").
    pub sandbox: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalReply {
    Approve,
    /// Declined, with an optional note for the model ("use pytest instead").
    Deny {
        reason: Option<String>,
    },
}

/// The spec writer's clarifying questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionRequest {
    pub id: RequestId,
    pub questions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuestionReply {
    /// One answer per question (an empty one means "decide yourself").
    Answers(Vec<String>),
    /// Nobody can answer: the model decides and lists its assumptions.
    Skip,
}

/// One request with the channel its reply goes back on.
#[derive(Debug)]
pub enum Prompt {
    Approval(ApprovalRequest, oneshot::Sender<ApprovalReply>),
    Questions(QuestionRequest, oneshot::Sender<QuestionReply>),
}

/// The engine's end: sends requests to whoever answers them. Without a front end (`--yes`,
/// scripts) there is none, and the engine does not ask.
#[derive(Debug, Clone)]
pub struct Prompter {
    tx: mpsc::Sender<Prompt>,
}

/// The front end's end.
pub type PromptReceiver = mpsc::Receiver<Prompt>;

/// Nobody is there to answer (the front end went away).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("nobody can answer the request")]
pub struct NoAnswer;

impl Prompter {
    pub fn channel() -> (Prompter, PromptReceiver) {
        let (tx, rx) = mpsc::channel(4);
        (Prompter { tx }, rx)
    }

    pub async fn approve(&self, req: ApprovalRequest) -> Result<ApprovalReply, NoAnswer> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Prompt::Approval(req, tx))
            .await
            .map_err(|_| NoAnswer)?;
        rx.await.map_err(|_| NoAnswer)
    }

    pub async fn ask(&self, req: QuestionRequest) -> Result<QuestionReply, NoAnswer> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Prompt::Questions(req, tx))
            .await
            .map_err(|_| NoAnswer)?;
        rx.await.map_err(|_| NoAnswer)
    }
}

/// Answers requests from a script (tests): approvals in order (the last repeats), questions
/// skipped; every request is kept.
#[cfg(any(test, feature = "testing"))]
pub fn scripted(
    mut rx: PromptReceiver,
    approvals: Vec<ApprovalReply>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut asked = Vec::new();
        let mut answers = approvals
            .into_iter()
            .collect::<std::collections::VecDeque<_>>();
        while let Some(p) = rx.recv().await {
            match p {
                Prompt::Approval(req, reply) => {
                    asked.push(req.command);
                    let a = if answers.len() > 1 {
                        answers.pop_front()
                    } else {
                        answers.front().cloned()
                    };
                    let _ = reply.send(a.unwrap_or(ApprovalReply::Deny { reason: None }));
                }
                Prompt::Questions(req, reply) => {
                    asked.extend(req.questions);
                    let _ = reply.send(QuestionReply::Skip);
                }
            }
        }
        asked
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_come_back_and_a_gone_front_end_is_no_answer() {
        let (p, rx) = Prompter::channel();
        let script = scripted(rx, vec![ApprovalReply::Approve]);
        let req = |c: &str| ApprovalRequest {
            id: RequestId(1),
            command: c.into(),
            cwd: "/p".into(),
            warning: None,
            sandbox: None,
        };
        assert_eq!(p.approve(req("ls")).await, Ok(ApprovalReply::Approve));
        let skipped = p
            .ask(QuestionRequest {
                id: RequestId(2),
                questions: vec!["db?".into()],
            })
            .await;
        assert_eq!(skipped, Ok(QuestionReply::Skip));
        drop(p);
        assert_eq!(script.await.unwrap(), ["ls", "db?"]);

        let (p, rx) = Prompter::channel();
        drop(rx);
        assert_eq!(p.approve(req("ls")).await, Err(NoAnswer));
    }
}
