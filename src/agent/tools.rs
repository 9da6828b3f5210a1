//! The tools the model may call, their JSON Schemas, and strict parsing of the arguments it
//! sends. Arguments are untrusted: anything malformed becomes an error message for the model,
//! never a panic and never an action.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::llm::{ToolCall, ToolDef};

/// Longest path, command or summary accepted from the model, in bytes.
const MAX_PATH: usize = 4096;
const MAX_COMMAND: usize = 8192;
const MAX_TEXT: usize = 64 * 1024;

/// One file of a `write_files` call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct FileRequest {
    pub path: String,
    pub instructions: String,
}

/// Most files one `write_files` call may ask for.
pub const MAX_WRITE_FILES: usize = 8;

/// A developer tool call with validated arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevTool {
    /// The project's files, or those of one directory (`path`).
    ListFiles {
        path: Option<String>,
    },
    ReadFile {
        path: String,
    },
    WriteFile {
        path: String,
        content: String,
    },
    EditFile {
        path: String,
        old: String,
        new: String,
    },
    RunCommand {
        command: String,
        timeout_s: Option<u64>,
    },
    TaskDone {
        summary: String,
    },
    /// Several independent new files, each written by its own model call (in parallel up to
    /// `--jobs`), from instructions.
    WriteFiles {
        files: Vec<FileRequest>,
        context: Vec<String>,
    },
}

impl DevTool {
    /// A short target for events and logs: the path or the command.
    pub fn target(&self) -> String {
        match self {
            DevTool::ListFiles { path } => path.clone().unwrap_or_else(|| ".".into()),
            DevTool::ReadFile { path }
            | DevTool::WriteFile { path, .. }
            | DevTool::EditFile { path, .. } => path.clone(),
            DevTool::RunCommand { command, .. } => command.clone(),
            DevTool::TaskDone { .. } => String::new(),
            DevTool::WriteFiles { files, .. } => files
                .iter()
                .map(|f| f.path.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// The developer's tools for an adopted repository: `list_files` takes a directory, since a
/// large tree's map lists only part of it.
pub fn repo_dev_tools() -> Vec<ToolDef> {
    let mut tools = dev_tools();
    if let Some(t) = tools.iter_mut().find(|t| t.name == "list_files") {
        *t = tool(
            "list_files",
            "List files with sizes and their top-level definitions: the whole repository (as much as fits), or one directory given as `path`.",
            json!({"path": {"type": "string", "description": "A directory relative to the repository root; leave it out for the whole repository."}}),
        );
        t.parameters["required"] = json!([]);
    }
    tools
}

/// The developer's tools, as sent to the model.
pub fn dev_tools() -> Vec<ToolDef> {
    let path = json!({"type": "string", "description": "Path relative to the project root, with / separators."});
    vec![
        tool(
            "list_files",
            "List the project's files with sizes and a one-line summary each.",
            json!({}),
        ),
        tool(
            "read_file",
            "Read one text file of the project.",
            json!({"path": path}),
        ),
        tool(
            "write_file",
            "Create or replace a whole file. Send the complete content, never a fragment.",
            json!({"path": path, "content": {"type": "string"}}),
        ),
        tool(
            "edit_file",
            "Replace one exact, unique occurrence of `old` with `new` in a file. Read the file first; include enough context in `old` to make it unique.",
            json!({"path": path, "old": {"type": "string"}, "new": {"type": "string"}}),
        ),
        tool(
            "run_command",
            "Run a shell command in the project directory (non-interactive, stdin closed).",
            json!({"command": {"type": "string"}, "timeout_s": {"type": "integer", "minimum": 1}}),
        ),
        ToolDef {
            name: "write_files".into(),
            description: "Create several independent files at once: each is written by a helper from your instructions (it sees the spec, the task and the `context` files). Use it for new files that do not depend on each other; use write_file when you know the content.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_WRITE_FILES,
                        "items": {
                            "type": "object",
                            "properties": {"path": path, "instructions": {"type": "string"}},
                            "required": ["path", "instructions"]
                        }
                    },
                    "context": {"type": "array", "items": {"type": "string"}, "description": "Existing files the helpers should read."}
                },
                "required": ["files"],
                "additionalProperties": false,
            }),
        },
        tool(
            "task_done",
            "Call when the current task is complete and its tests pass.",
            json!({"summary": {"type": "string", "description": "What was done, in one or two sentences."}}),
        ),
    ]
}

fn tool(name: &str, description: &str, properties: Value) -> ToolDef {
    let required: Vec<&String> = properties
        .as_object()
        .map(|o| o.keys().filter(|k| *k != "timeout_s").collect())
        .unwrap_or_default();
    ToolDef {
        name: name.into(),
        description: description.into(),
        parameters: json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }),
    }
}

