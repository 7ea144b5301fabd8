// SPDX-License-Identifier: GPL-2.0-only

//! Test support for the arbiter's KUnit suites: a recording fake of `VportHw` with failure
//! injection, and a way to run closures on several kernel threads and wait for them.

use kernel::{
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
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

use super::{
    Owner,
    RefusalLog,
    TxGrant,
    VportHw,
    VportTable, //
};

/// How many device events [`FakeHw`] remembers.
const JOURNAL_LEN: usize = 16;

/// A device event recorded by [`FakeHw`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// `CONFIG_VPORT_TX` of `vport` with `pd` and `doorbell` (each below 2^24 in tests).
    Tx {
        /// The vport.
        vport: u32,
        /// The protection domain.
        pd: u32,
        /// The doorbell page.
        doorbell: u32,
    },
    /// RX steering of `vport` disabled.
    RxOff {
        /// The vport.
        vport: u32,
    },
}

impl Event {
    /// Packs the event into one word: kind in bits 60..64, vport 48..60, pd 24..48, doorbell 0..24.
    fn encode(self) -> u64 {
        match self {
            Event::Tx {
                vport,
                pd,
                doorbell,
            } => {
                (1 << 60)
                    | (u64::from(vport & 0xfff) << 48)
                    | (u64::from(pd & 0xff_ffff) << 24)
                    | u64::from(doorbell & 0xff_ffff)
            }
            Event::RxOff { vport } => (2 << 60) | (u64::from(vport & 0xfff) << 48),
        }
    }

    /// Unpacks a word written by [`Event::encode`].
    fn decode(word: u64) -> Option<Self> {
        // CAST: each field is masked to fit in a `u32`.
        let vport = ((word >> 48) & 0xfff) as u32;
        match word >> 60 {
            1 => Some(Event::Tx {
                vport,
                pd: ((word >> 24) & 0xff_ffff) as u32,
                doorbell: (word & 0xff_ffff) as u32,
            }),
            2 => Some(Event::RxOff { vport }),
            _ => None,
        }
    }
}

/// A [`VportHw`] that records what it is asked to do, with atomics only (cheap enough for the
/// exhaustive test and the races), and fails on request.
pub(crate) struct FakeHw {
    tx_calls: Atomic<u64>,
    rx_calls: Atomic<u64>,
    fail_tx: Atomic<u32>,
    fail_rx: Atomic<u32>,
    journal: [Atomic<u64>; JOURNAL_LEN],
    journal_len: Atomic<u64>,
}

impl FakeHw {
    /// Creates a fake device that succeeds.
    pub(crate) fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                tx_calls: Atomic::new(0),
                rx_calls: Atomic::new(0),
                fail_tx: Atomic::new(0),
                fail_rx: Atomic::new(0),
                journal: [const { Atomic::new(0) }; JOURNAL_LEN],
                journal_len: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// Creates a table of `count` vports over a new fake device, refusals handled per `log`.
    pub(crate) fn table(count: u32, log: RefusalLog) -> Result<(VportTable, Arc<Self>)> {
        let hw = Self::new()?;
        let table = VportTable::with_hw(7, count, hw.clone(), log)?;
        Ok((table, hw))
    }

    /// Makes the next `n` `CONFIG_VPORT_TX` requests fail with `EIO`.
    pub(crate) fn fail_tx(&self, n: u32) {
        self.fail_tx.store(n, Relaxed);
    }

    /// Makes the next `n` RX-steering disables fail with `EIO`.
    pub(crate) fn fail_rx(&self, n: u32) {
        self.fail_rx.store(n, Relaxed);
    }

    /// The number of successful `CONFIG_VPORT_TX` requests.
    pub(crate) fn tx_calls(&self) -> u64 {
        self.tx_calls.load(Relaxed)
    }

    /// The number of successful RX-steering disables.
    pub(crate) fn rx_calls(&self) -> u64 {
        self.rx_calls.load(Relaxed)
    }

    /// The number of events recorded so far (the journal keeps the first [`JOURNAL_LEN`]).
    pub(crate) fn events(&self) -> u64 {
        self.journal_len.load(Relaxed)
    }

    /// The `i`-th recorded event.
    pub(crate) fn event(&self, i: u64) -> Option<Event> {
        let slot = self.journal.get(usize::try_from(i).ok()?)?;
        Event::decode(slot.load(Relaxed))
    }

    /// Returns whether the recorded events from `from` on are exactly `expected`.
    pub(crate) fn events_since(&self, from: u64, expected: &[Event]) -> bool {
        let Ok(n) = u64::try_from(expected.len()) else {
            return false;
        };
        self.events() == from + n
            && expected
                .iter()
                .zip(from..)
                .all(|(e, i)| self.event(i) == Some(*e))
    }

    /// Consumes one injected failure from `counter`, if any.
    fn take_failure(counter: &Atomic<u32>) -> bool {
        let mut n = counter.load(Relaxed);
        while n > 0 {
            match counter.cmpxchg(n, n - 1, Relaxed) {
                Ok(_) => return true,
                Err(now) => n = now,
            }
        }
        false
    }

