//! The only code that touches project files: path confinement ([`path`]), reads and atomic
//! writes ([`fs`]), exact edits ([`edit`]), the project map and content hashes ([`tree`]), and
//! git checkpoints ([`git`]). Everything a model asks for goes through [`Workspace::resolve`].

pub mod adopt;
pub mod detect;
pub mod edit;
pub mod error;
pub mod fs;
pub mod git;
pub mod path;
pub mod precious;
pub mod repomap;
pub mod tree;

pub use adopt::{BASELINE_MESSAGE, BranchSummary, Change, Head, RepoState, holds_work};
pub use detect::Detection;
pub use edit::EditOutcome;
pub use error::{WorkspaceError, human_size};
pub use fs::{Workspace, WriteOutcome, sha256_hex};
pub use git::{CommitId, CommitInfo, DEFAULT_GITIGNORE};
pub use path::{META_DIR, SafePath};
pub use precious::{Precious, precious};
pub use repomap::RepoMap;
pub use tree::{FileEntry, MapOptions, ProjectMap, TreeDiff, diff_trees};

#[cfg(test)]
mod confinement_tests;
