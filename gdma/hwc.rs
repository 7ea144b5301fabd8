// SPDX-License-Identifier: GPL-2.0-only

//! The hardware channel (HWC): the request/response RPC between the core and the device.
//!
//! Four one-page queues (EQ, CQ, RQ, SQ) are handed to the device through the SMC mailbox. The
//! device answers with init events (queue ids, queue depth, message sizes, memory key), then
//! every request is a send WQE pointing at a request buffer, and its response arrives in a
//! posted receive buffer, reported by a CQE and an EQE.
//!
//! Unlike the C driver, which keeps one request in flight, the channel uses the depth the device
//! reports: each in-flight request owns one message id (its slot). A response is matched to its
//! waiter by message id, activity id, device id and request code; anything else is a stale or
//! malformed response, which is logged and dropped. A request that times out frees its slot and
//! returns `ETIMEDOUT`; the channel stays usable, and a late answer to it is recognized by its
//! activity id and dropped.
//!
//! Every value the device writes (EQEs, CQEs, offsets, ids, sizes) is checked before use.
//!
//! Locking: `state` is taken by senders (briefly, never while waiting) and by the interrupt
//! handler; nothing else is called with it held except the transport's doorbell and memory
//! accessors, which take only the transport's own leaf locks.

use kernel::{
    new_condvar,
    new_mutex,
    new_spinlock,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        CondVar,
        Mutex,
        SpinLock, //
    },
    time::msecs_to_jiffies,
    transmute::{
        AsBytes,
        FromBytes, //
    },
    workqueue, //
};

use crate::{
    dma::DmaBuf,
    ring::{
        read_cqe,
        read_eqe,
        RingRead, //
    },
    smc,
    transport::{
        InterruptHandler,
        IrqContext,
        Transport, //
    },
    wire::{
        hdr::{
            ReqHdr,
            RespHdr, //
        },
        hwc::{
            init_data,
            reconfig_data,
            HwcInitEqIdDb,
            HwcInitTypeData,
            HwcRxOob,
            HwcSocServiceType,
            HwcTxOob, //
        },
        queue::{
            self,
            cq_doorbell_tail,
            eqe_type,
            queue_type,
            service_type,
            wq_doorbell_tail,
            CqDoorbell,
            Cqe,
            EqDoorbell,
            Eqe,
            RingEntries,
            RqDoorbell,
            Sge,
            SqDoorbell,
            WqeHeader, //
        },
        smc::EstablishHwc, //
    }, //
};

/// Every hardware-channel queue is one page: the SMC passes only page frame numbers.
const QUEUE_SIZE: u32 = queue::MANA_PAGE_SIZE;
const EQ_ENTRIES: RingEntries = RingEntries::constant(QUEUE_SIZE / queue::EQE_SIZE);
const CQ_ENTRIES: RingEntries = RingEntries::constant(QUEUE_SIZE / queue::CQE_SIZE);
/// A send WQE: header, 24-byte OOB, one SGE (two 32-byte units).
const SQ_WQE_SIZE: u32 = 64;
/// A receive WQE: header, 8-byte OOB, one SGE (one unit).
const RQ_WQE_SIZE: u32 = 32;
/// The deepest channel this driver runs: every request uses two CQEs of the one-page CQ.
pub(crate) const MAX_DEPTH: u32 = CQ_ENTRIES.get() / 2;
/// Message buffers are this big, whatever larger size the device offers.
const MAX_MSG: u32 = 4096;
/// The MSI-X vector of the hardware channel.
pub(crate) const HWC_VECTOR: u32 = 0;
/// How long the device may take to send INIT_DONE (the C driver waits 60 s).
const INIT_TIMEOUT_MS: u32 = 60_000;
/// The default request timeout (the C driver's default).
pub(crate) const DEFAULT_TIMEOUT_MS: u32 = 30_000;
/// The longest request timeout a device may set: requests wait uninterruptibly, and a wait
/// must end well before the hung-task detector (120 s by default) would report it.
const MAX_TIMEOUT_MS: u32 = 60_000;

/// What the device told us in its init events.
#[derive(Clone, Copy, Debug, Default)]
struct InitInfo {
    eq_id: Option<u32>,
    doorbell: u32,
    cq_id: Option<u32>,
    rq_id: Option<u32>,
    sq_id: Option<u32>,
    depth: u32,
    max_req: u32,
    max_resp: u32,
    gpa_mkey: Option<u32>,
    pdid: u32,
    /// Where a PF addresses its requests (INIT_DATA PF_DEST_RQ_ID / PF_DEST_CQ_ID).
    pf_dest_rq: Option<u32>,
    pf_dest_cq: Option<u32>,
    done: bool,
}

