// SPDX-License-Identifier: GPL-2.0-only

//! The vport arbiter: one owner per vport.
//!
//! A vport is programmed in hardware with one protection domain (PD) and one doorbell page, so
//! the Ethernet driver and RDMA raw-packet QPs (DPDK) cannot use it at the same time. Ownership is
//! a value: taking it returns a lease guard ([`EthernetLease`], [`RdmaLease`]) and dropping the
//! guard gives the vport back. There are no counters for a client to forget on an error path.
//!
//! | state | enters when | leaves when |
//! |---|---|---|
//! | [`Owner::Free`] | adapter probe; last lease dropped | a lease is granted |
//! | [`Owner::Ethernet`] | `ndo_open` takes the lease | `ndo_stop` (or removal) drops it |
//! | [`Owner::Rdma`] | first RAW or RSS QP of a PD on the port | last QP of that PD is destroyed |
//!
//! # Refusals
//!
//! A request that does not fit is refused, both ways, and every refusal logs exactly one line
//! naming the vport, the current owner and the remedy:
//!
//! - `EBUSY`: a RAW/RSS QP while the netdev owns the vport; `ndo_open` while a PD owns it; a
//!   second PD while a PD owns it; a second RSS QP on the vport (its RX steering is taken).
//! - `EINVAL`: a PD that holds one vport asking for another (a PD is bound to one port); a QP of
//!   the owning PD with a different doorbell page than the one the vport was programmed with.
//! - `ENODEV`: the table was shut down.
//!
//! # Programming under the lease
//!
//! The device operations are behind the core's `VportHw` trait, implemented by the core over the hardware
//! channel. Taking a lease on a free vport sends `CONFIG_VPORT_TX` with the new owner's PD and
//! doorbell before the owner is recorded; if that fails the vport stays free (no permanent
//! `EBUSY`). Releasing disables RX steering before the vport becomes free, so no later owner can
//! receive into objects the previous owner destroyed (the hand-off bug of upstream commit
//! dbeb256e8dd8). If disabling fails, the vport still becomes free but is marked, and the next
//! owner's take retries the quiesce before programming TX. The owner destroys its own queues
//! before it drops its lease (drop order of its fields).
//!
//! # Reconfiguration
//!
//! Reconfiguration of an up interface (MTU, rings, channels, RSS, XDP, private flags, TX-timeout
//! reset) runs inside [`EthernetLease::reconfigure`]: the lease is held from start to end, so the
//! vport is never free in between and RDMA cannot slip in.
//!
//! # Locking
//!
//! Each vport has its own lock; there is no lock shared between vports (the PD-to-port binding is
//! checked through one atomic per vport, see [`VportTable::take_rdma`]). The order is:
//!
//! `rtnl_lock` -> RDMA PD lock -> vport lock -> locks taken inside `VportHw` (hardware channel)
//!
//! - The Ethernet client calls [`VportTable::take_ethernet`] and drops its lease under rtnl (in
//!   `ndo_open`/`ndo_stop`).
//! - The RDMA client calls [`VportTable::take_rdma`] and drops QP leases holding its PD lock,
//!   which serialises the QPs of one PD.
//! - The vport lock is a leaf for the clients: the arbiter never calls into the netdev or the IB
//!   core, and it is not held while the closure of [`EthernetLease::reconfigure`] runs. A
//!   `VportHw` implementation must not take rtnl or a PD lock, nor any vport lock.
//! - No code path holds two vport locks at once (they share one lockdep class).

use kernel::{
    fmt,
    new_mutex,
    new_spinlock,
    prelude::*,
    str::{
        BStr,
        CString, //
    },
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed,
            Release, //
        },
        Arc,
        Mutex,
        SpinLock, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
    }, //
};

mod debugfs;
#[cfg(CONFIG_KUNIT = "y")]
pub mod testing;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_bench;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_gaps;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_model;
#[cfg(CONFIG_KUNIT = "y")]
mod tests_race;

pub(crate) use debugfs::VportDebugfs;

/// The longest interface name, with its terminating NUL (`IFNAMSIZ`).
const IFNAMSIZ: usize = 16;

/// The device operations the arbiter performs for a vport's owner, under the vport lock.
///
/// The core implements this over the hardware channel. Implementations must not take rtnl, an
/// RDMA PD lock or a vport lock (see the lock order in the module documentation).
pub(crate) trait VportHw: Send + Sync {
    /// Programs `vport` to transmit for protection domain `pd` with doorbell page `doorbell`
    /// (`MANA_CONFIG_VPORT_TX`), and returns what the device granted.
    fn config_vport_tx(&self, vport: u32, pd: u32, doorbell: u32) -> Result<TxGrant>;

    /// Stops `vport` steering received packets to the current owner's RX objects
    /// (`MANA_CONFIG_VPORT_RX` with RX disabled).
    fn disable_rx_steering(&self, vport: u32) -> Result;
}

/// The [`VportHw`] of a table whose core has not wired the hardware channel: it programs
/// nothing and succeeds.
struct NoHw;

impl VportHw for NoHw {
    fn config_vport_tx(&self, _vport: u32, _pd: u32, _doorbell: u32) -> Result<TxGrant> {
        Ok(TxGrant::default())
    }

    fn disable_rx_steering(&self, _vport: u32) -> Result {
        Ok(())
    }
}

/// What `CONFIG_VPORT_TX` is sent with for an owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VportTx {
    /// The owner's protection domain (for RDMA, the PD that owns the lease).
    pub pd: u32,
    /// The owner's doorbell page.
    pub doorbell: u32,
}

/// What the device answered to `CONFIG_VPORT_TX`: how the owner addresses the vport in its
/// send work requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxGrant {
    /// The vport offset the owner puts in the TX OOB of every send WQE (`tx_vport_offset`).
    pub vport_offset: u16,
    /// Whether the owner may use the short (8-byte) TX OOB.
    pub short_form_allowed: bool,
}

/// The kind of RDMA QP that takes an [`RdmaLease`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QpKind {
    /// A RAW_PACKET send QP.
    Raw,
    /// A RAW_PACKET RSS receive QP; it programs the vport's RX steering, so there is at most one
    /// per vport.
    Rss,
}

