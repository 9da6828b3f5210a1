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
        // Without handlers (no signal support here) the run simply cannot be interrupted.
        if let Ok(mut signals) = Signals::install() {
            tokio::spawn(async move {
                if signals.next().await {
                    on_signal.cancel();
                }
            });
        }
        work.await
    });
    rt.shutdown_background();
    Ok(out)
}

/// Ctrl-C and, on unix, SIGTERM, with their handlers installed (inside a runtime).
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// Waits for the next signal; false when no more can come.
    async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            tokio::select! {
                s = self.int.recv() => s.is_some(),
                s = self.term.recv() => s.is_some(),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
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
                let mut signals = match Signals::install() {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                for _ in 0..2 {
                    if !signals.next().await {
                        return;
                    }
                    if set.swap(true, Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                }
            });
        })?;
    ready_rx
        .recv()
        .map_err(|_| std::io::Error::other("the signal handler thread ended"))??;
    Ok(flag)
}