/// One message id.
enum Slot {
    Free,
    /// A request is waiting for its response.
    Waiting {
        code: u32,
        activity_id: u32,
    },
    /// The response arrived (its bytes).
    Done(KVec<u8>),
}

struct State {
    init: InitInfo,
    eq_head: u32,
    cq_head: u32,
    /// Bytes of WQEs posted to the SQ and RQ.
    sq_head: u32,
    rq_head: u32,
    /// Send WQEs whose completion has not arrived.
    sq_outstanding: u32,
    /// The message buffers, once the depth is known.
    bufs: Option<Buffers>,
    /// Which response buffer each RQ WQE position points at (driver memory: trusted).
    rq_buf_of_pos: [u8; (QUEUE_SIZE / RQ_WQE_SIZE) as usize],
    slots: KVec<Slot>,
    /// Set by removal: no new requests.
    closed: bool,
    /// Responses dropped because nobody waited for them.
    stale: u32,
    /// Events and completions rejected as malformed.
    malformed: u32,
    /// The most requests that were in flight at once.
    max_in_flight: u32,
}

impl State {
    /// Gives message id `slot` back (a request that gave up waiting).
    fn free_slot(&mut self, slot: usize) {
        if let Some(entry) = self.slots.get_mut(slot) {
            *entry = Slot::Free;
        }
    }
}

struct Buffers {
    req: DmaBuf,
    resp: DmaBuf,
}

/// The hardware channel.
#[pin_data]
pub struct Hwc {
    transport: Arc<dyn Transport>,
    /// The function is a PF (its requests name a destination RQ/CQ).
    is_pf: bool,
    shm: usize,
    db_base: usize,
    db_page_size: u64,
    eq: DmaBuf,
    cq: DmaBuf,
    rq: DmaBuf,
    sq: DmaBuf,
    #[pin]
    state: Mutex<State>,
    #[pin]
    cv: CondVar,
    next_activity: Atomic<u32>,
    timeout_ms: Atomic<u32>,
    /// 1 while the device reports the link up (the default until it says otherwise).
    link_up: Atomic<u32>,
    #[pin]
    link_listener: SpinLock<Option<Arc<dyn LinkListener>>>,
    #[pin]
    service_listener: SpinLock<Option<Arc<dyn ServiceListener>>>,
}

/// Told when the device reports that the link went up or down (SOC_RECONFIG_DATA events).
///
/// Called from a workqueue, with no core lock held, so it may take rtnl.
pub trait LinkListener: Send + Sync {
    /// The adapter's link is now up (`true`) or down.
    fn link_changed(&self, up: bool);
}

/// A service operation the device asks the driver for (defined with the wire formats: the
/// device model sends them too).
pub use crate::wire::hwc::ServiceRequest;

/// Told when the device asks for a service operation.
///
/// Called from the channel's event path with the channel locked: the listener must only queue
/// work, never block or send a request.
pub trait ServiceListener: Send + Sync {
    /// The device asked for `request`.
    fn service_requested(&self, request: ServiceRequest);
}

/// Routes the channel's MSI-X vector to [`Hwc::process_events`].
struct HwcIrq(Arc<Hwc>);

impl InterruptHandler for HwcIrq {
    fn handle(&self) {
        self.0.process_events();
    }

    /// The channel's events take its mutex and wake the requests waiting for responses.
    fn context(&self) -> IrqContext {
        IrqContext::Thread
    }
}

/// Statistics of the channel (for tests and debugfs).
#[derive(Clone, Copy, Debug)]
pub struct HwcStats {
    /// The depth in use.
    pub depth: u32,
    /// Requests in flight.
    pub in_flight: u32,
    /// Responses dropped because nobody waited for them (late or misaddressed).
    pub stale: u32,
    /// Events and completions rejected as malformed.
    pub malformed: u32,
    /// The most requests that were in flight at once.
    pub max_in_flight: u32,
}