/// An interface name, stored inline (at most `IFNAMSIZ - 1` bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ifname {
    bytes: [u8; IFNAMSIZ],
    len: u8,
}

impl Ifname {
    /// Copies `name`; `EINVAL` if it is empty or longer than an interface name can be.
    pub fn new(name: &CStr) -> Result<Self> {
        let src = name.to_bytes();
        if src.is_empty() || src.len() >= IFNAMSIZ {
            return Err(EINVAL);
        }
        let mut bytes = [0u8; IFNAMSIZ];
        bytes[..src.len()].copy_from_slice(src);
        Ok(Self {
            bytes,
            // CAST: checked above to be less than `IFNAMSIZ`.
            len: src.len() as u8,
        })
    }

    /// The name's bytes, without the terminating NUL.
    pub fn as_bytes(&self) -> &[u8] {
        // `len` is at most the array's length (`Ifname::new`).
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }
}

impl fmt::Display for Ifname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(BStr::from_bytes(self.as_bytes()), f)
    }
}

impl fmt::Debug for Ifname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(BStr::from_bytes(self.as_bytes()), f)
    }
}

/// Who owns a vport.
///
/// Displayed as `free`, `ethernet <ifname>` or `rdma pd <n> qps <k>` (the debugfs format).
#[derive(Debug, PartialEq, Eq)]
pub enum Owner {
    /// Nobody: either client may take it.
    Free,
    /// The Ethernet driver, for the interface `ifname`, while it is up.
    Ethernet {
        /// The interface name.
        ifname: Ifname,
    },
    /// The RDMA driver, for protection domain `pd`, while it has `qps` RAW/RSS QPs.
    Rdma {
        /// The protection domain number.
        pd: u32,
        /// The number of QPs holding the lease (always at least one).
        qps: u32,
    },
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Free => f.write_str("free"),
            Owner::Ethernet { ifname } => {
                f.write_str("ethernet ")?;
                fmt::Display::fmt(ifname, f)
            }
            Owner::Rdma { pd, qps } => {
                f.write_str("rdma pd ")?;
                fmt::Display::fmt(pd, f)?;
                f.write_str(" qps ")?;
                fmt::Display::fmt(qps, f)
            }
        }
    }
}

/// The owner as the refusal lines name it: `netdev eth0 (up)`, `RDMA (pd 7, 3 QPs)`, `nobody`.
struct HeldBy<'a>(&'a Owner);

impl fmt::Display for HeldBy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Owner::Free => f.write_str("nobody"),
            Owner::Ethernet { ifname } => {
                f.write_str("netdev ")?;
                fmt::Display::fmt(ifname, f)?;
                f.write_str(" (up)")
            }
            Owner::Rdma { pd, qps } => {
                f.write_str("RDMA (pd ")?;
                fmt::Display::fmt(pd, f)?;
                f.write_str(", ")?;
                fmt::Display::fmt(qps, f)?;
                f.write_str(if *qps == 1 { " QP)" } else { " QPs)" })
            }
        }
    }
}

/// What the table does with a refusal line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefusalLog {
    /// Print it with `pr_warn!` (the default).
    Print,
    /// Only count it (tests that refuse hundreds of thousands of requests).
    #[cfg_attr(
        not(CONFIG_KUNIT = "y"),
        expect(dead_code, reason = "only the KUnit suites count or capture refusals")
    )]
    Count,
    /// Keep the last line of each vport instead of printing it (tests that check the text).
    #[cfg_attr(
        not(CONFIG_KUNIT = "y"),
        expect(dead_code, reason = "only the KUnit suites count or capture refusals")
    )]
    Capture,
}

/// The state of one vport, under its lock.
struct VportState {
    owner: Owner,
    /// What the vport was programmed with for the current owner (meaningless while free).
    tx: VportTx,
    /// What the device granted for `tx`.
    grant: TxGrant,
    /// Whether an RSS QP of the owning PD has the vport's RX steering.
    rss: bool,
    /// A previous owner's RX steering could not be disabled: retry before the next owner.
    stale_rx: bool,
    /// The table was shut down: nothing may take the vport.
    closed: bool,
    /// The last refusal line, in [`RefusalLog::Capture`] mode.
    last_refusal: Option<CString>,
}

/// A value alone in its cache line (64 bytes on the architectures MANA runs on), so that other
/// CPUs reading it do not bounce the line a vport's lock lives in.
#[repr(align(64))]
struct CacheLine<T>(T);

/// One vport and its owner.
#[pin_data]
pub struct Vport {
    adapter_id: u32,
    index: u32,
    log: RefusalLog,
    hw: Arc<dyn VportHw>,
    /// The PD bound to this vport plus one, or zero; read without the lock by [`take_rdma`] of
    /// the other vports to keep a PD on one port.
    ///
    /// [`take_rdma`]: VportTable::take_rdma
    bound_pd: CacheLine<Atomic<u64>>,
    /// The number of refused requests.
    refusals: Atomic<u64>,
    /// Printing of refusal lines, limited so that a retry loop (DPDK restarting, a script)
    /// cannot flood the log. A leaf lock, taken under `state`.
    #[pin]
    refusal_rate: SpinLock<RefusalRate>,
    #[pin]
    state: Mutex<VportState>,
}

/// At most this many refusal lines per vport and second are printed; the rest are counted
/// and reported in one line when the next second starts.
const REFUSAL_BURST: u32 = 5;

/// The state of the refusal-line rate limit of one vport.
struct RefusalRate {
    window_start: Option<Instant<Monotonic>>,
    printed: u32,
    suppressed: u32,
}

impl Vport {
    /// The vport's index on its adapter.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Calls `f` with the current owner (under the vport lock).
    pub fn with_owner<R>(&self, f: impl FnOnce(&Owner) -> R) -> R {
        f(&self.state.lock().owner)
    }

