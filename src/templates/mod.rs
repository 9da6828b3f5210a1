//! Starter project templates and prompt templates, embedded into the binary from `templates/`
//! at compile time (see `build.rs`).
//!
//! Layout of `templates/`:
//! - `starters/<name>/template.toml`: a [`Starter`] manifest; `starters/<name>/files/`: the
//!   tree copied into a new project. Path components may contain minijinja expressions
//!   (`{{ module }}`); files whose name ends in `.jinja` are rendered (and lose the suffix),
//!   all others are copied byte for byte. Variables: see [`ProjectVars`].
//! - `prompts/<name>.md`: prompt templates for the agent roles, rendered by [`render_prompt`].
//!
//! Rendering is strict: an undefined variable is an error, not an empty string.

mod engine;
mod prompt;
mod starter;
mod vars;

use std::borrow::Cow;
use std::path::PathBuf;

use crate::exit::{Exit, ExitStatus};

pub use starter::{RenderedStarter, Starter};
pub use vars::ProjectVars;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_templates.rs"));
}

/// Everything that can go wrong with templates.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no starter template named {name:?}; run `samocoder templates` to list them")]
    UnknownStarter { name: String },
    #[error("no prompt template named {name:?}")]
    UnknownPrompt { name: String },
    #[error("the starter template {name:?} has a bad template.toml: {message}")]
    BadManifest { name: String, message: String },
    #[error("could not render template {name}: {message}")]
    Render { name: String, message: String },
    #[error("template file {0:?} renders to an unsafe path (empty, absolute or with `..`)")]
    UnsafePath(String),
    #[error(
        "{0} already exists and samocoder did not write it, so the starter was not written and nothing was changed; to use the starter, start the project in an empty directory"
    )]
    Exists(PathBuf),
    #[error("template file {0:?} cannot be written: {1}")]
    Refused(String, crate::workspace::WorkspaceError),
    #[error("the starter could not be written: {0}")]
    Workspace(crate::workspace::WorkspaceError),
    #[error("a project name needs at least one letter or digit (got {0:?})")]
    BadProjectName(String),
    #[error("could not write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ExitStatus for TemplateError {
    fn exit(&self) -> Exit {
        match self {
            TemplateError::Io { .. }
            | TemplateError::BadManifest { .. }
            | TemplateError::Render { .. }
            | TemplateError::UnsafePath(_) => Exit::Failure,
            TemplateError::UnknownStarter { .. }
            | TemplateError::UnknownPrompt { .. }
            | TemplateError::Exists(_)
            | TemplateError::Refused(..)
            | TemplateError::BadProjectName(_) => Exit::Usage,
            TemplateError::Workspace(e) => e.exit(),
        }
    }
}

/// A set of template files: `/`-separated paths relative to `templates/` and their bytes.
#[derive(Debug, Clone)]
pub struct Templates {
    files: Vec<(Cow<'static, str>, Cow<'static, [u8]>)>,
}

impl Templates {
    /// The templates compiled into this binary.
    pub fn embedded() -> Templates {
        Templates {
            files: embedded::FILES
                .iter()
                .map(|(p, b)| (Cow::Borrowed(*p), Cow::Borrowed(*b)))
                .collect(),
        }
    }

    /// A set built from given files (tests, or templates loaded from elsewhere).
    pub fn from_files(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Templates {
        let mut files: Vec<_> = files
            .into_iter()
            .map(|(p, b)| (Cow::Owned(p), Cow::Owned(b)))
            .collect();
        files.sort();
        Templates { files }
    }

    /// Files under `prefix` (which ends with `/`), with the prefix stripped.
    fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.files
            .iter()
            .filter_map(move |(p, b)| Some((p.strip_prefix(prefix)?, b.as_ref())))
    }

    fn get(&self, path: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, b)| b.as_ref())
    }
}

/// The embedded starters, sorted by name.
pub fn list_starters() -> Result<Vec<Starter>, TemplateError> {
    Templates::embedded().starters()
}

/// Renders the embedded starter `name` into the project `ws` (see
/// [`Templates::render_starter`]).
pub fn render_starter(
    name: &str,
    ws: &crate::workspace::Workspace,
    vars: &ProjectVars,
) -> Result<RenderedStarter, TemplateError> {
    Templates::embedded().render_starter(name, ws, vars)
}

/// Renders the embedded prompt template `prompts/<name>.md` with `ctx`.
pub fn render_prompt<S: serde::Serialize>(name: &str, ctx: S) -> Result<String, TemplateError> {
    Templates::embedded().render_prompt(name, ctx)
}