impl Hwc {
    /// Creates the channel: allocates its queues, establishes it through the SMC at `shm`, waits
    /// for the device's init events and posts the receive buffers.
    pub(crate) fn new(
        transport: Arc<dyn Transport>,
        is_pf: bool,
        shm: usize,
        db_base: usize,
        db_page_size: u64,
    ) -> Result<Arc<Self>> {
        let alloc = || transport.alloc_dma(QUEUE_SIZE as usize);
        let (eq, cq, rq, sq) = (alloc()?, alloc()?, alloc()?, alloc()?);
        let shared = transport.clone();
        let hwc = Arc::pin_init(
            try_pin_init!(Self {
                eq,
                cq,
                rq,
                sq,
                transport: shared,
                is_pf,
                shm,
                db_base,
                db_page_size,
                state <- new_mutex!(State {
                    init: InitInfo::default(),
                    eq_head: queue::initial_index(EQ_ENTRIES),
                    cq_head: queue::initial_index(CQ_ENTRIES),
                    sq_head: 0,
                    rq_head: 0,
                    sq_outstanding: 0,
                    bufs: None,
                    rq_buf_of_pos: [0; (QUEUE_SIZE / RQ_WQE_SIZE) as usize],
                    slots: KVec::new(),
                    closed: false,
                    stale: 0,
                    malformed: 0,
                    max_in_flight: 0,
                }),
                cv <- new_condvar!("Hwc::cv"),
                next_activity: Atomic::new(1),
                timeout_ms: Atomic::new(DEFAULT_TIMEOUT_MS),
                link_up: Atomic::new(1),
                link_listener <- new_spinlock!(None),
                service_listener <- new_spinlock!(None),
            }),
            GFP_KERNEL,
        )?;
        transport
            .set_interrupt_handler(HWC_VECTOR, Some(Arc::new(HwcIrq(hwc.clone()), GFP_KERNEL)?))?;
        let req = EstablishHwc {
            eq_addr: hwc.eq.dma_addr(),
            cq_addr: hwc.cq.dma_addr(),
            rq_addr: hwc.rq.dma_addr(),
            sq_addr: hwc.sq.dma_addr(),
            msix_index: HWC_VECTOR as u16,
            reset_vf: false,
        };
        if let Err(e) = smc::establish_hwc(&*transport, shm, &req) {
            pr_err!("the device refused ESTABLISH_HWC: {:?}\n", e);
            hwc.shut_down(false);
            return Err(e);
        }
        if let Err(e) = hwc.finish_init() {
            hwc.shut_down(true);
            return Err(e);
        }
        Ok(hwc)
    }

    /// Waits for the device's init events, then allocates and posts the message buffers.
    fn finish_init(&self) -> Result {
        // Wait for INIT_DONE.
        let mut state = self.state.lock();
        let mut left = msecs_to_jiffies(INIT_TIMEOUT_MS);
        while !state.init.done {
            if left == 0 {
                pr_err!(
                    "no INIT_DONE from the device within {} ms\n",
                    INIT_TIMEOUT_MS
                );
                return Err(ETIMEDOUT);
            }
            // Uninterruptible, as every wait on the device here: a signal must not abandon
            // what the device is working on (the C driver waits the same way).
            left = self.cv.wait_timeout(&mut state, left);
        }
        let init = state.init;
        let (Some(_), Some(_), Some(_), Some(_), Some(_)) = (
            init.eq_id,
            init.cq_id,
            init.rq_id,
            init.sq_id,
            init.gpa_mkey,
        ) else {
            pr_err!("the device's init data lacks queue ids or the memory key\n");
            return Err(EPROTO);
        };
        if self.is_pf && (init.pf_dest_rq.is_none() || init.pf_dest_cq.is_none()) {
            pr_err!("the PF's init data lacks the destination RQ/CQ of its requests\n");
            return Err(EPROTO);
        }
        if init.depth == 0
            || init.max_req < size_of::<ReqHdr>() as u32
            || init.max_resp < size_of::<RespHdr>() as u32
        {
            pr_err!(
                "unusable hardware channel: depth {}, request {} B, response {} B\n",
                init.depth,
                init.max_req,
                init.max_resp
            );
            return Err(EPROTO);
        }
        let depth = init.depth.min(MAX_DEPTH);
        state.init.depth = depth;
        state.init.max_req = init.max_req.min(MAX_MSG);
        state.init.max_resp = init.max_resp.min(MAX_MSG);
        drop(state);

        let req = self.transport.alloc_dma((depth * MAX_MSG) as usize)?;
        let resp = self.transport.alloc_dma((depth * MAX_MSG) as usize)?;
        let mut slots = KVec::with_capacity(depth as usize, GFP_KERNEL)?;
        for _ in 0..depth {
            slots.push(Slot::Free, GFP_KERNEL)?;
        }
        let mut state = self.state.lock();
        state.bufs = Some(Buffers { req, resp });
        state.slots = slots;
        for i in 0..depth {
            self.post_receive(&mut state, i as u8)?;
        }
        self.ring_rq(&state)?;
        Ok(())
    }