#[derive(Deserialize)]
struct PathArgs {
    path: String,
}
#[derive(Deserialize)]
struct WriteArgs {
    path: String,
    content: String,
}
#[derive(Deserialize)]
struct EditArgs {
    path: String,
    old: String,
    new: String,
}
#[derive(Deserialize)]
struct CommandArgs {
    command: String,
    timeout_s: Option<u64>,
}
#[derive(Deserialize)]
struct WriteFilesArgs {
    files: Vec<FileRequest>,
    #[serde(default)]
    context: Vec<String>,
}
#[derive(Deserialize)]
struct DoneArgs {
    #[serde(default)]
    summary: String,
}

/// Parses and validates a developer tool call. The error is written for the model.
pub fn parse_dev_tool(call: &ToolCall, max_file_bytes: u64) -> Result<DevTool, String> {
    let name = call.name.as_str();
    let tool = match name {
        "list_files" => {
            let v = args_object(name, &call.arguments)?;
            let path = match v.get("path") {
                None | Some(Value::Null) => None,
                Some(Value::String(p)) if p.trim().is_empty() || p.trim() == "." => None,
                Some(Value::String(p)) => Some(check_path(name, p.clone())?),
                Some(_) => return Err(format!("{name}: `path` must be a string")),
            };
            DevTool::ListFiles { path }
        }
        "read_file" => {
            let a: PathArgs = args(name, &call.arguments)?;
            DevTool::ReadFile {
                path: check_path(name, a.path)?,
            }
        }
        "write_file" => {
            let a: WriteArgs = args(name, &call.arguments)?;
            if a.content.len() as u64 > max_file_bytes {
                return Err(format!(
                    "write_file: content is {} bytes, more than the {max_file_bytes}-byte limit; split the file",
                    a.content.len()
                ));
            }
            DevTool::WriteFile {
                path: check_path(name, a.path)?,
                content: a.content,
            }
        }
        "edit_file" => {
            let a: EditArgs = args(name, &call.arguments)?;
            if a.old.is_empty() {
                return Err(
                    "edit_file: `old` is empty; give the exact text to replace, or use write_file"
                        .into(),
                );
            }
            if a.old.len() as u64 > max_file_bytes || a.new.len() as u64 > max_file_bytes {
                return Err(format!(
                    "edit_file: `old`/`new` exceed the {max_file_bytes}-byte limit"
                ));
            }
            DevTool::EditFile {
                path: check_path(name, a.path)?,
                old: a.old,
                new: a.new,
            }
        }
        "run_command" => {
            let a: CommandArgs = args(name, &call.arguments)?;
            let command = a.command.trim().to_string();
            if command.is_empty() {
                return Err("run_command: `command` is empty".into());
            }
            if command.len() > MAX_COMMAND || command.contains('\0') {
                return Err("run_command: the command is too long or contains a NUL byte".into());
            }
            if a.timeout_s == Some(0) {
                return Err("run_command: `timeout_s` must be at least 1".into());
            }
            DevTool::RunCommand {
                command,
                timeout_s: a.timeout_s,
            }
        }
        "write_files" => {
            let a: WriteFilesArgs = args(name, &call.arguments)?;
            if a.files.is_empty() || a.files.len() > MAX_WRITE_FILES {
                return Err(format!(
                    "write_files: give 1 to {MAX_WRITE_FILES} files, not {}",
                    a.files.len()
                ));
            }
            let mut seen = std::collections::HashSet::new();
            let mut files = Vec::new();
            for f in a.files {
                let path = check_path(name, f.path)?;
                if !seen.insert(path.clone()) {
                    return Err(format!("write_files: `{path}` is listed twice"));
                }
                if f.instructions.trim().is_empty() || f.instructions.len() > MAX_TEXT {
                    return Err(format!(
                        "write_files: the instructions for `{path}` are empty or too long"
                    ));
                }
                files.push(FileRequest {
                    path,
                    instructions: f.instructions,
                });
            }
            let context = a
                .context
                .into_iter()
                .take(MAX_WRITE_FILES)
                .map(|p| check_path(name, p))
                .collect::<Result<_, _>>()?;
            DevTool::WriteFiles { files, context }
        }
        "task_done" => {
            let a: DoneArgs = args(name, &call.arguments)?;
            DevTool::TaskDone {
                summary: truncate(a.summary.trim(), MAX_TEXT),
            }
        }
        other => {
            return Err(format!(
                "unknown tool `{}`; the tools are list_files, read_file, write_file, write_files, edit_file, run_command, task_done",
                truncate(other, 64)
            ));
        }
    };
    Ok(tool)
}

/// Parses the arguments of a structured-output tool (`submit_spec`, ...).
pub fn parse_args<T: DeserializeOwned>(call: &ToolCall) -> Result<T, String> {
    args(&call.name, &call.arguments)
}

fn args_object(name: &str, raw: &str) -> Result<Value, String> {
    let raw = raw.trim();
    let v: Value = if raw.is_empty() {
        json!({})
    } else {
        serde_json::from_str(raw).map_err(|e| {
            format!("{name}: the arguments are not valid JSON ({e}); send one JSON object")
        })?
    };
    if !v.is_object() {
        return Err(format!("{name}: the arguments must be a JSON object"));
    }
    Ok(v)
}

