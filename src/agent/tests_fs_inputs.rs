//! A model that points tools at file-system inputs that are not files: a FIFO, a socket, a
//! path too long once absolute, a name git refuses. Each comes back as a tool error and the
//! run goes on to finish; none hangs it or fails it.

use serde_json::json;

use super::testing::*;
use crate::exit::Exit;
use crate::protocol::{Event, RunCommand};

fn read(path: &str) -> (&'static str, serde_json::Value) {
    ("read_file", json!({ "path": path }))
}

/// Runs `f` on its own thread and runtime; fails the test instead of hanging it.
fn with_deadline<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("the run did not finish within {secs} s (blocked on a FIFO?)"))
}

#[test]
fn regression_a_model_reading_a_fifo_a_socket_and_a_too_long_path_gets_tool_errors() {
    let long = vec!["d".repeat(255); 16].join("/");
    let (exit, errors, message, written) = with_deadline(120, move || {
        let mut replies = vec![spec(), architecture("true"), plan(&["one"])];
        replies.push(tools(&[
            read("pipe"),
            read("sock"),
            read(&long),
            write("GIT~1/hooks/post-checkout", "#!/bin/sh\n"),
        ]));
        replies.push(tools(&[write("a.txt", "a\n"), done()]));
        let h = Harness::new(replies, vec![exited(0, "OK")]);
        let dir = h.project_dir();
        nix::unistd::mkfifo(
            &dir.join("pipe"),
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        let _sock = std::os::unix::net::UnixListener::bind(dir.join("sock")).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let exit = rt.block_on(h.run(RunCommand::New));
        let errors: Vec<String> = h
            .events()
            .iter()
            .filter_map(|e| match e {
                Event::ToolCall {
                    ok: false, error, ..
                } => error.clone(),
                _ => None,
            })
            .collect();
        let message = h.message();
        let written = std::fs::read_to_string(dir.join("a.txt")).ok();
        (exit, errors, message, written)
    });
    assert_eq!(exit, Exit::Ok, "{message}");
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(
        errors[0].contains("`pipe` is a FIFO (named pipe), not a regular file"),
        "{errors:?}"
    );
    assert!(errors[1].contains("`sock` is a socket"), "{errors:?}");
    assert!(errors[2].contains("too long"), "{errors:?}");
    assert!(errors[3].contains("managed by samocoder"), "{errors:?}");
    assert_eq!(written.as_deref(), Some("a\n"));
}
