// SPDX-License-Identifier: GPL-2.0-only

//! Helpers for the crate's KUnit tests: running code on several kernel threads at once.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full, //
        },
        Arc,
        Completion, //
    },
    time::{
        Instant,
        Monotonic, //
    },
    workqueue, //
};

/// What the workers share with the waiter.
#[pin_data]
struct Join {
    remaining: Atomic<u32>,
    #[pin]
    done: Completion,
}

/// Runs `f(&shared, i)` for `i` in `0..n`, each on a work item of the unbound system workqueue
/// (a kernel thread of its own), waits for all of them and returns the wall time in
/// nanoseconds. Fails with `ENOMEM` if not every worker could be started (those that were are
/// still waited for).
pub(crate) fn parallel<S: Send + Sync + 'static>(
    shared: &Arc<S>,
    n: u32,
    f: fn(&S, u32),
) -> Result<i64> {
    let join = Arc::pin_init(
        pin_init!(Join {
            remaining: Atomic::new(n),
            done <- Completion::new(),
        }),
        GFP_KERNEL,
    )?;
    let start = Instant::<Monotonic>::now();
    let mut started = 0;
    for i in 0..n {
        let shared = shared.clone();
        let worker = join.clone();
        let spawned = workqueue::system_unbound().try_spawn(GFP_KERNEL, move || {
            f(&shared, i);
            if worker.remaining.fetch_sub(1, Full) == 1 {
                worker.done.complete_all();
            }
        });
        if spawned.is_err() {
            break;
        }
        started += 1;
    }
    for _ in started..n {
        if join.remaining.fetch_sub(1, Full) == 1 {
            join.done.complete_all();
        }
    }
    join.done.wait_for_completion();
    let elapsed = start.elapsed().as_nanos();
    if started < n {
        return Err(ENOMEM);
    }
    Ok(elapsed)
}