    /// Records `event` in the journal.
    fn record(&self, event: Event) {
        let i = self.journal_len.fetch_add(1, Relaxed);
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| self.journal.get(i)) {
            slot.store(event.encode(), Relaxed);
        }
    }
}

impl VportHw for FakeHw {
    fn config_vport_tx(&self, vport: u32, pd: u32, doorbell: u32) -> Result<TxGrant> {
        if Self::take_failure(&self.fail_tx) {
            return Err(EIO);
        }
        self.tx_calls.add(1, Relaxed);
        self.record(Event::Tx {
            vport,
            pd,
            doorbell,
        });
        Ok(TxGrant {
            vport_offset: vport as u16,
            short_form_allowed: true,
        })
    }

    fn disable_rx_steering(&self, vport: u32) -> Result {
        if Self::take_failure(&self.fail_rx) {
            return Err(EIO);
        }
        self.rx_calls.add(1, Relaxed);
        self.record(Event::RxOff { vport });
        Ok(())
    }
}

/// Returns whether the owner of vport `index` displays as `expected`.
pub(crate) fn owner_is(table: &VportTable, index: u32, expected: &str) -> bool {
    let Ok(vport) = table.get(index) else {
        return false;
    };
    vport.with_owner(|owner: &Owner| {
        CString::try_from_fmt(fmt!("{}", owner)).is_ok_and(|s| s.to_bytes() == expected.as_bytes())
    })
}

/// Returns whether `line` contains `needle`.
pub(crate) fn contains(line: &CStr, needle: &str) -> bool {
    let hay = line.to_bytes();
    let needle = needle.as_bytes();
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Returns whether the last refusal line of vport `index` contains every one of `needles` and
/// is one line.
pub(crate) fn refusal_says(table: &VportTable, index: u32, needles: &[&str]) -> bool {
    let Ok(vport) = table.get(index) else {
        return false;
    };
    vport.with_last_refusal(|line| match line {
        Some(line) => {
            if !needles.iter().all(|n| contains(line, n)) || line.to_bytes().contains(&b'\n') {
                pr_err!("unexpected refusal line: {}\n", line);
                return false;
            }
            true
        }
        None => false,
    })
}

/// What the workers of [`run_workers`] share with the waiter.
#[pin_data]
struct Join {
    remaining: Atomic<u32>,
    ready: Atomic<u32>,
    #[pin]
    done: Completion,
}

impl Join {
    /// Marks one worker finished; the last one wakes the waiter.
    fn finish(&self) {
        if self.remaining.fetch_sub(1, Full) == 1 {
            self.done.complete_all();
        }
    }
}

/// Kernel threads started by [`Workers::spawn`].
pub(crate) struct Workers {
    join: Arc<Join>,
    spawned: u32,
    n: u32,
    start: Instant<Monotonic>,
}

impl Workers {
    /// Runs `f(&shared, i)` for `i` in `0..n` on `n` work items of the unbound system workqueue
    /// (each on a kernel worker thread of its own), which start together.
    ///
    /// The caller must call [`Workers::wait`], also on its error paths.
    pub(crate) fn spawn<S: Send + Sync + 'static>(
        shared: &Arc<S>,
        n: u32,
        f: fn(&S, u32),
    ) -> Result<Self> {
        let join = Arc::pin_init(
            pin_init!(Join {
                remaining: Atomic::new(n),
                ready: Atomic::new(0),
                done <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        let mut spawned = 0;
        for i in 0..n {
            let shared = shared.clone();
            let worker_join = join.clone();
            let res = workqueue::system_unbound().spawn(GFP_KERNEL, move || {
                worker_join.ready.fetch_add(1, Full);
                // Start together, but do not wait long for a worker that could not be started.
                let start = Instant::<Monotonic>::now();
                while worker_join.ready.load(Relaxed) < n && start.elapsed().as_millis() < 1000 {
                    kernel::processor::cpu_relax();
                }
                f(&shared, i);
                worker_join.finish();
            });
            if res.is_err() {
                break;
            }
            spawned += 1;
        }
        // Account for the workers that could not be spawned.
        for _ in spawned..n {
            join.ready.fetch_add(1, Full);
            join.finish();
        }
        Ok(Self {
            join,
            spawned,
            n,
            start: Instant::<Monotonic>::now(),
        })
    }

    /// Waits until every worker returned; returns the nanoseconds since they were spawned, or
    /// `ENOMEM` if some could not be.
    pub(crate) fn wait(self) -> Result<i64> {
        self.join.done.wait_for_completion();
        let elapsed = self.start.elapsed().as_nanos();
        if self.spawned < self.n {
            return Err(ENOMEM);
        }
        Ok(elapsed)
    }
}

/// Runs `f(&shared, i)` for `i` in `0..n` on `n` kernel threads (see `Workers::spawn`) and
/// waits for them; returns the wall time in nanoseconds.
pub fn run_workers<S: Send + Sync + 'static>(
    shared: &Arc<S>,
    n: u32,
    f: fn(&S, u32),
) -> Result<i64> {
    Workers::spawn(shared, n, f)?.wait()
}
