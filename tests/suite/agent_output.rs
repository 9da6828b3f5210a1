//! Snapshot of what a person sees: the human output of the todo example, with paths, times and
//! commit ids filtered out.

use crate::common::{self, Env};
use crate::suite::agent_run::todo_cassette;

#[test]
fn the_todo_example_as_a_person_sees_it() {
    let env = Env::new();
    let out = env
        .cmd()
        .args([
            "new",
            "--replay",
            todo_cassette().to_str().unwrap(),
            "--yes",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(
        common::stdout(&out),
        "",
        "the human view writes to stderr only"
    );
    let work = env.work().canonicalize().unwrap().display().to_string();
    let text = common::stderr(&out).replace(&work, "[WORK]");
    insta::with_settings!({filters => vec![
        (r"\d+\.\d s\b", "[TIME] s"),
        (r"checkpoint [0-9a-f]{8}", "checkpoint [COMMIT]"),
        // The failing test's output depends on the Python version.
        (r"(?s)(tests fail \([^\n]*\)\n).*?(\n  fix attempt)", "$1    [TEST OUTPUT]$2"),
    ]}, {
        insta::assert_snapshot!(text);
    });
}
