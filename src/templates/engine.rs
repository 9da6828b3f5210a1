//! The minijinja environment shared by starters and prompts.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::TemplateError;

/// Strict undefined variables, trailing newlines kept, HTML escaping for `.html`/`.htm` only,
/// and two filters for putting text into code safely:
/// - `quote`: a double-quoted string literal valid in JSON, JavaScript, Python and TOML;
/// - `rust_str`: a Rust string literal.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        let name = name.strip_suffix(".jinja").unwrap_or(name);
        if name.ends_with(".html") || name.ends_with(".htm") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("quote", |s: String| {
        serde_json::to_string(&s).unwrap_or_else(|_| "\"\"".into())
    });
    env.add_filter("rust_str", |s: String| format!("{s:?}"));
    env
}

/// Renders `source` (named `name` for errors and escaping) with `ctx`.
pub(crate) fn render<S: serde::Serialize>(
    env: &Environment<'_>,
    name: &str,
    source: &str,
    ctx: S,
) -> Result<String, TemplateError> {
    env.render_named_str(name, source, ctx)
        .map_err(|e| TemplateError::Render {
            name: name.to_string(),
            message: e.to_string(),
        })
}
