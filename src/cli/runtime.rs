//! The one runtime setup of the commands that call models (`new`, `resume`, `ask`): a tokio
//! runtime with Ctrl-C and SIGTERM wired to a cancellation token. When the work is done the runtime is
//! shut down without waiting for blocking threads, so a prompt still reading the terminal
//! after Ctrl-C does not keep the process alive.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

/// Runs `work` to its end on a runtime of `threads` worker threads (1: the current thread);
/// Ctrl-C (SIGINT) or SIGTERM (a CI job stopped, `kill`) cancels `cancel`: the run stops as
/// it does on Ctrl-C, with its state saved and its command group killed.
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
            if interrupted().await {
                on_signal.cancel();
            }
        });
        work.await
    });
    rt.shutdown_background();
    Ok(out)
}

/// Waits for Ctrl-C or (on unix) SIGTERM; false when no handler could be installed.
async fn interrupted() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => true,
                    _ = term.recv() => true,
                }
            }
            _ => tokio::signal::ctrl_c().await.is_ok(),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

/// A flag that the first Ctrl-C or SIGTERM sets, for a synchronous command (`export`) that
/// checks it between steps and cleans up before it exits; a second signal exits at once
/// (130). The handlers are in place when this returns: without them either signal would end
/// the process on the spot, with no destructor run.
pub fn interrupt_flag() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                #[cfg(unix)]
                {
                    use tokio::signal::unix::{SignalKind, signal};
                    let (mut int, mut term) = match (
                        signal(SignalKind::interrupt()),
                        signal(SignalKind::terminate()),
                    ) {
                        (Ok(i), Ok(t)) => (i, t),
                        (Err(e), _) | (_, Err(e)) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    for _ in 0..2 {
                        tokio::select! {
                            _ = int.recv() => {}
                            _ = term.recv() => {}
                        }
                        if set.swap(true, Ordering::SeqCst) {
                            std::process::exit(130);
                        }
                    }
                }
                #[cfg(not(unix))]
                {
                    let _ = ready_tx.send(Ok(()));
                    for _ in 0..2 {
                        if tokio::signal::ctrl_c().await.is_err() {
                            return;
                        }
                        if set.swap(true, Ordering::SeqCst) {
                            std::process::exit(130);
                        }
                    }
                }
            });
        })?;
    ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("the signal handler thread ended"))??;
    Ok(flag)
}