    /// The number of requests refused on this vport so far.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Relaxed)
    }

    /// Calls `f` with the last refusal line (only kept in [`RefusalLog::Capture`] mode).
    #[cfg_attr(not(CONFIG_KUNIT = "y"), expect(dead_code))]
    pub(crate) fn with_last_refusal<R>(&self, f: impl FnOnce(Option<&CStr>) -> R) -> R {
        f(self.state.lock().last_refusal.as_deref())
    }

    /// Refuses a request: counts it and logs `line`; returns `err` for the caller to return.
    ///
    /// `last` is the vport's `last_refusal` (a field of the locked state, borrowed apart from the
    /// owner that `line` names).
    fn refuse(&self, last: &mut Option<CString>, err: Error, line: fmt::Arguments<'_>) -> Error {
        self.refusals.add(1, Relaxed);
        match self.log {
            RefusalLog::Print => {
                let mut rate = self.refusal_rate.lock();
                let expired = rate
                    .window_start
                    .is_none_or(|start| start.elapsed() >= Delta::from_secs(1));
                if expired {
                    if rate.suppressed > 0 {
                        pr_warn!(
                            "mana{}: vport {}: {} more refusals like the above were not logged\n",
                            self.adapter_id,
                            self.index,
                            rate.suppressed
                        );
                    }
                    *rate = RefusalRate {
                        window_start: Some(Instant::now()),
                        printed: 0,
                        suppressed: 0,
                    };
                }
                if rate.printed < REFUSAL_BURST {
                    rate.printed += 1;
                    drop(rate);
                    pr_warn!("mana{}: {}\n", self.adapter_id, line);
                } else {
                    // User space can refuse itself as often as it likes: the count saturates.
                    rate.suppressed = rate.suppressed.saturating_add(1);
                }
            }
            RefusalLog::Count => {}
            RefusalLog::Capture => *last = CString::try_from_fmt(line).ok(),
        }
        err
    }

    /// Programs TX with `tx`, after finishing a quiesce that failed earlier; `after` says in the
    /// error line what becomes of the vport (it is unchanged on error).
    fn program(&self, state: &mut VportState, tx: VportTx, after: &str) -> Result {
        if state.stale_rx {
            self.hw.disable_rx_steering(self.index).inspect_err(|e| {
                pr_err!(
                    "mana{}: vport {}: disabling the previous owner's RX steering failed ({:?}); {}\n",
                    self.adapter_id,
                    self.index,
                    e,
                    after
                )
            })?;
            state.stale_rx = false;
        }
        let grant = self
            .hw
            .config_vport_tx(self.index, tx.pd, tx.doorbell)
            .inspect_err(|e| {
                pr_err!(
                    "mana{}: vport {}: CONFIG_VPORT_TX (pd {}, doorbell {}) failed ({:?}); {}\n",
                    self.adapter_id,
                    self.index,
                    tx.pd,
                    tx.doorbell,
                    e,
                    after
                )
            })?;
        state.tx = tx;
        state.grant = grant;
        Ok(())
    }

    /// Disables RX steering of the current owner; a failure is logged and remembered so that the
    /// next owner's take retries it.
    fn quiesce_rx(&self, state: &mut VportState) -> Result {
        self.hw
            .disable_rx_steering(self.index)
            .inspect_err(|e| {
                state.stale_rx = true;
                pr_err!(
                    "mana{}: vport {}: disabling RX steering of {} failed ({:?}); retrying before the next owner\n",
                    self.adapter_id,
                    self.index,
                    HeldBy(&state.owner),
                    e
                )
            })
    }

    /// Quiesces the owner's RX steering and makes the vport free.
    fn release(&self, state: &mut VportState) -> Result {
        let ret = self.quiesce_rx(state);
        state.owner = Owner::Free;
        state.rss = false;
        self.bound_pd.0.store(0, Release);
        ret
    }
}

/// The vports of one adapter.
pub struct VportTable {
    adapter_id: u32,
    vports: KVec<Arc<Vport>>,
}

impl VportTable {
    /// Creates `count` free vports for adapter `adapter_id` whose hardware is not wired yet (the
    /// leases program nothing).
    pub(crate) fn new(adapter_id: u32, count: u32) -> Result<Self> {
        Self::with_hw(
            adapter_id,
            count,
            Arc::new(NoHw, GFP_KERNEL)?,
            RefusalLog::Print,
        )
    }

    /// Creates `count` free vports for adapter `adapter_id`, programmed through `hw`.
    pub(crate) fn with_hw(
        adapter_id: u32,
        count: u32,
        hw: Arc<dyn VportHw>,
        log: RefusalLog,
    ) -> Result<Self> {
        let mut vports = KVec::with_capacity(count as usize, GFP_KERNEL)?;
        for index in 0..count {
            let vport_hw = Arc::clone(&hw);
            let vport = Arc::pin_init(
                pin_init!(Vport {
                    adapter_id,
                    index,
                    log,
                    hw: vport_hw,
                    bound_pd: CacheLine(Atomic::new(0)),
                    refusals: Atomic::new(0),
                    refusal_rate <- new_spinlock!(RefusalRate {
                        window_start: None,
                        printed: 0,
                        suppressed: 0,
                    }),
                    state <- new_mutex!(VportState {
                        owner: Owner::Free,
                        tx: VportTx { pd: 0, doorbell: 0 },
                        grant: TxGrant::default(),
                        rss: false,
                        stale_rx: false,
                        closed: false,
                        last_refusal: None,
                    }),
                }),
                GFP_KERNEL,
            )?;
            vports.push(vport, GFP_KERNEL)?;
        }
        Ok(Self { adapter_id, vports })
    }

    /// Creates a table of `count` free vports that belongs to no adapter, for tests.
    pub fn new_for_test(count: u32) -> Result<Self> {
        Self::new(u32::MAX, count)
    }

    /// The number of vports.
    pub fn len(&self) -> u32 {
        // CAST: the table was built from a `u32` count.
        self.vports.len() as u32
    }

    /// Returns whether the table has no vports.
    pub fn is_empty(&self) -> bool {
        self.vports.is_empty()
    }

    /// Returns vport `index`, or `EINVAL` if there is no such vport.
    pub fn get(&self, index: u32) -> Result<&Arc<Vport>> {
        self.vports.get(index as usize).ok_or(EINVAL)
    }

