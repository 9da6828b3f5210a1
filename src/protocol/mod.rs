//! The types the engine (`agent`) and its front ends (`ui`, `cli`) share, owned by neither:
//! saved step payloads ([`step`]), events with their ids and closed sets ([`event`]), and the
//! requests the engine makes of the user with their replies ([`prompt`]). Types only: no I/O.

pub mod event;
pub mod prompt;
pub mod step;

#[cfg(test)]
mod docs;

#[cfg(any(test, feature = "testing"))]
pub use event::CollectSink;
pub use event::{
    ArchitectureSource, BranchCommit, Budget, BudgetScope, CallId, CommandId, CommandRole,
    Disposition, EditCounts, Event, EventSink, PROTOCOL_VERSION, Phase, PlannedTask, Role,
    RunCommand, RunStatus, SwitchPurpose, TaskOutcome,
};
pub use prompt::{
    ApprovalReply, ApprovalRequest, NoAnswer, Prompt, PromptReceiver, Prompter, QuestionReply,
    QuestionRequest, RequestId,
};
pub use step::{
    ArchitectureSaved, Checkpoint, ModelTurn, PlanSaved, RestartOf, SpecSaved, StepKind,
    StepPayload, TestStatus, ToolResult, UserInput, Verify,
};
