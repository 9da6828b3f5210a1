//! The agent: the orchestrator state machine (spec -> architecture -> plan -> tasks -> verify ->
//! fix -> checkpoint) and its roles. It emits [`events::Event`]s and never prints.

pub mod events;
pub mod roles;
pub mod tools;