    /// Takes vport `index` for the Ethernet interface `ifname` (from `ndo_open`, under rtnl) and
    /// programs its TX with `tx`.
    ///
    /// Fails with `EBUSY` while a PD (or another open) owns the vport, `EINVAL` for a bad index
    /// or name, `ENODEV` after the core shut the table down, or the device's error, in which case
    /// the vport stays free.
    pub fn take_ethernet(&self, index: u32, ifname: &CStr, tx: VportTx) -> Result<EthernetLease> {
        let vport = self.get(index)?;
        let name = Ifname::new(ifname)?;
        let mut guard = vport.state.lock();
        let state = &mut *guard;
        if state.closed {
            return Err(vport.refuse(
                &mut state.last_refusal,
                ENODEV,
                fmt!(
                    "vport {} is held by nobody and shut down (adapter going away): open {} again after the adapter is back",
                    index,
                    name
                ),
            ));
        }
        match &state.owner {
            Owner::Free => {}
            Owner::Rdma { .. } => {
                return Err(vport.refuse(
                    &mut state.last_refusal,
                    EBUSY,
                    fmt!(
                        "vport {} is held by {}: destroy the raw QPs before ip link set {} up",
                        index,
                        HeldBy(&state.owner),
                        name
                    ),
                ));
            }
            Owner::Ethernet { ifname: holder } => {
                return Err(vport.refuse(
                    &mut state.last_refusal,
                    EBUSY,
                    fmt!(
                        "vport {} is held by {}: run 'ip link set {} down' before opening {}",
                        index,
                        HeldBy(&state.owner),
                        holder,
                        name
                    ),
                ));
            }
        }
        vport.program(state, tx, "the vport stays free")?;
        state.owner = Owner::Ethernet { ifname: name };
        drop(guard);
        Ok(EthernetLease {
            vport: vport.clone(),
            released: false,
        })
    }

    /// Returns the index of another vport that `pd` is bound to, if any.
    fn bound_elsewhere(&self, index: u32, pd: u32) -> Option<u32> {
        let tag = u64::from(pd) + 1;
        self.vports
            .iter()
            .find(|v| v.index != index && v.bound_pd.0.load(Relaxed) == tag)
            .map(|v| v.index)
    }

    /// Takes vport `index` for one RAW or RSS QP of protection domain `tx.pd` (while holding
    /// the PD lock) and, if the vport was free, programs its TX with `tx`.
    ///
    /// QPs of the PD that owns the vport share its lease; the last one dropped frees the vport.
    /// Fails with `EBUSY` while the netdev or another PD owns the vport or for a second RSS QP,
    /// `EINVAL` if the PD is bound to another vport of the adapter or asks with another doorbell
    /// than the vport's, `ENODEV` after the core shut the table down, or the device's error, in
    /// which case the vport stays free.
    ///
    /// The PD-to-port rule needs no lock shared by the vports: a PD's binding is published in the
    /// vport's `bound_pd` (a fully ordered exchange) before the other vports are checked, so of
    /// two racing requests of one PD for two free vports at least one sees the other and is
    /// refused (both may be, which is fine for a request that breaks the rule).
    pub fn take_rdma(&self, index: u32, kind: QpKind, tx: VportTx) -> Result<RdmaLease> {
        let vport = self.get(index)?;
        let pd = tx.pd;
        let mut guard = vport.state.lock();
        let state = &mut *guard;
        if state.closed {
            return Err(vport.refuse(
                &mut state.last_refusal,
                ENODEV,
                fmt!(
                    "vport {} is held by nobody and shut down (adapter going away): create the QPs of pd {} after the adapter is back",
                    index,
                    pd
                ),
            ));
        }
        // A PD bound elsewhere is `EINVAL` whoever holds this vport. The QPs of the PD that owns
        // this vport skip the check (it is bound here, so nowhere else); a free vport gets it
        // after the binding is published, below.
        let needs_check = match &state.owner {
            Owner::Free => false,
            Owner::Rdma { pd: holder, .. } => *holder != pd,
            Owner::Ethernet { .. } => true,
        };
        if let Some(other) = needs_check
            .then(|| self.bound_elsewhere(index, pd))
            .flatten()
        {
            return Err(vport.refuse(
                &mut state.last_refusal,
                EINVAL,
                fmt!(
                    "vport {} is held by {}, and pd {} is bound to vport {}: a PD serves one port, use another PD for vport {}",
                    index,
                    HeldBy(&state.owner),
                    pd,
                    other,
                    index
                ),
            ));
        }
        let qps = match &state.owner {
            Owner::Free => None,
            Owner::Ethernet { ifname } => {
                return Err(vport.refuse(
                    &mut state.last_refusal,
                    EBUSY,
                    fmt!(
                        "vport {} is held by {}: run 'ip link set {} down' before creating raw QPs",
                        index,
                        HeldBy(&state.owner),
                        ifname
                    ),
                ));
            }
            Owner::Rdma { pd: holder, .. } if *holder != pd => {
                return Err(vport.refuse(
                    &mut state.last_refusal,
                    EBUSY,
                    fmt!(
                        "vport {} is held by {}: destroy those QPs before using pd {} on this port",
                        index,
                        HeldBy(&state.owner),
                        pd
                    ),
                ));
            }
            Owner::Rdma { qps, .. } => Some(*qps),
        };
        if let Some(qps) = qps {
            // The PD owns the vport already: this QP shares its lease.
            if state.tx.doorbell != tx.doorbell {
                return Err(vport.refuse(
                    &mut state.last_refusal,
                    EINVAL,
                    fmt!(
                        "vport {} is held by {} with doorbell {}: create the QPs of pd {} from that context (doorbell {} asked)",
                        index,
                        HeldBy(&state.owner),
                        state.tx.doorbell,
                        pd,
                        tx.doorbell
                    ),
                ));
            }
            if kind == QpKind::Rss && state.rss {
                return Err(vport.refuse(
                    &mut state.last_refusal,
                    EBUSY,
                    fmt!(
                        "vport {} is held by {} with an RSS QP: destroy it before creating another RSS QP on this port",
                        index,
                        HeldBy(&state.owner)
                    ),
                ));
            }
            let Some(qps) = qps.checked_add(1) else {
                return Err(vport.refuse(
                    &mut state.last_refusal,
                    EOVERFLOW,
                    fmt!(
                        "vport {} is held by {}: too many QPs, destroy some",
                        index,
                        HeldBy(&state.owner)
                    ),
                ));
            };
            state.owner = Owner::Rdma { pd, qps };
            state.rss |= kind == QpKind::Rss;
            drop(guard);
            return Ok(RdmaLease {
                vport: vport.clone(),
                pd,
                kind,
                released: false,
            });
        }

        // Free: bind the PD to this vport, then make sure no racing request bound it elsewhere.
        vport.bound_pd.0.xchg(u64::from(pd) + 1, Full);
        if let Some(other) = self.bound_elsewhere(index, pd) {
            vport.bound_pd.0.store(0, Release);
            return Err(vport.refuse(
                &mut state.last_refusal,
                EINVAL,
                fmt!(
                    "vport {} is held by nobody, and pd {} is bound to vport {}: a PD serves one port, use another PD for vport {}",
                    index,
                    pd,
                    other,
                    index
                ),
            ));
        }
        if let Err(e) = vport.program(state, tx, "the vport stays free") {
            vport.bound_pd.0.store(0, Release);
            return Err(e);
        }
        state.owner = Owner::Rdma { pd, qps: 1 };
        state.rss = kind == QpKind::Rss;
        drop(guard);
        Ok(RdmaLease {
            vport: vport.clone(),
            pd,
            kind,
            released: false,
        })
    }

