// SPDX-License-Identifier: GPL-2.0-only

//! Completion events of user CQs (completion channels): the interrupt path from a PD's event
//! queues to the CQs' completion handlers.
//!
//! User space arms a CQ through its doorbell page (`ibv_req_notify_cq()`: a CQ doorbell with
//! the arm bit, libmana's `mana_arm_cq()`); the next completion on it makes the device post a
//! COMPLETION event naming the CQ on the CQ's event queue and raise the EQ's MSI-X vector. The
//! EQs are the PD's ([`PdEq`], one per completion vector, created with the PD's first QP on
//! vector `comp_vector + 1` and shared with the Ethernet channels of that vector through the
//! core's interrupt table), as the C driver's RDMA EQs live in the port context it configured
//! for the PD. The handler of each EQ drains it in hard interrupt context, looks the CQ up in
//! the EQ's own CQ table and reports the event ([`CqNotifier::completion_event`]): uverbs then
//! queues it on the CQ's completion channel for `ibv_get_cq_event()`. It re-arms the EQ on the
//! kernel's doorbell page, where the EQ was created.
//!
//! Each device CQ (made with its QP by CREATE_WQ_OBJ) is in the table of its EQ from the QP's
//! creation until the QP's data is dropped ([`CqEvents`]), before DESTROY_WQ_OBJ. The table is
//! under the EQ's interrupt-safe lock, which the handler holds while it reports events: once a
//! CQ is out of the table no handler can report it any more, and its [`CqNotifier`] (a counted
//! reference, which keeps the RDMA core from freeing the CQ) is dropped only then. Unlike the C
//! driver's adapter-wide `cq_table`, a device can only name the CQs of the EQ it writes to: an
//! event for any other CQ id (of a QP being destroyed, or from a confused device) is dropped.

use kernel::{
    new_spinlock_irq,
    prelude::*,
    rdma::CqNotifier,
    sync::{
        Arc,
        SpinLockIrq, //
    },
};

use mana_gdma::{
    objects::EventQueue,
    ring::{
        read_eqe,
        RingRead, //
    },
    transport::{
        InterruptHandler,
        IrqContext, //
    },
    wire::queue::{
        self,
        cq_doorbell_tail,
        queue_type,
        EqDoorbell,
        RingEntries, //
    },
    Adapter,
};

/// The size of an event queue of the RDMA device.
const EQ_BYTES: u32 = 16 * queue::MANA_PAGE_SIZE;

/// The entries of an event queue of the RDMA device.
const EQ_ENTRIES: RingEntries = RingEntries::constant(EQ_BYTES / queue::EQE_SIZE);

/// What the handler of an EQ works on, under the EQ's interrupt-safe lock.
struct EqState {
    /// The next event to read (free-running).
    head: u32,
    /// The CQs reporting to the EQ: device CQ id and the CQ.
    cqs: KVec<(u32, CqNotifier)>,
}

/// An event queue of a PD with its CQ table: the interrupt handler of the EQ.
#[pin_data]
pub(crate) struct EqIrq {
    adapter: Arc<Adapter>,
    eq: Arc<EventQueue>,
    #[pin]
    state: SpinLockIrq<EqState>,
}

impl EqIrq {
    /// Arms the EQ: `head` is consumed up to, interrupt on the next event.
    fn arm(&self, head: u32) {
        let tail = cq_doorbell_tail(head, EQ_ENTRIES);
        if let Ok(db) = EqDoorbell::new(self.eq.id(), tail, true) {
            let _ = self.adapter.ring_doorbell(queue_type::EQ, db.into_raw());
        }
    }

    /// Drains the EQ (at most one pass of the ring: a device that keeps writing cannot hold
    /// the handler) and reports the completion events of the CQs in the table.
    fn process(&self) {
        let mem = self.eq.mem();
        let mut st = self.state.lock();
        let mut handled = false;
        for _ in 0..EQ_ENTRIES.get() {
            let index = st.head;
            let eqe = match read_eqe(mem, index, EQ_ENTRIES) {
                RingRead::Entry(eqe) => eqe,
                RingRead::Empty => break,
                RingRead::Overflow => {
                    kernel::pr_err_ratelimited!(
                        "mana_rdma: event queue {} overflowed; completion events were lost\n",
                        self.eq.id()
                    );
                    st.head = index.wrapping_add(1);
                    handled = true;
                    break;
                }
            };
            st.head = index.wrapping_add(1);
            handled = true;
            let kind = eqe.info.eqe_type().get();
            if kind != u32::from(queue::eqe_type::COMPLETION) {
                kernel::pr_warn_ratelimited!(
                    "mana_rdma: event queue {}: unexpected event type {}; ignored\n",
                    self.eq.id(),
                    kind
                );
                continue;
            }
            let cq = eqe.details[0] & 0xff_ffff;
            // Not in the table: its QP is being destroyed (or the device is confused).
            if let Some((_, notifier)) = st.cqs.iter().find(|(id, _)| *id == cq) {
                notifier.completion_event();
            }
        }
        if handled {
            self.arm(st.head);
        }
    }