    pub(crate) fn doorbell(&self, qtype: u32, value: u64, db_index: u32) -> Result {
        let offset = queue::doorbell_offset(self.db_page_size, db_index, qtype)?;
        // `db_index` is the device's (HWC_INIT_EQ_ID_DB): the transport checks the offset
        // against BAR0, after this sum that must not overflow.
        let offset = usize::try_from(offset)
            .ok()
            .and_then(|o| o.checked_add(self.db_base))
            .ok_or(EINVAL)?;
        self.transport.ring_doorbell(offset, value)
    }

    fn ring_rq(&self, state: &State) -> Result {
        let id = state.init.rq_id.ok_or(EINVAL)?;
        let db = RqDoorbell::new(id, state.rq_head)?;
        self.doorbell(queue_type::RQ, db.into_raw(), state.init.doorbell)
    }

    /// Posts the receive WQE for response buffer `buf` at the RQ head.
    fn post_receive(&self, state: &mut State, buf: u8) -> Result {
        let bufs = state.bufs.as_ref().ok_or(EINVAL)?;
        let pos = state.rq_head % QUEUE_SIZE;
        let mut wqe = [0u8; RQ_WQE_SIZE as usize];
        let hdr = WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)?;
        let sge = Sge {
            address: bufs
                .resp
                .dma_addr()
                .wrapping_add(u64::from(buf) * u64::from(MAX_MSG)),
            mem_key: state.init.gpa_mkey.ok_or(EINVAL)?,
            size: state.init.max_resp,
        };
        wqe[..8].copy_from_slice(hdr.as_bytes());
        wqe[16..32].copy_from_slice(sge.as_bytes());
        self.rq.write_bytes(pos as usize, &wqe)?;
        *state
            .rq_buf_of_pos
            .get_mut((pos / RQ_WQE_SIZE) as usize)
            .ok_or(EINVAL)? = buf;
        state.rq_head = state.rq_head.wrapping_add(RQ_WQE_SIZE);
        Ok(())
    }

    /// Sets the request timeout.
    pub fn set_timeout_ms(&self, ms: u32) {
        self.timeout_ms.store(ms.max(1), Relaxed);
    }

    /// The request timeout.
    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms.load(Relaxed)
    }

    /// The largest request the channel carries, in bytes (the device's offer, capped by the
    /// driver's message buffers).
    pub(crate) fn max_request(&self) -> usize {
        self.state.lock().init.max_req as usize
    }

    /// The channel's statistics.
    pub fn stats(&self) -> HwcStats {
        let state = self.state.lock();
        HwcStats {
            depth: state.init.depth,
            in_flight: state
                .slots
                .iter()
                .filter(|s| !matches!(s, Slot::Free))
                .count() as u32,
            stale: state.stale,
            malformed: state.malformed,
            max_in_flight: state.max_in_flight,
        }
    }

    /// Sends `req` (a complete request, header first) and copies the response into `resp`.
    ///
    /// Sets the request's `hwc_msg_id` and `activity_id`; checks that the response answers this
    /// request (code, activity id, device id), that it is at least `min_resp` bytes, and maps its
    /// status to an errno. Returns the response size.
    pub fn send(&self, req: &mut [u8], resp: &mut [u8], min_resp: usize) -> Result<usize> {
        let hdr_len = size_of::<ReqHdr>();
        let mut hdr = ReqHdr::from_bytes_copy(req.get(..hdr_len).ok_or(EINVAL)?).ok_or(EINVAL)?;
        let code = hdr.req.msg_type;
        let timeout = self.timeout_ms();
        let mut left = msecs_to_jiffies(timeout);

        let mut state = self.state.lock();
        if req.len() > state.init.max_req as usize {
            pr_err!(
                "request 0x{:x} of {} bytes exceeds the channel's {} bytes\n",
                code,
                req.len(),
                state.init.max_req
            );
            return Err(EINVAL);
        }
        // Wait for a free message id.
        let slot = loop {
            if state.closed {
                return Err(ESHUTDOWN);
            }
            if let Some(i) = state.slots.iter().position(|s| matches!(s, Slot::Free)) {
                if state.sq_outstanding < QUEUE_SIZE / SQ_WQE_SIZE {
                    break i;
                }
            }
            if left == 0 {
                pr_err!(
                    "request 0x{:x}: no free hardware-channel slot within {} ms\n",
                    code,
                    timeout
                );
                return Err(ETIMEDOUT);
            }
            left = self.cv.wait_timeout(&mut state, left);
        };
        let activity_id = self.next_activity.fetch_add(1, Relaxed);
        hdr.req.hwc_msg_id = slot as u16;
        hdr.activity_id = activity_id;
        req[..hdr_len].copy_from_slice(hdr.as_bytes());
        self.post_send(&mut state, slot, req)?;
        *state.slots.get_mut(slot).ok_or(EINVAL)? = Slot::Waiting { code, activity_id };
        let in_flight = state
            .slots
            .iter()
            .filter(|s| !matches!(s, Slot::Free))
            .count() as u32;
        state.max_in_flight = state.max_in_flight.max(in_flight);

        // Wait for the answer. The slot table is the one the slot was taken from (it is only
        // replaced while no request is in flight); a slot that vanished all the same ends the
        // request instead of the kernel.
        let answer = loop {
            let closed = state.closed;
            let Some(entry) = state.slots.get_mut(slot) else {
                return Err(ESHUTDOWN);
            };
            if let Slot::Done(_) = entry {
                break core::mem::replace(entry, Slot::Free);
            }
            if closed {
                *entry = Slot::Free;
                return Err(ESHUTDOWN);
            }
            if left == 0 {
                state.free_slot(slot);
                self.cv.notify_all();
                drop(state);
                pr_err!("request 0x{:x} timed out after {} ms\n", code, timeout);
                return Err(ETIMEDOUT);
            }
            // Uninterruptible: the request is on the device; a caller that gave up on a signal
            // (Ctrl-C on `ip link set down`, a killed DPDK process closing its QPs) would leave
            // the object half torn down and the answer to a freed slot.
            left = self.cv.wait_timeout(&mut state, left);
        };
        self.cv.notify_all();
        drop(state);

        let Slot::Done(bytes) = answer else {
            return Err(EINVAL);
        };
        let rhdr = RespHdr::from_bytes_copy(bytes.get(..size_of::<RespHdr>()).ok_or(EPROTO)?)
            .ok_or(EPROTO)?;
        if !rhdr.matches(&hdr) {
            kernel::pr_err_ratelimited!(
                "response to request 0x{:x} names another device or activity\n",
                code
            );
            return Err(EPROTO);
        }
        rhdr.result().inspect_err(|e| {
            kernel::pr_err_ratelimited!(
                "request 0x{:x} failed on the device: status 0x{:x} ({:?})\n",
                code,
                rhdr.status,
                e
            )
        })?;
        rhdr.verify(code, min_resp).inspect_err(|_| {
            kernel::pr_err_ratelimited!(
                "response to request 0x{:x} is malformed ({} bytes, need {})\n",
                code,
                rhdr.response.msg_size,
                min_resp
            )
        })?;
        if bytes.len() < min_resp {
            kernel::pr_err_ratelimited!(
                "response to request 0x{:x} has {} bytes, need {}\n",
                code,
                bytes.len(),
                min_resp
            );
            return Err(EPROTO);
        }
        let n = bytes.len().min(resp.len());
        resp[..n].copy_from_slice(&bytes[..n]);
        Ok(n)
    }

    /// Copies `req` into slot `slot`'s buffer and posts its send WQE.
    fn post_send(&self, state: &mut State, slot: usize, req: &[u8]) -> Result {
        let bufs = state.bufs.as_ref().ok_or(EINVAL)?;
        let buf_off = slot * MAX_MSG as usize;
        bufs.req.write_bytes(buf_off, req)?;
        let (sq_id, cq_id) = (
            state.init.sq_id.ok_or(EINVAL)?,
            state.init.cq_id.ok_or(EINVAL)?,
        );
        // A PF addresses its requests to the destination the device named; a VF leaves it 0
        // (`mana_hwc_send_request()`).
        let (dest_rq, dest_cq) = if self.is_pf {
            (
                state.init.pf_dest_rq.ok_or(EINVAL)?,
                state.init.pf_dest_cq.ok_or(EINVAL)?,
            )
        } else {
            (0, 0)
        };
        let oob = HwcTxOob::new(dest_rq, dest_cq, sq_id, cq_id, false)?;
        let sge = Sge {
            address: bufs.req.dma_addr() + buf_off as u64,
            mem_key: state.init.gpa_mkey.ok_or(EINVAL)?,
            size: req.len() as u32,
        };
        let mut wqe = [0u8; SQ_WQE_SIZE as usize];
        wqe[..8].copy_from_slice(WqeHeader::new(1, queue::INLINE_OOB_LARGE_SIZE, 0)?.as_bytes());
        wqe[8..32].copy_from_slice(oob.as_bytes());
        wqe[32..48].copy_from_slice(sge.as_bytes());
        self.sq
            .write_bytes((state.sq_head % QUEUE_SIZE) as usize, &wqe)?;
        state.sq_head = state.sq_head.wrapping_add(SQ_WQE_SIZE);
        state.sq_outstanding += 1;
        let db = SqDoorbell::new(sq_id, wq_doorbell_tail(state.sq_head / queue::WQE_BU_SIZE))?;
        self.doorbell(queue_type::SQ, db.into_raw(), state.init.doorbell)
    }

    fn malformed(&self, state: &mut State, what: &str) {
        state.malformed = state.malformed.wrapping_add(1);
        kernel::pr_err_ratelimited!("hardware channel: {}; ignored\n", what);
    }

    /// Handles the channel's interrupt: drains the EQ, and the CQ for completion events.
    pub(crate) fn process_events(&self) {
        let mut state = self.state.lock();
        let mut handled = false;
        loop {
            let index = state.eq_head;
            let eqe = match read_eqe(&self.eq, index, EQ_ENTRIES) {
                RingRead::Entry(eqe) => eqe,
                RingRead::Empty => break,
                RingRead::Overflow => {
                    self.malformed(&mut state, "event queue overflow (owner bits out of phase)");
                    break;
                }
            };
            state.eq_head = index.wrapping_add(1);
            handled = true;
            self.handle_eqe(&mut state, &eqe);
        }
        if handled {
            if let Some(eq_id) = state.init.eq_id {
                let tail = cq_doorbell_tail(state.eq_head, EQ_ENTRIES);
                if let Ok(db) = EqDoorbell::new(eq_id, tail, true) {
                    let _ = self.doorbell(queue_type::EQ, db.into_raw(), state.init.doorbell);
                }
            }
            self.cv.notify_all();
        }
    }

    fn handle_eqe(&self, state: &mut State, eqe: &Eqe) {
        let ty = eqe.info.eqe_type().get() as u8;
        match ty {
            eqe_type::HWC_INIT_EQ_ID_DB => {
                let v = HwcInitEqIdDb::from_raw(eqe.details[0]);
                state.init.eq_id = Some(v.eq_id().get());
                state.init.doorbell = v.doorbell().get();
            }
            eqe_type::HWC_INIT_DATA => {
                let v = HwcInitTypeData::from_raw(eqe.details[0]);
                let value = v.value().get();
                match v.data_type().get() as u8 {
                    init_data::CQID => state.init.cq_id = Some(value),
                    init_data::RQID => state.init.rq_id = Some(value),
                    init_data::SQID => state.init.sq_id = Some(value),
                    init_data::QUEUE_DEPTH => state.init.depth = value & 0xffff,
                    init_data::MAX_REQUEST => state.init.max_req = value,
                    init_data::MAX_RESPONSE => state.init.max_resp = value,
                    init_data::GPA_MKEY => state.init.gpa_mkey = Some(value),
                    init_data::PDID => state.init.pdid = value,
                    init_data::PF_DEST_RQ_ID => state.init.pf_dest_rq = Some(value),
                    init_data::PF_DEST_CQ_ID => state.init.pf_dest_cq = Some(value),
                    _ => {}
                }
            }
            eqe_type::HWC_INIT_DONE => state.init.done = true,
            eqe_type::COMPLETION => {
                if Some(eqe.details[0] & 0xff_ffff) != state.init.cq_id {
                    self.malformed(state, "completion event for a CQ that is not the channel's");
                    return;
                }
                self.poll_cq(state);
            }
            eqe_type::HWC_SOC_RECONFIG_DATA => {
                let v = HwcInitTypeData::from_raw(eqe.details[0]);
                match v.data_type().get() as u8 {
                    reconfig_data::CFG_HWC_TIMEOUT if v.value().get() > 0 => {
                        let ms = v.value().get();
                        if ms > MAX_TIMEOUT_MS {
                            kernel::pr_warn_ratelimited!(
                                "the device asks for a {} ms channel timeout; using {} ms\n",
                                ms,
                                MAX_TIMEOUT_MS
                            );
                        }
                        self.set_timeout_ms(ms.min(MAX_TIMEOUT_MS))
                    }
                    reconfig_data::HW_LINK_CONNECT => self.link_event(true),
                    reconfig_data::HW_LINK_DISCONNECT => self.link_event(false),
                    other => kernel::pr_warn_ratelimited!(
                        "unknown reconfiguration event type {}; ignored\n",
                        other
                    ),
                }
            }
            eqe_type::HWC_RESET_REQUEST | eqe_type::HWC_FPGA_RECONFIG => {
                let request = if ty == eqe_type::HWC_RESET_REQUEST {
                    ServiceRequest::Reset
                } else {
                    ServiceRequest::FpgaReconfig
                };
                // The device no longer answers: fail what waits and what comes, at once (C sets
                // the request timeout to 0 for the same reason).
                state.closed = true;
                kernel::pr_warn_ratelimited!(
                    "the device requested {:?}; the hardware channel is closed until the adapter is set up again\n",
                    request
                );
                self.service_event(request);
            }
            eqe_type::HWC_SOC_SERVICE => {
                let v = HwcSocServiceType::from_raw(eqe.details[0]);
                match v.service_type().get() {
                    service_type::RDMA_SUSPEND => self.service_event(ServiceRequest::RdmaSuspend),
                    service_type::RDMA_RESUME => self.service_event(ServiceRequest::RdmaResume),
                    other => kernel::pr_warn_ratelimited!(
                        "unknown service event type {}; ignored\n",
                        other
                    ),
                }
            }
            eqe_type::TEST_EVENT => {}
            other => kernel::pr_warn_ratelimited!(
                "unknown hardware-channel event type {}; ignored\n",
                other
            ),
        }
    }

    fn poll_cq(&self, state: &mut State) {
        let mut polled = false;
        loop {
            let index = state.cq_head;
            let cqe = match read_cqe(&self.cq, index, CQ_ENTRIES) {
                RingRead::Entry(cqe) => cqe,
                RingRead::Empty => break,
                RingRead::Overflow => {
                    self.malformed(state, "completion queue overflow (owner bits out of phase)");
                    break;
                }
            };
            state.cq_head = index.wrapping_add(1);
            polled = true;
            let wq = cqe.info.wq_num().get();
            if cqe.info.is_sq().into_bool() {
                if Some(wq) == state.init.sq_id && state.sq_outstanding > 0 {
                    state.sq_outstanding -= 1;
                } else {
                    self.malformed(state, "send completion for an unknown queue");
                }
            } else if Some(wq) == state.init.rq_id {
                self.receive(state, &cqe);
            } else {
                self.malformed(state, "receive completion for an unknown queue");
            }
        }
        if polled {
            if let Some(cq_id) = state.init.cq_id {
                let tail = cq_doorbell_tail(state.cq_head, CQ_ENTRIES);
                if let Ok(db) = CqDoorbell::new(cq_id, tail, true) {
                    let _ = self.doorbell(queue_type::CQ, db.into_raw(), state.init.doorbell);
                }
            }
        }
    }

    /// One receive completion: find the buffer, match the waiter, repost the buffer.
    fn receive(&self, state: &mut State, cqe: &Cqe) {
        let Some(oob) = HwcRxOob::from_bytes_copy(&cqe.data_bytes()[..size_of::<HwcRxOob>()])
        else {
            return;
        };
        let wqe_offset = oob.wqe_offset;
        if wqe_offset >= QUEUE_SIZE || wqe_offset % RQ_WQE_SIZE != 0 {
            self.malformed(state, "receive completion with a WQE offset outside the RQ");
            return;
        }
        let Some(&buf) = state.rq_buf_of_pos.get((wqe_offset / RQ_WQE_SIZE) as usize) else {
            self.malformed(state, "receive completion with a WQE offset outside the RQ");
            return;
        };
        let len = oob.tx_oob_data_size;
        let result = self.take_response(state, buf, len);
        // The buffer goes back to the device whatever the response was.
        if self
            .post_receive(state, buf)
            .and_then(|()| self.ring_rq(state))
            .is_err()
        {
            self.malformed(state, "could not repost a receive buffer");
        }
        if let Err(what) = result {
            self.malformed(state, what);
        }
    }

    fn take_response(
        &self,
        state: &mut State,
        buf: u8,
        len: u32,
    ) -> core::result::Result<(), &'static str> {
        if len < size_of::<RespHdr>() as u32 || len > state.init.max_resp {
            return Err("response size out of range");
        }
        let Some(bufs) = state.bufs.as_ref() else {
            return Err("response before the channel was ready");
        };
        let mut bytes = KVec::from_elem(0u8, len as usize, GFP_KERNEL)
            .map_err(|_| "out of memory for a response")?;
        // One copy: later device writes to the buffer cannot change what we check and use.
        bufs.resp
            .read_bytes(usize::from(buf) * MAX_MSG as usize, &mut bytes)
            .map_err(|_| "response buffer out of range")?;
        let hdr =
            RespHdr::from_bytes_copy(&bytes[..size_of::<RespHdr>()]).ok_or("short response")?;
        let msg_id = usize::from(hdr.response.hwc_msg_id);
        let Some(slot) = state.slots.get_mut(msg_id) else {
            return Err("response with a message id beyond the queue depth");
        };
        match slot {
            Slot::Waiting { code, activity_id }
                if *code == hdr.response.msg_type && *activity_id == hdr.activity_id =>
            {
                *slot = Slot::Done(bytes);
                Ok(())
            }
            _ => {
                state.stale = state.stale.wrapping_add(1);
                pr_warn!(
                    "dropped a hardware-channel response (msg id {}, code 0x{:x}, activity {}) that no request is waiting for\n",
                    msg_id,
                    hdr.response.msg_type,
                    hdr.activity_id
                );
                Ok(())
            }
        }
    }

    /// Whether the device last reported the link up.
    pub fn link_up(&self) -> bool {
        self.link_up.load(Relaxed) != 0
    }

    /// Installs (or with `None`, removes) the listener of link events.
    pub fn set_link_listener(&self, listener: Option<Arc<dyn LinkListener>>) {
        let old = core::mem::replace(&mut *self.link_listener.lock(), listener);
        drop(old);
    }

    /// Records a link event and tells the listener from a workqueue (this runs in the
    /// channel's interrupt path with its state locked).
    fn link_event(&self, up: bool) {
        self.link_up.store(u32::from(up), Relaxed);
        let listener = self.link_listener.lock().clone();
        if let Some(listener) = listener {
            let queued = workqueue::system().spawn(GFP_ATOMIC, move || listener.link_changed(up));
            if queued.is_err() {
                pr_err!(
                    "link {} event lost: out of memory\n",
                    if up { "up" } else { "down" }
                );
            }
        }
    }

    /// Installs (or with `None`, removes) the listener of service requests.
    pub fn set_service_listener(&self, listener: Option<Arc<dyn ServiceListener>>) {
        let old = core::mem::replace(&mut *self.service_listener.lock(), listener);
        drop(old);
    }

    /// Hands a service request to the listener; without one (during bring-up), it is dropped
    /// with a log line, and a reset still closes the channel, which fails the bring-up.
    fn service_event(&self, request: ServiceRequest) {
        let listener = self.service_listener.lock().clone();
        match listener {
            Some(listener) => listener.service_requested(request),
            None => pr_warn!(
                "service request {:?} before the adapter is up; ignored\n",
                request
            ),
        }
    }

    /// Whether the channel was closed (removal, or a reset requested by the device).
    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Stops the channel: fails waiting and new requests, detaches the interrupt and, if
    /// `destroy`, asks the device to destroy the channel. The queues are freed with `self`.
    pub(crate) fn shut_down(&self, destroy: bool) {
        self.state.lock().closed = true;
        self.cv.notify_all();
        // The listeners refer to the adapter's owner; dropping them here breaks that cycle.
        self.set_link_listener(None);
        self.set_service_listener(None);
        let _ = self.transport.set_interrupt_handler(HWC_VECTOR, None);
        if destroy {
            if let Err(e) = smc::destroy_hwc(&*self.transport, self.shm) {
                pr_err!("DESTROY_HWC failed: {:?}\n", e);
            }
        }
    }
}