    /// Ends the table's service: marks every vport shut down so that nothing can take it.
    ///
    /// The core calls this on removal, reset and suspend after the clients have ended their
    /// leases (RDMA objects first, then the netdevs). While a lease is alive it refuses with
    /// `EBUSY`, logs one line per held vport naming its owner, and leaves every vport as it was.
    /// A take racing with a refused shutdown may transiently see `ENODEV`.
    pub(crate) fn shutdown(&self) -> Result {
        let mut busy = 0u32;
        for vport in self.vports.iter() {
            let mut state = vport.state.lock();
            if state.owner == Owner::Free {
                state.closed = true;
            } else {
                busy += 1;
                pr_err!(
                    "mana{}: cannot shut down: vport {} is held by {}; end that lease first (RDMA QPs, then netdevs)\n",
                    self.adapter_id,
                    vport.index,
                    HeldBy(&state.owner)
                );
            }
        }
        if busy > 0 {
            self.reopen();
            return Err(EBUSY);
        }
        Ok(())
    }

    /// Lets the vports be taken again after [`shutdown`](Self::shutdown) (resume, reset done).
    pub(crate) fn reopen(&self) {
        for vport in self.vports.iter() {
            vport.state.lock().closed = false;
        }
    }

    /// Creates one read-only debugfs file per vport, `vport<N>`, under `parent`, showing its
    /// owner (`free`, `ethernet <ifname>` or `rdma pd <n> qps <k>`). The files are removed
    /// when the returned value is dropped.
    pub(crate) fn create_debugfs(&self, parent: &kernel::debugfs::Dir) -> Result<VportDebugfs> {
        VportDebugfs::new(&self.vports, parent)
    }
}

impl Drop for VportTable {
    fn drop(&mut self) {
        for vport in self.vports.iter() {
            let state = vport.state.lock();
            if state.owner != Owner::Free {
                pr_warn!(
                    "mana{}: vport table dropped while vport {} is held by {}; the lease keeps the vport until it is dropped\n",
                    self.adapter_id,
                    vport.index,
                    HeldBy(&state.owner)
                );
            }
        }
    }
}

/// The Ethernet driver's ownership of a vport; dropping it quiesces RX and frees the vport.
///
/// Keep it from `ndo_open` to `ndo_stop`, including across every reconfiguration.
pub struct EthernetLease {
    vport: Arc<Vport>,
    /// [`release`](Self::release) did the work of `drop`.
    released: bool,
}

/// The operations a reconfiguration may do on the vport it holds (see
/// [`EthernetLease::reconfigure`]).
pub struct Reconfig<'a> {
    vport: &'a Vport,
}

impl Reconfig<'_> {
    /// The leased vport.
    pub fn vport(&self) -> &Vport {
        self.vport
    }

    /// Disables RX steering before the old queues are destroyed (the vport stays owned).
    pub fn quiesce_rx(&mut self) -> Result {
        let mut state = self.vport.state.lock();
        self.vport.quiesce_rx(&mut state)
    }

    /// Sends `CONFIG_VPORT_TX` again with the lease's PD and doorbell, after new queues exist.
    pub fn reprogram_tx(&mut self) -> Result {
        let mut state = self.vport.state.lock();
        let tx = state.tx;
        self.vport
            .program(&mut state, tx, "the interface keeps the vport")
    }
}

impl EthernetLease {
    /// The leased vport.
    pub fn vport(&self) -> &Vport {
        &self.vport
    }

    /// What the device granted when the vport was programmed for this owner.
    pub fn tx_grant(&self) -> TxGrant {
        self.vport.state.lock().grant
    }

    /// Runs a reconfiguration `f` (MTU, rings, channels, RSS, XDP, private flags, TX-timeout
    /// reset) with the lease held from start to end: the vport is never free in between.
    ///
    /// The vport lock is not held while `f` runs; `f` may call into the netdev. If `f` fails the
    /// lease is still held: the interface stays the owner until it is stopped.
    pub fn reconfigure<R>(&mut self, f: impl FnOnce(&mut Reconfig<'_>) -> Result<R>) -> Result<R> {
        f(&mut Reconfig { vport: &self.vport })
    }

    /// Records that the interface was renamed while up.
    pub fn rename(&mut self, ifname: &CStr) -> Result {
        let name = Ifname::new(ifname)?;
        self.vport.state.lock().owner = Owner::Ethernet { ifname: name };
        Ok(())
    }

    /// Releases the lease like dropping it does, but reports a failure to quiesce RX (the vport
    /// is free either way).
    pub fn release(mut self) -> Result {
        self.released = true;
        let mut state = self.vport.state.lock();
        self.vport.release(&mut state)
    }
}

impl Drop for EthernetLease {
    fn drop(&mut self) {
        if !self.released {
            let mut state = self.vport.state.lock();
            // A failure is logged and retried before the next owner.
            let _ = self.vport.release(&mut state);
        }
    }
}

/// One QP's share of a PD's ownership of a vport; the last one dropped frees the vport.
pub struct RdmaLease {
    vport: Arc<Vport>,
    pd: u32,
    kind: QpKind,
    /// [`release`](Self::release) did the work of `drop`.
    released: bool,
}

impl RdmaLease {
    /// The leased vport.
    pub fn vport(&self) -> &Vport {
        &self.vport
    }