    /// Adds device CQ `cq_id` to the table, reporting its events to `notifier`'s CQ until the
    /// returned value is dropped. `EEXIST` if the id is in the table already (the device gave
    /// one id to two queues).
    pub(crate) fn register(self: &Arc<Self>, cq_id: u32, notifier: CqNotifier) -> Result<CqEvents> {
        let mut notifier = Some(notifier);
        loop {
            let needed = {
                let mut st = self.state.lock();
                if st.cqs.iter().any(|(id, _)| *id == cq_id) {
                    pr_err!(
                        "mana_rdma: the device gave CQ id {} to two queues of event queue {}\n",
                        cq_id,
                        self.eq.id()
                    );
                    return Err(EEXIST);
                }
                if st.cqs.len() < st.cqs.capacity() {
                    if let Some(n) = notifier.take() {
                        // Within the capacity: no allocation.
                        st.cqs.push((cq_id, n), GFP_NOWAIT)?;
                    }
                    return Ok(CqEvents {
                        eq: self.clone(),
                        cq_id,
                    });
                }
                st.cqs.len() + 1
            };
            // Room first: no allocation under the interrupt-safe lock.
            let mut room = KVec::with_capacity(needed.max(4) * 2, GFP_KERNEL)?;
            let mut st = self.state.lock();
            if room.capacity() > st.cqs.len() {
                for entry in st.cqs.drain_all() {
                    // Within the capacity: cannot fail.
                    let _ = room.push(entry, GFP_NOWAIT);
                }
                core::mem::swap(&mut st.cqs, &mut room);
            }
            drop(st);
            // The old table, freed outside the lock.
            drop(room);
        }
    }
}

impl InterruptHandler for EqIrq {
    fn handle(&self) {
        self.process();
    }

    /// Draining the EQ takes only its interrupt-safe lock; the completion handlers of CQs may
    /// run in hard interrupt context (uverbs' takes interrupt-safe locks and allocates with
    /// `GFP_ATOMIC`), as the C driver calls them from `mana_gd_intr()`.
    fn context(&self) -> IrqContext {
        IrqContext::Hard
    }
}

/// A CQ's entry in the table of its EQ: dropping it removes the entry, after which the CQ's
/// events are no longer reported, and gives back the CQ's [`CqNotifier`].
pub(crate) struct CqEvents {
    eq: Arc<EqIrq>,
    cq_id: u32,
}

impl Drop for CqEvents {
    fn drop(&mut self) {
        let removed = {
            let mut st = self.eq.state.lock();
            let pos = st.cqs.iter().position(|(id, _)| *id == self.cq_id);
            pos.and_then(|p| st.cqs.remove(p).ok())
        };
        // The handler holds the lock while it reports: it is not using the entry any more.
        drop(removed);
    }
}

/// An event queue of a PD (for one completion vector) with its interrupt handler installed.
///
/// Dropping it removes the handler from the vector; the EQ is disabled when the last queue
/// reporting to it is destroyed too.
pub(crate) struct PdEq {
    irq: Arc<EqIrq>,
    handler: Arc<dyn InterruptHandler>,
    vector: u32,
}

impl PdEq {
    /// Creates an EQ on MSI-X vector `msix`, installs its handler and arms it.
    pub(crate) fn new(adapter: &Arc<Adapter>, msix: u32) -> Result<Self> {
        let caps = adapter.caps();
        let eq = EventQueue::new(&adapter.objects(), EQ_BYTES, msix, caps.pdid, caps.doorbell)?;
        let head = queue::initial_index(EQ_ENTRIES);
        let irq = Arc::pin_init(
            pin_init!(EqIrq {
                adapter: adapter.clone(),
                eq,
                state <- new_spinlock_irq!(EqState {
                    head,
                    cqs: KVec::new(),
                }),
            }),
            GFP_KERNEL,
        )?;
        let handler: Arc<dyn InterruptHandler> = irq.clone();
        adapter.add_interrupt_handler(msix, handler.clone())?;
        irq.arm(head);
        Ok(Self {
            irq,
            handler,
            vector: msix,
        })
    }

    /// The event queue.
    pub(crate) fn eq(&self) -> &Arc<EventQueue> {
        &self.irq.eq
    }

    /// The interrupt handler with the EQ's CQ table.
    pub(crate) fn irq(&self) -> &Arc<EqIrq> {
        &self.irq
    }
}

impl Drop for PdEq {
    fn drop(&mut self) {
        // Once this returns the handler is not running and the interrupt table holds no
        // reference to it.
        self.irq
            .adapter
            .remove_interrupt_handler(self.vector, &self.handler);
    }
}
