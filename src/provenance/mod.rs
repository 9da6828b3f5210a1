//! The provenance of a project: the typed records of what was done for it ([`record`]), the
//! timeline `samocoder log` shows ([`timeline`]: those records merged with the model calls of
//! the project's runs), and the files `export --provenance` adds to an archive ([`bundle`]).
//! The records are written by the agent and the commands that change a project; they are kept
//! when the project is forgotten, like the cost ledger.

pub mod bundle;
pub mod record;
pub mod timeline;

pub use record::{
    AdoptRecord, BranchRecord, CheckpointRecord, CommandRecord, FileRecord, FileSource, PlanRecord,
    Record, RunEvent, RunRecord, SpecRecord,
};
pub use timeline::{Entry, Item, Timeline};
