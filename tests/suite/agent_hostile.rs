//! Untrusted model output end to end: every path that escapes the project is refused (and the
//! refusal goes back to the model while the run goes on), and API keys never reach a child
//! command, the database, the logs or the output.

use std::path::Path;

use crate::common::Env;
use crate::common::agent::{
    Cassette, edit_file, read_file, run, run_command, task_done, tree, write_file,
};
use crate::common::fake_provider::FakeProvider;

#[test]
fn every_hostile_path_is_refused_and_the_run_goes_on() {
    let env = Env::new();
    let outside = env.root.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "outside secret\n").unwrap();
    let absolute = env.root.path().join("absolute.txt");
    let big = "x".repeat(2 * 1024 * 1024);
    let hostile = vec![
        write_file("../escaped.txt", "x"),
        write_file("sub/../../escaped.txt", "x"),
        write_file(absolute.to_str().unwrap(), "x"),
        read_file("/etc/passwd"),
        write_file(".git/config", "[core]\n\thooksPath = /tmp\n"),
        edit_file(".git/HEAD", "ref", "xref"),
        write_file("nul\0name.txt", "x"),
        write_file("big.txt", &big),
        write_file("link/planted.txt", "x"),
        read_file("link/secret.txt"),
        edit_file("link/secret.txt", "outside", "changed"),
        read_file("filelink"),
        write_file("filelink", "x"),
    ];
    let n = hostile.len();
    let mut calls = hostile;
    // A dangling link pointing outside is replaced by the write, never followed.
    calls.push(write_file("dangling", "replaced\n"));
    let c = Cassette::new("hostile")
        .spec()
        .architecture("test -f ok.txt")
        .plan(&["Try to escape"])
        .tools(vec![run_command(&format!(
            "ln -s {o} link && ln -s {o}/secret.txt filelink && ln -s {o}/new.txt dangling",
            o = outside.display()
        ))])
        .tools(calls)
        .tools(vec![write_file("ok.txt", "ok\n")])
        .tools(vec![task_done("stayed inside")]);
    let path = c.write(&env.root.path().join("h.jsonl"));
    let r = run(
        &env,
        &[
            "-c",
            "limits.max_tool_errors=50",
            "-c",
            "limits.max_file_bytes=1048576",
            // The oversized write below is 1 MiB of arguments: an answer that long needs an
            // output limit to match, or the answer cap cuts it first.
            "-c",
            "limits.max_output_tokens=262144",
            "new",
            "--replay",
            path.to_str().unwrap(),
            "--yes",
            "--json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    assert_eq!(r.finished()["status"], "done");

    // Each hostile call came back as an error, in order.
    let refused: Vec<_> = r
        .of_type("tool_call")
        .into_iter()
        .filter(|e| e["ok"] == false)
        .collect();
    assert_eq!(refused.len(), n, "{}", r.describe());
    for e in &refused {
        assert!(e["error"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
    }
    assert!(
        refused[7]["error"].as_str().unwrap().contains("limit"),
        "{}",
        refused[7]
    );

    // Nothing was written outside, nothing outside was read, `.git` is intact.
    assert!(!env.root.path().join("escaped.txt").exists());
    assert!(!env.work().join("escaped.txt").exists());
    assert!(!absolute.exists());
    assert!(!outside.join("planted.txt").exists());
    assert!(!outside.join("new.txt").exists());
    assert_eq!(env.read(outside.join("secret.txt")), "outside secret\n");
    let dir = env.work().join("hostile");
    assert!(!env.read(dir.join(".git/config")).contains("hooksPath"));
    assert!(env.read(dir.join(".git/HEAD")).starts_with("ref: "));
    let files = tree(&dir);
    assert_eq!(files["dangling"], b"replaced\n");
    let files: Vec<String> = files.into_keys().collect();
    assert_eq!(
        files,
        [
            ".gitignore",
            "SPEC.md",
            "dangling",
            "filelink",
            "link",
            "ok.txt"
        ]
    );
    let steps = all_text(&env.home().join("samocoder.db"));
    assert!(!steps.contains("outside secret"), "a file outside was read");
    assert!(!steps.contains("root:x:0:0"), "/etc/passwd was read");
}

/// Every byte of every file under `dir`, lossily as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    if dir.is_file() {
        return String::from_utf8_lossy(&std::fs::read(dir).unwrap()).into_owned();
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.push_str(&all_text(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_reach_commands_the_database_the_logs_or_the_output() {
    const PROVIDER_KEY: &str = "sk-e2e-provider-3f9a7c";
    const OPENAI_KEY: &str = "sk-test-e2e-openai-81b2";
    const FOO_TOKEN: &str = "foo-e2e-token-55d0";
    let c = Cassette::new("keys")
        .spec()
        .architecture("test -f env.txt")
        .plan(&["Look around"])
        .tools(vec![run_command("env > env.txt; echo $PATH > path.txt")])
        .tools(vec![task_done("looked")]);
    let server = FakeProvider::start().await;
    for a in c.fake_answers() {
        server.push_answer(a);
    }
    let env = Env::new();
    // A key variable whose name does not look secret: only the provider config says it is.
    env.write_config(&format!(
        "[providers.fake]\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"MY_LLM_ACCESS\"\n[routes]\ndefault = [\"fake:m1\"]\n",
        server.base_url()
    ));
    let r = run(
        &env,
        &["-vv", "new", "keys", "-d", "look around", "--yes", "--json"],
        &[
            ("MY_LLM_ACCESS", PROVIDER_KEY),
            ("OPENAI_API_KEY", OPENAI_KEY),
            ("FOO_TOKEN", FOO_TOKEN),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.describe());
    // The key was used for the calls.
    assert_eq!(
        server.requests()[0].headers["authorization"],
        format!("Bearer {PROVIDER_KEY}")
    );
    let dir = env.work().join("keys");
    let child_env = env.read(dir.join("env.txt"));
    assert!(child_env.contains("PATH="), "{child_env}");
    let mut places = vec![
        ("the child's environment", child_env),
        ("stdout", r.stdout.clone()),
        ("stderr", r.stderr.clone()),
        ("the samocoder home (database, logs)", all_text(&env.home())),
    ];
    places.push(("the project", all_text(&dir)));
    assert!(
        env.home().join("logs").is_dir(),
        "the run logs somewhere to check"
    );
    for (what, text) in places {
        for secret in [PROVIDER_KEY, OPENAI_KEY, FOO_TOKEN] {
            assert!(!text.contains(secret), "{secret} found in {what}");
        }
    }
}
