//! Prompt templates for the agent roles: `templates/prompts/<name>.md`.

use super::{TemplateError, Templates, engine};

impl Templates {
    /// Names of the prompt templates (file names under `prompts/` without `.md`), sorted.
    pub fn prompt_names(&self) -> Vec<String> {
        self.under("prompts/")
            .filter_map(|(p, _)| p.strip_suffix(".md"))
            .map(String::from)
            .collect()
    }

    /// Renders `prompts/<name>.md` with `ctx` (strict: a missing variable is an error).
    pub fn render_prompt<S: serde::Serialize>(
        &self,
        name: &str,
        ctx: S,
    ) -> Result<String, TemplateError> {
        let unknown = || TemplateError::UnknownPrompt {
            name: name.to_string(),
        };
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(unknown());
        }
        let path = format!("prompts/{name}.md");
        let bytes = self.get(&path).ok_or_else(unknown)?;
        let source = std::str::from_utf8(bytes).map_err(|_| TemplateError::Render {
            name: path.clone(),
            message: "not valid UTF-8".into(),
        })?;
        engine::render(&engine::environment(), &path, source, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Templates {
        Templates::from_files([
            (
                "prompts/coder.md".to_string(),
                b"You write {{ language }}.\n{% for t in tasks %}- {{ t }}\n{% endfor %}".to_vec(),
            ),
            ("prompts/notes.txt".to_string(), b"x".to_vec()),
        ])
    }

    #[test]
    fn renders_a_prompt_with_its_context() {
        let ctx = serde_json::json!({"language": "Rust", "tasks": ["a", "b"]});
        let text = set().render_prompt("coder", &ctx).unwrap();
        assert_eq!(text, "You write Rust.\n- a\n- b\n");
        assert_eq!(set().prompt_names(), ["coder"]);
    }

    #[test]
    fn missing_variables_and_unknown_names_are_errors() {
        let err = set()
            .render_prompt("coder", serde_json::json!({}))
            .unwrap_err();
        assert!(matches!(err, TemplateError::Render { .. }), "{err}");
        for bad in ["nope", "../prompts/coder", "", ".hidden"] {
            assert!(matches!(
                set().render_prompt(bad, serde_json::json!({})),
                Err(TemplateError::UnknownPrompt { .. })
            ));
        }
    }
}
