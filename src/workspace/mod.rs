//! The only code that touches project files: path confinement ([`path`]), reads and atomic
//! writes ([`fs`]), exact edits ([`edit`]), the project map ([`tree`]), what changed since the
//! last record ([`scan`], a stat cache like git's index; [`rescan`] after a command, reading
//! only the directories a change watch saw change), every entry for exports
//! ([`listing`]), and git ([`git`], [`checkpoint`]).
//! Everything a model asks for goes through [`Workspace::resolve`].

pub mod adopt;
pub mod checkpoint;
pub mod detect;
pub mod edit;
pub mod error;
pub mod fs;
pub mod git;
pub mod listing;
mod open;
pub mod path;
pub mod precious;
pub mod repomap;
pub mod rescan;
pub mod scan;
#[cfg(test)]
mod test_support;
pub mod tree;
mod walk;
mod watch;

pub use adopt::{BASELINE_MESSAGE, BranchSummary, Change, Head, RepoState, holds_work};
pub use checkpoint::{Checkpoint, LeftOut, LeftOutReason};
pub use detect::Detection;
pub use edit::EditOutcome;
pub use error::{WorkspaceError, human_size};
pub use fs::{DEFAULT_USER_FILE_LIMIT, FileDigest, Workspace, WriteOutcome, sha256_hex};
pub use git::{CommitId, CommitInfo, DEFAULT_GITIGNORE};
pub use listing::{LinkTarget, Listed, ListedKind, Listing};
pub use path::{MAX_DIR_DEPTH, META_DIR, SafePath};
pub use precious::{Precious, precious};
pub use repomap::RepoMap;
pub use rescan::{Rescan, Scope};
pub use scan::{FileStat, FileState, TreeChanges};
pub use tree::{FileEntry, MapOptions, ProjectMap, TreeDiff};

#[cfg(test)]
mod confinement_tests;
#[cfg(all(test, unix))]
mod fs_inputs_tests;