    /// The protection domain holding the lease.
    pub fn pd(&self) -> u32 {
        self.pd
    }

    /// The kind of QP this share belongs to.
    pub fn kind(&self) -> QpKind {
        self.kind
    }

    /// What the device granted when the vport was programmed for the owning PD.
    pub fn tx_grant(&self) -> TxGrant {
        self.vport.state.lock().grant
    }

    /// Gives this QP's share back: an RSS QP disables RX steering, the last QP frees the vport.
    fn put(&self) -> Result {
        let vport = &*self.vport;
        let mut guard = vport.state.lock();
        let state = &mut *guard;
        let remaining = match &mut state.owner {
            Owner::Rdma { pd, qps } if *pd == self.pd && *qps > 0 => {
                *qps -= 1;
                *qps
            }
            _ => {
                pr_err!(
                    "mana{}: vport {}: a QP lease of pd {} ended while the vport is held by {}\n",
                    vport.adapter_id,
                    vport.index,
                    self.pd,
                    HeldBy(&state.owner)
                );
                return Err(EINVAL);
            }
        };
        if remaining == 0 {
            return vport.release(state);
        }
        if self.kind == QpKind::Rss {
            state.rss = false;
            return vport.quiesce_rx(state);
        }
        Ok(())
    }

    /// Releases this QP's share like dropping it does, but reports a failure to quiesce RX.
    pub fn release(mut self) -> Result {
        self.released = true;
        self.put()
    }
}

impl Drop for RdmaLease {
    fn drop(&mut self) {
        if !self.released {
            // A failure is logged (and a failed quiesce retried before the next owner).
            let _ = self.put();
        }
    }
}

#[kunit_tests(mana_rs_shared_vport)]
mod tests {
    use kernel::debugfs::Dir;

    use super::{
        testing::{
            owner_is,
            refusal_says,
            Event,
            FakeHw, //
        },
        *, //
    };

    /// What the Ethernet side programs in these tests.
    const ETH: VportTx = VportTx {
        pd: 1,
        doorbell: 10,
    };

    /// What a QP of `pd` programs in these tests.
    const fn qp(pd: u32) -> VportTx {
        VportTx { pd, doorbell: 20 }
    }