fn args<T: DeserializeOwned>(name: &str, raw: &str) -> Result<T, String> {
    let v = args_object(name, raw)?;
    serde_json::from_value(v).map_err(|e| format!("{name}: invalid arguments: {e}"))
}

fn check_path(name: &str, path: String) -> Result<String, String> {
    if path.trim().is_empty() {
        return Err(format!("{name}: `path` is empty"));
    }
    if path.len() > MAX_PATH {
        return Err(format!("{name}: `path` is longer than {MAX_PATH} bytes"));
    }
    Ok(path)
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn call(name: &str, args: &str) -> ToolCall {
        ToolCall {
            id: "c1".into(),
            name: name.into(),
            arguments: args.into(),
        }
    }

    #[test]
    fn valid_calls_parse() {
        assert_eq!(
            parse_dev_tool(&call("write_file", r#"{"path":"a.py","content":"x"}"#), 100),
            Ok(DevTool::WriteFile {
                path: "a.py".into(),
                content: "x".into()
            })
        );
        assert_eq!(
            parse_dev_tool(&call("list_files", ""), 100),
            Ok(DevTool::ListFiles { path: None })
        );
        assert_eq!(
            parse_dev_tool(&call("list_files", r#"{"path":"src"}"#), 100),
            Ok(DevTool::ListFiles {
                path: Some("src".into())
            })
        );
        assert!(parse_dev_tool(&call("list_files", r#"{"path":3}"#), 100).is_err());
        let repo = repo_dev_tools();
        let list = repo.iter().find(|t| t.name == "list_files").unwrap();
        assert_eq!(list.parameters["required"], json!([]));
        assert!(list.parameters["properties"]["path"].is_object());
        assert_eq!(
            parse_dev_tool(
                &call("run_command", r#"{"command":" ls ","timeout_s":5}"#),
                100
            ),
            Ok(DevTool::RunCommand {
                command: "ls".into(),
                timeout_s: Some(5)
            })
        );
    }

    #[test]
    fn malformed_calls_are_errors_for_the_model() {
        let cases = [
            ("write_file", "{not json", "not valid JSON"),
            ("write_file", r#"{"path":"a"}"#, "missing field `content`"),
            ("write_file", r#"{"path":7,"content":"x"}"#, "invalid type"),
            ("write_file", r#"["a","b"]"#, "JSON object"),
            (
                "write_file",
                r#"{"path":"","content":"x"}"#,
                "`path` is empty",
            ),
            (
                "write_file",
                r#"{"path":"a","content":"xxxxxxxxxxxx"}"#,
                "limit",
            ),
            (
                "edit_file",
                r#"{"path":"a","old":"","new":"x"}"#,
                "`old` is empty",
            ),
            ("run_command", r#"{"command":"  "}"#, "empty"),
            (
                "run_command",
                r#"{"command":"ls","timeout_s":-1}"#,
                "invalid",
            ),
            ("rm_rf", "{}", "unknown tool"),
            ("write_files", r#"{"files":[]}"#, "1 to 8"),
            (
                "write_files",
                r#"{"files":[{"path":"a","instructions":"x"},{"path":"a","instructions":"y"}]}"#,
                "twice",
            ),
            (
                "write_files",
                r#"{"files":[{"path":"a","instructions":" "}]}"#,
                "empty",
            ),
        ];
        for (name, args, want) in cases {
            let err = parse_dev_tool(&call(name, args), 10).unwrap_err();
            assert!(err.contains(want), "{name} {args}: {err}");
        }
    }

    #[test]
    fn schemas_require_their_fields() {
        let tools = dev_tools();
        let write = tools.iter().find(|t| t.name == "write_file").unwrap();
        assert_eq!(write.parameters["required"], json!(["content", "path"]));
        let run = tools.iter().find(|t| t.name == "run_command").unwrap();
        assert_eq!(run.parameters["required"], json!(["command"]));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(name in "[a-z_]{0,12}", args in ".{0,200}") {
            let _ = parse_dev_tool(&call(&name, &args), 1000);
        }

        #[test]
        fn parsing_random_json_objects_never_panics(
            path in proptest::option::of(".{0,40}"),
            content in proptest::option::of(".{0,40}"),
            timeout in proptest::option::of(any::<i64>()),
        ) {
            let mut o = serde_json::Map::new();
            if let Some(p) = path { o.insert("path".into(), json!(p)); }
            if let Some(c) = content { o.insert("content".into(), json!(c)); o.insert("command".into(), json!(c)); }
            if let Some(t) = timeout { o.insert("timeout_s".into(), json!(t)); }
            let args = Value::Object(o).to_string();
            for name in ["read_file", "write_file", "edit_file", "run_command", "task_done", "list_files", "write_files"] {
                let _ = parse_dev_tool(&call(name, &args), 1000);
            }
        }
    }
}
