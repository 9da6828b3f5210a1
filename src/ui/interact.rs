//! Questions and approvals the agent asks on a terminal.

use std::path::Path;

use super::Ui;
use crate::agent::Asker;
use crate::exec::{Approver, Decision};

/// Asks clarifying questions with dialoguer. Only used when stdin is a terminal and `--yes`
/// was not given.
pub struct UiAsker {
    pub ui: Ui,
}

impl Asker for UiAsker {
    fn ask(&self, questions: &[String]) -> Option<Vec<String>> {
        if self.ui.yes() || !self.ui.stdin_is_tty() {
            return None;
        }
        eprintln!("The spec writer has questions (press Enter to let it decide):");
        let mut answers = Vec::new();
        for q in questions {
            let a: String = dialoguer::Input::new()
                .with_prompt(q)
                .allow_empty(true)
                .interact_text()
                .ok()?;
            answers.push(if a.trim().is_empty() {
                "decide yourself".into()
            } else {
                a
            });
        }
        Some(answers)
    }
}

/// Shows each command and runs it on yes (policy `ask`).
pub struct UiApprover {
    pub ui: Ui,
}

impl Approver for UiApprover {
    fn approve(&self, command: &str, cwd: &Path) -> Decision {
        match self
            .ui
            .confirm(&format!("Run `{command}` in {}?", cwd.display()), true)
        {
            Ok(true) => Decision::Approve,
            Ok(false) => Decision::Deny { reason: None },
            Err(e) => Decision::Deny {
                reason: Some(e.to_string()),
            },
        }
    }
}