    #[test]
    fn ethernet_and_rdma_refuse_each_other() -> Result {
        let (t, _hw) = FakeHw::table(2, RefusalLog::Capture)?;
        let eth = t.take_ethernet(0, c"eth0", ETH)?;
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(7)).err(), Some(EBUSY));
        assert_eq!(t.take_rdma(0, QpKind::Rss, qp(7)).err(), Some(EBUSY));
        // The other vport is independent.
        let rdma = t.take_rdma(1, QpKind::Raw, qp(8))?;
        assert_eq!(t.take_ethernet(1, c"eth1", ETH).err(), Some(EBUSY));
        assert!(owner_is(&t, 0, "ethernet eth0"));
        assert!(owner_is(&t, 1, "rdma pd 8 qps 1"));
        drop(eth);
        assert!(owner_is(&t, 0, "free"));
        drop(rdma);
        let _rdma0 = t.take_rdma(0, QpKind::Raw, qp(8))?;
        let _eth1 = t.take_ethernet(1, c"eth1", ETH)?;
        Ok(())
    }

    #[test]
    fn rdma_lease_is_shared_by_the_pd_and_freed_by_the_last_qp() -> Result {
        let (t, _hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let raw = t.take_rdma(0, QpKind::Raw, qp(3))?;
        let rss = t.take_rdma(0, QpKind::Rss, qp(3))?;
        let raw2 = t.take_rdma(0, QpKind::Raw, qp(3))?;
        assert_eq!(rss.pd(), 3);
        assert_eq!(rss.kind(), QpKind::Rss);
        assert!(owner_is(&t, 0, "rdma pd 3 qps 3"));
        assert_eq!(t.take_ethernet(0, c"eth0", ETH).err(), Some(EBUSY));
        drop(raw);
        drop(rss);
        assert!(owner_is(&t, 0, "rdma pd 3 qps 1"));
        assert_eq!(t.take_ethernet(0, c"eth0", ETH).err(), Some(EBUSY));
        drop(raw2);
        assert!(owner_is(&t, 0, "free"));
        let _eth = t.take_ethernet(0, c"eth0", ETH)?;
        Ok(())
    }

    #[test]
    fn second_pd_is_busy() -> Result {
        let (t, _hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let a = t.take_rdma(0, QpKind::Raw, qp(3))?;
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(4)).err(), Some(EBUSY));
        assert_eq!(t.take_rdma(0, QpKind::Rss, qp(4)).err(), Some(EBUSY));
        assert!(owner_is(&t, 0, "rdma pd 3 qps 1"));
        drop(a);
        let _b = t.take_rdma(0, QpKind::Raw, qp(4))?;
        Ok(())
    }

    #[test]
    fn pd_on_two_ports_is_einval() -> Result {
        let (t, _hw) = FakeHw::table(3, RefusalLog::Capture)?;
        let a = t.take_rdma(0, QpKind::Raw, qp(7))?;
        // Free vport, vport held by the netdev, vport held by another PD: the binding wins.
        assert_eq!(t.take_rdma(1, QpKind::Raw, qp(7)).err(), Some(EINVAL));
        assert!(refusal_says(
            &t,
            1,
            &[
                "vport 1",
                "held by nobody",
                "pd 7 is bound to vport 0",
                "use another PD"
            ]
        ));
        let eth = t.take_ethernet(1, c"eth1", ETH)?;
        assert_eq!(t.take_rdma(1, QpKind::Rss, qp(7)).err(), Some(EINVAL));
        let other = t.take_rdma(2, QpKind::Raw, qp(8))?;
        assert_eq!(t.take_rdma(2, QpKind::Raw, qp(7)).err(), Some(EINVAL));
        assert!(owner_is(&t, 1, "ethernet eth1"));
        drop(eth);
        drop(other);
        drop(a);
        // Unbound once its last QP is gone.
        let _b = t.take_rdma(1, QpKind::Raw, qp(7))?;
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(7)).err(), Some(EINVAL));
        Ok(())
    }

    #[test]
    fn doorbell_of_another_context_is_einval() -> Result {
        let (t, _hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let _a = t.take_rdma(0, QpKind::Raw, qp(3))?;
        let wrong = VportTx {
            pd: 3,
            doorbell: 21,
        };
        assert_eq!(t.take_rdma(0, QpKind::Raw, wrong).err(), Some(EINVAL));
        assert!(refusal_says(
            &t,
            0,
            &["vport 0", "RDMA (pd 3, 1 QP)", "doorbell 20", "doorbell 21"]
        ));
        assert!(owner_is(&t, 0, "rdma pd 3 qps 1"));
        Ok(())
    }

    #[test]
    fn one_rss_qp_per_vport_and_its_release_disables_steering() -> Result {
        let (t, hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let raw = t.take_rdma(0, QpKind::Raw, qp(3))?;
        let rss = t.take_rdma(0, QpKind::Rss, qp(3))?;
        assert_eq!(t.take_rdma(0, QpKind::Rss, qp(3)).err(), Some(EBUSY));
        assert!(refusal_says(
            &t,
            0,
            &["vport 0", "RDMA (pd 3, 2 QPs)", "RSS QP", "destroy it"]
        ));
        let mark = hw.events();
        drop(rss);
        // The steering to the destroyed RSS QP is gone while the PD still owns the vport.
        assert!(hw.events_since(mark, &[Event::RxOff { vport: 0 }]));
        assert!(owner_is(&t, 0, "rdma pd 3 qps 1"));
        let _rss = t.take_rdma(0, QpKind::Rss, qp(3))?;
        drop(raw);
        assert!(owner_is(&t, 0, "rdma pd 3 qps 1"));
        Ok(())
    }

    #[test]
    fn taking_programs_tx_and_releasing_quiesces() -> Result {
        let (t, hw) = FakeHw::table(2, RefusalLog::Capture)?;
        let eth = t.take_ethernet(1, c"eth1", ETH)?;
        assert!(hw.events_since(
            0,
            &[Event::Tx {
                vport: 1,
                pd: 1,
                doorbell: 10
            }]
        ));
        drop(eth);
        assert!(hw.events_since(1, &[Event::RxOff { vport: 1 }]));
        let a = t.take_rdma(0, QpKind::Raw, qp(9))?;
        // A second QP of the owning PD shares the programming.
        let b = t.take_rdma(0, QpKind::Raw, qp(9))?;
        assert!(hw.events_since(
            2,
            &[Event::Tx {
                vport: 0,
                pd: 9,
                doorbell: 20
            }]
        ));
        drop(a);
        assert_eq!(hw.events(), 3);
        b.release()?;
        assert!(hw.events_since(3, &[Event::RxOff { vport: 0 }]));
        assert!(owner_is(&t, 0, "free"));
        // Refusals program nothing.
        let _eth = t.take_ethernet(0, c"eth0", ETH)?;
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(9)).err(), Some(EBUSY));
        assert_eq!(hw.events(), 5);
        Ok(())
    }

    #[test]
    fn refusal_lines_name_vport_owner_and_remedy() -> Result {
        let (t, _hw) = FakeHw::table(2, RefusalLog::Capture)?;
        let vport = t.get(0)?.clone();
        let eth = t.take_ethernet(0, c"eth0", ETH)?;
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(7)).err(), Some(EBUSY));
        assert_eq!(vport.refusals(), 1);
        assert!(refusal_says(
            &t,
            0,
            &[
                "vport 0 is held by netdev eth0 (up)",
                "run 'ip link set eth0 down' before creating raw QPs"
            ]
        ));
        assert_eq!(t.take_ethernet(0, c"eth1", ETH).err(), Some(EBUSY));
        assert_eq!(vport.refusals(), 2);
        assert!(refusal_says(
            &t,
            0,
            &[
                "vport 0 is held by netdev eth0 (up)",
                "ip link set eth0 down",
                "eth1"
            ]
        ));
        drop(eth);
        let _a = t.take_rdma(0, QpKind::Raw, qp(7))?;
        let _b = t.take_rdma(0, QpKind::Raw, qp(7))?;
        assert_eq!(t.take_ethernet(0, c"eth1", ETH).err(), Some(EBUSY));
        assert_eq!(vport.refusals(), 3);
        assert!(refusal_says(
            &t,
            0,
            &[
                "vport 0 is held by RDMA (pd 7, 2 QPs)",
                "destroy the raw QPs before ip link set eth1 up"
            ]
        ));
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(8)).err(), Some(EBUSY));
        assert_eq!(vport.refusals(), 4);
        assert!(refusal_says(
            &t,
            0,
            &[
                "vport 0 is held by RDMA (pd 7, 2 QPs)",
                "destroy those QPs before using pd 8"
            ]
        ));
        // Successes are not counted.
        let _c = t.take_rdma(0, QpKind::Raw, qp(7))?;
        assert_eq!(vport.refusals(), 4);
        Ok(())
    }

    #[test]
    fn owner_displays_as_in_debugfs() -> Result {
        let (t, _hw) = FakeHw::table(1, RefusalLog::Capture)?;
        assert!(owner_is(&t, 0, "free"));
        let eth = t.take_ethernet(0, c"enP30832s1", ETH)?;
        assert!(owner_is(&t, 0, "ethernet enP30832s1"));
        drop(eth);
        let _a = t.take_rdma(0, QpKind::Raw, qp(12))?;
        let _b = t.take_rdma(0, QpKind::Rss, qp(12))?;
        assert!(owner_is(&t, 0, "rdma pd 12 qps 2"));
        Ok(())
    }

    #[test]
    fn debugfs_has_a_file_per_vport() -> Result {
        let (t, _hw) = FakeHw::table(3, RefusalLog::Capture)?;
        let dir = Dir::new(c"mana_rs_shared_vport_test");
        let files = t.create_debugfs(&dir)?;
        let _eth = t.take_ethernet(1, c"eth1", ETH)?;
        drop(files);
        Ok(())
    }

    #[test]
    fn reconfigure_keeps_the_lease() -> Result {
        let (t, hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let mut eth = t.take_ethernet(0, c"eth0", ETH)?;
        let mark = hw.events();
        let mtu = eth.reconfigure(|r| {
            // Detach: the old queues go away.
            r.quiesce_rx()?;
            if t.take_rdma(0, QpKind::Raw, qp(5)).err() != Some(EBUSY) {
                return Err(EPROTO);
            }
            // Attach: the new queues are programmed.
            r.reprogram_tx()?;
            Ok(9000u32)
        })?;
        assert_eq!(mtu, 9000);
        assert!(hw.events_since(
            mark,
            &[
                Event::RxOff { vport: 0 },
                Event::Tx {
                    vport: 0,
                    pd: 1,
                    doorbell: 10
                }
            ]
        ));
        assert!(owner_is(&t, 0, "ethernet eth0"));
        // A failed reconfiguration leaves the interface the owner.
        assert_eq!(
            eth.reconfigure(|r| -> Result {
                r.quiesce_rx()?;
                Err(ENOMEM)
            })
            .err(),
            Some(ENOMEM)
        );
        assert!(owner_is(&t, 0, "ethernet eth0"));
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(5)).err(), Some(EBUSY));
        // A failed reprogramming too.
        hw.fail_tx(1);
        assert_eq!(eth.reconfigure(|r| r.reprogram_tx()).err(), Some(EIO));
        assert!(owner_is(&t, 0, "ethernet eth0"));
        eth.rename(c"eth9")?;
        assert!(owner_is(&t, 0, "ethernet eth9"));
        drop(eth);
        assert!(owner_is(&t, 0, "free"));
        Ok(())
    }

    #[test]
    fn failed_tx_programming_leaves_the_vport_free() -> Result {
        let (t, hw) = FakeHw::table(2, RefusalLog::Capture)?;
        hw.fail_tx(1);
        assert_eq!(t.take_ethernet(0, c"eth0", ETH).err(), Some(EIO));
        assert!(owner_is(&t, 0, "free"));
        hw.fail_tx(1);
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(4)).err(), Some(EIO));
        assert!(owner_is(&t, 0, "free"));
        // No permanent EBUSY, and the PD was not left bound to vport 0.
        let b = t.take_rdma(1, QpKind::Raw, qp(4))?;
        drop(b);
        let _eth = t.take_ethernet(0, c"eth0", ETH)?;
        assert_eq!(hw.events(), 3);
        Ok(())
    }

    #[test]
    fn failed_quiesce_is_retried_before_the_next_owner() -> Result {
        let (t, hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let eth = t.take_ethernet(0, c"eth0", ETH)?;
        hw.fail_rx(1);
        assert_eq!(eth.release().err(), Some(EIO));
        assert!(owner_is(&t, 0, "free"));
        // The retry fails too: the take fails and the vport stays free.
        hw.fail_rx(1);
        assert_eq!(t.take_rdma(0, QpKind::Raw, qp(4)).err(), Some(EIO));
        assert!(owner_is(&t, 0, "free"));
        let mark = hw.events();
        let _a = t.take_rdma(0, QpKind::Raw, qp(4))?;
        assert!(hw.events_since(
            mark,
            &[
                Event::RxOff { vport: 0 },
                Event::Tx {
                    vport: 0,
                    pd: 4,
                    doorbell: 20
                }
            ]
        ));
        Ok(())
    }

    #[test]
    fn shutdown_is_refused_while_a_lease_lives() -> Result {
        let (t, _hw) = FakeHw::table(2, RefusalLog::Capture)?;
        let q = t.take_rdma(1, QpKind::Raw, qp(7))?;
        assert_eq!(t.shutdown().err(), Some(EBUSY));
        // Nothing changed.
        let eth = t.take_ethernet(0, c"eth0", ETH)?;
        assert!(owner_is(&t, 1, "rdma pd 7 qps 1"));
        assert_eq!(t.shutdown().err(), Some(EBUSY));
        drop(q);
        assert_eq!(t.shutdown().err(), Some(EBUSY));
        drop(eth);
        t.shutdown()?;
        assert_eq!(t.take_ethernet(0, c"eth0", ETH).err(), Some(ENODEV));
        assert_eq!(t.take_rdma(1, QpKind::Raw, qp(7)).err(), Some(ENODEV));
        assert!(refusal_says(&t, 1, &["vport 1", "shut down"]));
        t.reopen();
        let _eth = t.take_ethernet(0, c"eth0", ETH)?;
        Ok(())
    }

    #[test]
    fn bad_index_and_name_are_einval() -> Result {
        let (t, hw) = FakeHw::table(1, RefusalLog::Capture)?;
        assert_eq!(t.take_rdma(1, QpKind::Raw, qp(3)).err(), Some(EINVAL));
        assert_eq!(t.take_ethernet(5, c"eth0", ETH).err(), Some(EINVAL));
        assert_eq!(t.take_ethernet(0, c"", ETH).err(), Some(EINVAL));
        assert_eq!(
            t.take_ethernet(0, c"sixteen_chars_xx", ETH).err(),
            Some(EINVAL)
        );
        let _eth = t.take_ethernet(0, c"fifteen_chars_x", ETH)?;
        assert!(owner_is(&t, 0, "ethernet fifteen_chars_x"));
        assert_eq!(hw.events(), 1);
        Ok(())
    }

    #[test]
    fn leases_outlive_the_table() -> Result {
        let (t, hw) = FakeHw::table(1, RefusalLog::Capture)?;
        let eth = t.take_ethernet(0, c"eth0", ETH)?;
        drop(t);
        assert_eq!(eth.vport().index(), 0);
        eth.vport()
            .with_owner(|o| assert!(matches!(o, Owner::Ethernet { .. })));
        drop(eth);
        assert!(hw.events_since(1, &[Event::RxOff { vport: 0 }]));
        Ok(())
    }
}
