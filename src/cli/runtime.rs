//! The one runtime setup of the commands that call models (`new`, `resume`, `ask`): a tokio
//! runtime with Ctrl-C wired to a cancellation token. When the work is done the runtime is
//! shut down without waiting for blocking threads, so a prompt still reading the terminal
//! after Ctrl-C does not keep the process alive.

use std::future::Future;

use tokio_util::sync::CancellationToken;

/// Runs `work` to its end on a runtime of `threads` worker threads (1: the current thread);
/// Ctrl-C cancels `cancel`.
pub fn block_on<F: Future>(
    threads: usize,
    cancel: &CancellationToken,
    work: F,
) -> std::io::Result<F::Output> {
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    let on_signal = cancel.clone();
    let out = rt.block_on(async move {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.cancel();
            }
        });
        work.await
    });
    rt.shutdown_background();
    Ok(out)
}
