//! The planning roles' structured answers (spec, architecture, plan), requested as a single tool
//! call so both wire formats and hand-written cassettes carry them the same way. Every field is
//! validated: a bad answer goes back to the model as an error.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::llm::ToolDef;

/// The spec writer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecAnswer {
    #[serde(default)]
    pub spec_markdown: String,
    #[serde(default)]
    pub assumptions: Vec<String>,
    /// Clarifying questions (interactive runs only); when present the spec may be empty.
    #[serde(default)]
    pub questions: Vec<String>,
}

/// The architect's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchitectureAnswer {
    pub stack: String,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<String>,
    #[serde(default)]
    pub install_command: Option<String>,
    pub test_command: String,
    #[serde(default)]
    pub notes: Option<String>,
}

/// One planned task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTaskAnswer {
    pub title: String,
    pub goal: String,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub verify: Option<String>,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanAnswer {
    pub tasks: Vec<PlannedTaskAnswer>,
}

pub const MAX_TASKS: usize = 30;
const MAX_FIELD: usize = 64 * 1024;

pub fn submit_spec_tool() -> ToolDef {
    ToolDef {
        name: "submit_spec".into(),
        description: "Submit the specification (Markdown), the assumptions you made, or clarifying questions.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "spec_markdown": {"type": "string"},
                "assumptions": {"type": "array", "items": {"type": "string"}},
                "questions": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["spec_markdown"],
            "additionalProperties": false
        }),
    }
}

pub fn submit_architecture_tool() -> ToolDef {
    ToolDef {
        name: "submit_architecture".into(),
        description: "Submit the stack, optional starter template, dependencies and the exact install and test commands.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "stack": {"type": "string"},
                "template": {"type": ["string", "null"]},
                "dependencies": {"type": "array", "items": {"type": "string"}},
                "install_command": {"type": ["string", "null"]},
                "test_command": {"type": "string"},
                "notes": {"type": ["string", "null"]}
            },
            "required": ["stack", "test_command"],
            "additionalProperties": false
        }),
    }
}

pub fn submit_plan_tool() -> ToolDef {
    ToolDef {
        name: "submit_plan".into(),
        description: "Submit the ordered list of tasks.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "tasks": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "title": {"type": "string"},
                            "goal": {"type": "string"},
                            "files": {"type": "array", "items": {"type": "string"}},
                            "verify": {"type": "string"}
                        },
                        "required": ["title", "goal"]
                    }
                }
            },
            "required": ["tasks"],
            "additionalProperties": false
        }),
    }
}

fn check_len(what: &str, s: &str) -> Result<(), String> {
    if s.len() > MAX_FIELD {
        return Err(format!("{what} is longer than {MAX_FIELD} bytes"));
    }
    Ok(())
}

impl SpecAnswer {
    pub fn validate(&self, interactive: bool) -> Result<(), String> {
        check_len("spec_markdown", &self.spec_markdown)?;
        if self.spec_markdown.trim().is_empty() && (self.questions.is_empty() || !interactive) {
            return Err("submit_spec: `spec_markdown` is empty; write the specification".into());
        }
        Ok(())
    }
}

impl ArchitectureAnswer {
    pub fn validate(&self, starters: &[String]) -> Result<(), String> {
        if self.stack.trim().is_empty() {
            return Err("submit_architecture: `stack` is empty".into());
        }
        if self.test_command.trim().is_empty() {
            return Err("submit_architecture: `test_command` is empty; give the exact command that runs the tests".into());
        }
        for (what, v) in [
            ("test_command", Some(&self.test_command)),
            ("install_command", self.install_command.as_ref()),
        ] {
            if let Some(v) = v {
                check_len(what, v)?;
                if v.contains('\0') {
                    return Err(format!("submit_architecture: `{what}` contains a NUL byte"));
                }
            }
        }
        if let Some(t) = self.template.as_deref().filter(|t| !t.is_empty())
            && !starters.iter().any(|s| s == t)
        {
            return Err(format!(
                "submit_architecture: there is no starter template `{t}`; use one of {} or leave it empty",
                starters.join(", ")
            ));
        }
        Ok(())
    }

    /// The template name, when one was chosen.
    pub fn template(&self) -> Option<&str> {
        self.template.as_deref().filter(|t| !t.trim().is_empty())
    }
}

impl PlanAnswer {
    pub fn validate(&self) -> Result<(), String> {
        if self.tasks.is_empty() {
            return Err("submit_plan: the plan has no tasks".into());
        }
        if self.tasks.len() > MAX_TASKS {
            return Err(format!(
                "submit_plan: {} tasks is too many; at most {MAX_TASKS}",
                self.tasks.len()
            ));
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if t.title.trim().is_empty() || t.goal.trim().is_empty() {
                return Err(format!(
                    "submit_plan: task {} needs a title and a goal",
                    i + 1
                ));
            }
            check_len("goal", &t.goal)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_validation() {
        let mut a = ArchitectureAnswer {
            stack: "python".into(),
            template: Some("nope".into()),
            dependencies: vec![],
            install_command: None,
            test_command: "python3 -m unittest".into(),
            notes: None,
        };
        assert!(
            a.validate(&["python-cli".into()])
                .unwrap_err()
                .contains("python-cli")
        );
        a.template = Some(String::new());
        assert!(a.validate(&[]).is_ok());
        assert_eq!(a.template(), None);
        a.test_command = " ".into();
        assert!(a.validate(&[]).is_err());
    }

    #[test]
    fn spec_needs_text_unless_asking_interactively() {
        let s = SpecAnswer {
            spec_markdown: String::new(),
            assumptions: vec![],
            questions: vec!["Which DB?".into()],
        };
        assert!(s.validate(true).is_ok());
        assert!(s.validate(false).is_err());
    }

    #[test]
    fn plan_validation() {
        assert!(PlanAnswer { tasks: vec![] }.validate().is_err());
        let t = PlannedTaskAnswer {
            title: "a".into(),
            goal: "b".into(),
            files: vec![],
            verify: None,
        };
        assert!(
            PlanAnswer {
                tasks: vec![t.clone()]
            }
            .validate()
            .is_ok()
        );
        assert!(
            PlanAnswer {
                tasks: vec![t; MAX_TASKS + 1]
            }
            .validate()
            .is_err()
        );
    }
}

/// A writer's answer: one file's whole content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileAnswer {
    pub content: String,
}

impl FileAnswer {
    pub fn validate(&self, max_bytes: u64) -> Result<(), String> {
        if self.content.len() as u64 > max_bytes {
            return Err(format!(
                "submit_file: the content is larger than {max_bytes} bytes"
            ));
        }
        Ok(())
    }
}

pub fn submit_file_tool() -> ToolDef {
    ToolDef {
        name: "submit_file".into(),
        description: "Submit the complete content of the file.".into(),
        parameters: json!({
            "type": "object",
            "properties": {"content": {"type": "string"}},
            "required": ["content"],
            "additionalProperties": false
        }),
    }
}
