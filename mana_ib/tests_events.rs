// SPDX-License-Identifier: GPL-2.0-only

//! KUnit tests of the completion events of user CQs ([`crate::events`]) on software adapters:
//! CQs created with a completion channel ([`CompChannel`], standing in for uverbs' channel),
//! RAW_PACKET and RSS QPs whose WQEs the test writes in user memory as DPDK does, and the
//! doorbells user space writes on its doorbell page (SQ, RQ, and CQ with the arm bit, as
//! `ibv_req_notify_cq()`), rung through [`SwAdapter::ring_user_doorbell`].
//!
//! The software device processes doorbells in order and delivers an EQ's events in order, so a
//! test knows a CQ's events are all in once an event of another CQ of the same EQ, caused
//! later, has arrived ([`Port::barrier`]): "no event" is checked that way, not by waiting.

use kernel::{
    prelude::*,
    rdma::testing::{
        user_read,
        user_write,
        CompChannel,
        ObjId,
        UserContext, //
    },
    sync::Arc,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use mana_gdma::{
    sw::SwAdapter,
    wire::{
        abi::{
            CreateCq,
            CreateCqResp,
            CreateQp,
            CreateQpResp,
            CreateWq, //
        },
        eth::{
            cqe_type,
            TxCompOob,
            TxShortOob, //
        },
        queue::{
            self,
            queue_type,
            CqDoorbell,
            Cqe,
            RingEntries,
            RqDoorbell,
            Sge,
            SqDoorbell,
            WqeHeader, //
        },
    },
};

use crate::{
    device::ManaIb,
    tests_verbs::{
        alloc_pd,
        bytes_of,
        create_rss_qp,
        mr_args,
        nothing_left,
        open,
        raw_caps,
        rss_req,
        setup,
        Buffers,
        PAGE, //
    },
};

/// Entries of the test CQs.
const CQ_ENTRIES: u32 = 64;

/// `IB_ACCESS_LOCAL_WRITE`.
const LOCAL_WRITE: i32 = 1;

/// Waits up to 20 s for `cond` (a bound for slow emulation on a loaded machine, not a timing
/// assertion: it returns as soon as `cond` holds).
fn wait_for(cond: impl Fn() -> bool) -> bool {
    for _ in 0..20_000 {
        if cond() {
            return true;
        }
        kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
    }
    cond()
}

/// A user CQ as libmana keeps it: its ring in user memory, its device id (from the QP that
/// uses it) and how many completions user space consumed.
struct UserCq {
    id: ObjId,
    channel: Arc<CompChannel>,
    ring: u64,
    cq_id: u32,
    consumed: u32,
}

impl UserCq {
    fn entries() -> RingEntries {
        RingEntries::constant(CQ_ENTRIES)
    }

    /// The free-running index of completion `n`.
    fn index(n: u32) -> u32 {
        queue::initial_index(Self::entries()).wrapping_add(n)
    }

    /// Completion `n` (first pass), if the device wrote it.
    fn cqe(&self, n: u32) -> Result<Option<Cqe>> {
        let mut b = [0u8; 64];
        user_read(
            (self.ring + 64 * u64::from(Self::entries().slot(Self::index(n)))) as usize,
            &mut b,
        )?;
        let cqe = Cqe::from_bytes_copy(&b).ok_or(EINVAL)?;
        let owner = queue::owner_bits(Self::index(n), Self::entries());
        Ok((cqe.info.owner_bits().get() == owner).then_some(cqe))
    }

    /// Consumes every completion written so far; returns how many there were.
    fn consume(&mut self) -> Result<u32> {
        let mut n = 0;
        while self.cqe(self.consumed)?.is_some() {
            self.consumed += 1;
            n += 1;
        }
        Ok(n)
    }

    /// The arm doorbell (`ibv_req_notify_cq()`): consumed so far, interrupt on the next.
    fn arm_doorbell(&self) -> Result<u64> {
        let tail = queue::cq_doorbell_tail(Self::index(self.consumed), Self::entries());
        Ok(CqDoorbell::new(self.cq_id, tail, true)?.into_raw())
    }
}

/// Creates a CQ of [`CQ_ENTRIES`] on `vector` whose events go to a channel of its own.
fn create_cq(ctx: &mut UserContext<'_, ManaIb>, bufs: &mut Buffers, vector: u32) -> Result<UserCq> {
    let ring = bufs.take(u64::from(CQ_ENTRIES) * 64)?;
    let req = CreateCq {
        buf_addr: ring,
        comp_mask: 0,
        reserved0: 0,
        reserved1: 0,
    };
    let mut resp = [0u8; size_of::<CreateCqResp>()];
    let channel = CompChannel::new()?;
    let id = ctx.create_cq_with_channel(CQ_ENTRIES, vector, &channel, bytes_of(&req), &mut resp)?;
    Ok(UserCq {
        id,
        channel,
        ring,
        cq_id: u32::MAX,
        consumed: 0,
    })
}

/// A RAW_PACKET send QP as DPDK drives it: its send queue in user memory.
struct UserSq {
    qp: ObjId,
    ring: u64,
    sq_id: u32,
    vp_offset: u32,
    /// Bytes posted (the SQ doorbell's tail).
    tail: u32,
}

const SQ_BYTES: u32 = 4 * PAGE as u32;

/// Creates a send QP on port 1 completing on `cq`, and learns the CQ's id from the response
/// (as libmana does).
fn create_sq(
    ctx: &mut UserContext<'_, ManaIb>,
    bufs: &mut Buffers,
    pd: ObjId,
    cq: &mut UserCq,
) -> Result<UserSq> {
    let ring = bufs.take(u64::from(SQ_BYTES))?;
    let req = CreateQp {
        sq_buf_addr: ring,
        sq_buf_size: SQ_BYTES,
        port: 1,
    };
    let mut resp = [0u8; size_of::<CreateQpResp>()];
    let qp = ctx.create_qp(pd, raw_caps(1, cq.id), bytes_of(&req), &mut resp)?;
    let resp = CreateQpResp::from_bytes_copy(&resp).ok_or(EINVAL)?;
    cq.cq_id = resp.cqid;
    Ok(UserSq {
        qp,
        ring,
        sq_id: resp.sqid,
        vp_offset: resp.tx_vp_offset,
        tail: 0,
    })
}

/// What user space of one port has: its adapter, doorbell page, MR and frame buffer.
struct Port<'a> {
    sw: &'a SwAdapter,
    page: u32,
    lkey: u32,
    /// The frame to send, in the MR.
    frame: u64,
}

impl Port<'_> {
    /// Posts one send WQE of a 60-byte frame on `sq` (short OOB naming `cq`) and rings the SQ
    /// doorbell.
    fn send(&self, sq: &mut UserSq, cq: &UserCq) -> Result {
        let mut wqe = [0u8; 32];
        wqe[..8].copy_from_slice(WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)?.as_bytes());
        let mut oob = TxShortOob::zeroed();
        oob.word0 = oob.word0.try_with_vcq_num(cq.cq_id)?;
        oob.word1 = oob.word1.try_with_short_vp_offset(sq.vp_offset)?;
        wqe[8..16].copy_from_slice(oob.as_bytes());
        let sge = Sge {
            address: self.frame,
            mem_key: self.lkey,
            size: 60,
        };
        wqe[16..32].copy_from_slice(sge.as_bytes());
        user_write((sq.ring + u64::from(sq.tail % SQ_BYTES)) as usize, &wqe)?;
        sq.tail = sq.tail.wrapping_add(32);
        let db = SqDoorbell::new(sq.sq_id, sq.tail)?;
        self.sw
            .ring_user_doorbell(self.page, queue_type::SQ, db.into_raw())
    }

    /// Arms `cq` through the doorbell page (`ibv_req_notify_cq()`).
    fn arm(&self, cq: &UserCq) -> Result {
        self.sw
            .ring_user_doorbell(self.page, queue_type::CQ, cq.arm_doorbell()?)
    }

    /// Arms `cq`, sends once on `sq` and waits for the event: every event the device raised
    /// before on the same EQ has been reported once this returns. `ETIMEDOUT` (with what the
    /// device counted in the log) if it does not come.
    fn barrier(&self, sq: &mut UserSq, cq: &mut UserCq) -> Result {
        cq.consume()?;
        let before = cq.channel.events();
        self.arm(cq)?;
        self.send(sq, cq)?;
        self.wait_events(cq, before + 1)
    }

    /// Waits until `cq` has had `n` events; `ETIMEDOUT` (with what the device counted in the
    /// log) if they do not come.
    fn wait_events(&self, cq: &UserCq, n: u32) -> Result {
        if wait_for(|| cq.channel.events() >= n) {
            return Ok(());
        }
        pr_err!(
            "CQ {}: {} events, {} expected; the device counted {:?}\n",
            cq.cq_id,
            cq.channel.events(),
            n,
            self.sw.device_stats().datapath
        );
        Err(ETIMEDOUT)
    }
}

/// Sets up user space on port 1 of `sw`: a PD, an MR over a page holding a frame.
fn port<'a>(
    sw: &'a SwAdapter,
    ctx: &mut UserContext<'_, ManaIb>,
    bufs: &mut Buffers,
) -> Result<(Port<'a>, ObjId)> {
    let (pd, _) = alloc_pd(ctx)?;
    let mem = bufs.take(PAGE)?;
    let mut frame = [0u8; 60];
    frame[..6].copy_from_slice(&[0xff; 6]);
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    user_write(mem as usize, &frame)?;
    let mr = ctx.reg_user_mr(pd, mr_args(mem, PAGE, LOCAL_WRITE), &[], &mut [])?;
    let lkey = ctx.mr_lkey(mr)?;
    Ok((
        Port {
            sw,
            page: 0,
            lkey,
            frame: mem,
        },
        pd,
    ))
}

/// The doorbell page the device transmits for on vport `vport`: the owning context's.
fn owner_page(sw: &SwAdapter, vport: u32) -> Result<u32> {
    Ok(sw
        .vport_programming(vport)
        .ok_or(EINVAL)?
        .tx
        .ok_or(EINVAL)?
        .1)
}

#[kunit_tests(mana_rs_rdma_events)]
mod events {
    use super::*;

    /// An armed CQ gets exactly one event per arm after a completion, through the PD's EQ and
    /// its interrupt; an unarmed one gets none; arming over completions not consumed raises
    /// the event at once; the event names the CQ.
    #[test]
    fn one_event_per_arm() -> Result {
        let (sw, reg) = setup(2)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (mut port, pd) = port(&sw, &mut ctx, &mut bufs)?;
        let mut a = create_cq(&mut ctx, &mut bufs, 0)?;
        let mut sq_a = create_sq(&mut ctx, &mut bufs, pd, &mut a)?;
        // A second CQ on the same EQ (same PD and vector) marks the end of A's events.
        let mut b = create_cq(&mut ctx, &mut bufs, 0)?;
        let mut sq_b = create_sq(&mut ctx, &mut bufs, pd, &mut b)?;
        port.page = owner_page(&sw, 0)?;
        // The QP holds the CQ (as its send and its receive CQ), and so does its entry in the
        // EQ's table.
        assert_eq!(ctx.usecnt(a.id)?, 3);

        // Not armed: completions, no event.
        for _ in 0..3 {
            port.send(&mut sq_a, &a)?;
        }
        assert!(wait_for(|| sw
            .queue_stats(true, sq_a.sq_id)
            .is_some_and(|s| s.packets == 3)));
        port.barrier(&mut sq_b, &mut b)?;
        assert_eq!(a.consume()?, 3);
        assert_eq!(a.channel.events(), 0);

        // Armed: one event for the next completion, naming A.
        port.arm(&a)?;
        port.send(&mut sq_a, &a)?;
        port.wait_events(&a, 1)?;
        assert_ne!(a.channel.last_cq(), 0);
        assert_ne!(a.channel.last_cq(), b.channel.last_cq());
        let cqe = a.cqe(3)?.ok_or(EINVAL)?;
        let oob =
            TxCompOob::from_bytes_copy(&cqe.as_bytes()[..size_of::<TxCompOob>()]).ok_or(EINVAL)?;
        assert_eq!(oob.cqe_hdr.cqe_type().get(), cqe_type::TX_OKAY);
        // The event disarmed it: more completions, no more events.
        port.send(&mut sq_a, &a)?;
        port.send(&mut sq_a, &a)?;
        port.barrier(&mut sq_b, &mut b)?;
        assert_eq!(a.channel.events(), 1);

        // Armed again with completions it has not consumed (a poll that stopped early):
        // the event comes at once, without another completion.
        a.consumed += 1;
        port.arm(&a)?;
        port.wait_events(&a, 2)?;
        // Everything consumed, armed: one event for one completion, and only one.
        a.consume()?;
        port.arm(&a)?;
        port.send(&mut sq_a, &a)?;
        port.wait_events(&a, 3)?;
        port.send(&mut sq_a, &a)?;
        port.barrier(&mut sq_b, &mut b)?;
        assert_eq!(a.channel.events(), 3);

        let s = sw.device_stats();
        assert_eq!(
            (
                s.datapath.key_faults,
                s.datapath.wqe_faults,
                s.datapath.foreign_doorbells
            ),
            (0, 0, 0)
        );
        // The QP gone, its CQ is the user's alone again.
        ctx.destroy(sq_a.qp)?;
        assert_eq!(ctx.usecnt(a.id)?, 0);
        ctx.destroy(a.id)?;
        ctx.close()?;
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// A CQ armed on a page that is not its owner's stays unarmed: no event.
    #[test]
    fn arming_on_a_foreign_page_raises_nothing() -> Result {
        let (sw, reg) = setup(2)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (mut port, pd) = port(&sw, &mut ctx, &mut bufs)?;
        let mut a = create_cq(&mut ctx, &mut bufs, 0)?;
        let mut sq_a = create_sq(&mut ctx, &mut bufs, pd, &mut a)?;
        let mut b = create_cq(&mut ctx, &mut bufs, 0)?;
        let mut sq_b = create_sq(&mut ctx, &mut bufs, pd, &mut b)?;
        let own = owner_page(&sw, 0)?;
        // Another context's page.
        let other = open(&sw, &reg)?;
        port.page = own + 1;
        port.arm(&a)?;
        port.page = own;
        port.send(&mut sq_a, &a)?;
        port.barrier(&mut sq_b, &mut b)?;
        assert_eq!(a.channel.events(), 0);
        assert!(sw.device_stats().datapath.foreign_doorbells >= 1);
        drop(other);
        ctx.close()?;
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// Many CQs over several EQs (completion vectors), each with its own channel: each armed
    /// CQ gets its own event, and only its own.
    #[test]
    fn many_cqs_each_get_their_own_event() -> Result {
        const N: usize = 14;
        let (sw, reg) = setup(2)?;
        let mut bufs = Buffers::new(160)?;
        let mut ctx = open(&sw, &reg)?;
        let (mut port, pd) = port(&sw, &mut ctx, &mut bufs)?;
        let mut cqs = KVec::with_capacity(N, GFP_KERNEL)?;
        let mut sqs = KVec::with_capacity(N, GFP_KERNEL)?;
        for i in 0..N {
            // Ten on vector 0 (its EQ's table grows), the others one vector each.
            let vector = if i < 10 { 0 } else { (i - 9) as u32 };
            let mut cq = create_cq(&mut ctx, &mut bufs, vector)?;
            sqs.push(create_sq(&mut ctx, &mut bufs, pd, &mut cq)?, GFP_KERNEL)?;
            cqs.push(cq, GFP_KERNEL)?;
        }
        port.page = owner_page(&sw, 0)?;
        // Every other CQ armed, then one completion on each.
        for (i, cq) in cqs.iter().enumerate() {
            if i % 2 == 0 {
                port.arm(cq)?;
            }
        }
        for (sq, cq) in sqs.iter_mut().zip(cqs.iter()) {
            port.send(sq, cq)?;
        }
        for (i, cq) in cqs.iter().enumerate() {
            if i % 2 == 0 {
                port.wait_events(cq, 1)?;
            }
        }
        // The odd ones: none, once an event caused later on each EQ came in.
        for i in [0usize, 11, 13] {
            let (cq, sq) = (&mut cqs[i], &mut sqs[i]);
            port.barrier(sq, cq)?;
        }
        for (i, cq) in cqs.iter().enumerate() {
            let expected = match i {
                0 => 2,
                _ if i % 2 == 0 => 1,
                11 | 13 => 1,
                _ => 0,
            };
            assert_eq!(cq.channel.events(), expected);
        }
        // Each channel saw its own CQ.
        for (i, a) in cqs.iter().enumerate() {
            for b in cqs.iter().skip(i + 1) {
                if a.channel.events() > 0 && b.channel.events() > 0 {
                    assert_ne!(a.channel.last_cq(), b.channel.last_cq());
                }
            }
        }
        // Half the QPs go; the others still get their events.
        for sq in sqs.iter().step_by(2) {
            ctx.destroy(sq.qp)?;
        }
        for (i, (sq, cq)) in sqs.iter_mut().zip(cqs.iter_mut()).enumerate() {
            if i % 2 == 1 {
                port.barrier(sq, cq)?;
            }
        }
        ctx.close()?;
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// QPs destroyed while their CQs' events come in, over and over, and a context closed
    /// with events in flight: every CQ's count goes back to zero, nothing is left, and no
    /// CQ gets more events than it was armed.
    #[test]
    fn destroy_while_events_arrive() -> Result {
        const ROUNDS: u32 = 20;
        let (sw, reg) = setup(2)?;
        let mut bufs = Buffers::new(256)?;
        let mut ctx = open(&sw, &reg)?;
        let (mut port, pd) = port(&sw, &mut ctx, &mut bufs)?;
        let mut a = create_cq(&mut ctx, &mut bufs, 0)?;
        let mut arms = 0;
        for round in 0..ROUNDS {
            let mut sq = create_sq(&mut ctx, &mut bufs, pd, &mut a)?;
            port.page = owner_page(&sw, 0)?;
            // A fresh device CQ: nothing consumed.
            a.consumed = 0;
            port.arm(&a)?;
            arms += 1;
            for _ in 0..=(round % 4) {
                port.send(&mut sq, &a)?;
            }
            // Destroyed at once: the event may come before, during or after.
            ctx.destroy(sq.qp)?;
            assert_eq!(ctx.usecnt(a.id)?, 0);
            // The CQ's ring is the user's again; a new QP's CQ starts on a clean ring.
            user_write(a.ring as usize, &[0u8; CQ_ENTRIES as usize * 64])?;
        }
        assert!(a.channel.events() <= arms);

        // A context closed with armed CQs and completions in flight.
        let mut c = create_cq(&mut ctx, &mut bufs, 0)?;
        let mut sq = create_sq(&mut ctx, &mut bufs, pd, &mut c)?;
        port.page = owner_page(&sw, 0)?;
        port.arm(&c)?;
        for _ in 0..8 {
            port.send(&mut sq, &c)?;
        }
        ctx.close()?;
        assert!(c.channel.events() <= 1);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// The receive side: frames from the linked port (sent by another context's RAW QP on
    /// port 2) land in an RSS QP's receive queue, and the armed receive CQ gets its event.
    #[test]
    fn receive_events_from_the_linked_port() -> Result {
        let (sw, reg) = setup(2)?;
        let mut bufs = Buffers::new(96)?;
        // Receiver: context 1 on port 1, one WQ behind an RSS QP.
        let mut rx = open(&sw, &reg)?;
        let (rx_port, rx_pd) = port(&sw, &mut rx, &mut bufs)?;
        let mut rcq = create_cq(&mut rx, &mut bufs, 0)?;
        let wq_ring = bufs.take(4 * PAGE)?;
        let req = CreateWq {
            wq_buf_addr: wq_ring,
            wq_buf_size: 4 * PAGE as u32,
            reserved: 0,
        };
        let wq = rx.create_wq(rx_pd, rcq.id, 64, 1, bytes_of(&req), &mut [])?;
        let table = rx.create_rwq_ind_table(&[wq])?;
        let (rss, resp) = create_rss_qp(&mut rx, rx_pd, table, &rss_req(1))?;
        rcq.cq_id = resp.entries[0].cqid;
        let wq_id = resp.entries[0].wqid;
        let rx_page = owner_page(&sw, 0)?;

        // Sender: context 2 on port 2 (vport 1, linked to vport 0).
        let mut tx = open(&sw, &reg)?;
        let (mut tx_port, tx_pd) = port(&sw, &mut tx, &mut bufs)?;
        let mut scq = create_cq(&mut tx, &mut bufs, 0)?;
        let ring = bufs.take(u64::from(SQ_BYTES))?;
        let req = CreateQp {
            sq_buf_addr: ring,
            sq_buf_size: SQ_BYTES,
            port: 2,
        };
        let mut qresp = [0u8; size_of::<CreateQpResp>()];
        let qp = tx.create_qp(tx_pd, raw_caps(2, scq.id), bytes_of(&req), &mut qresp)?;
        let qresp = CreateQpResp::from_bytes_copy(&qresp).ok_or(EINVAL)?;
        scq.cq_id = qresp.cqid;
        let mut sq = UserSq {
            qp,
            ring,
            sq_id: qresp.sqid,
            vp_offset: qresp.tx_vp_offset,
            tail: 0,
        };
        tx_port.page = owner_page(&sw, 1)?;

        // The receiver posts a buffer (in its MR) and arms its CQ, as DPDK's rx_intr_enable.
        let mut wqe = [0u8; 32];
        wqe[..8].copy_from_slice(WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)?.as_bytes());
        let sge = Sge {
            address: rx_port.frame,
            mem_key: rx_port.lkey,
            size: 2048,
        };
        wqe[16..32].copy_from_slice(sge.as_bytes());
        user_write(wq_ring as usize, &wqe)?;
        let db = RqDoorbell::new(wq_id, 32)?;
        sw.ring_user_doorbell(rx_page, queue_type::RQ, db.into_raw())?;
        sw.ring_user_doorbell(rx_page, queue_type::CQ, rcq.arm_doorbell()?)?;

        tx_port.send(&mut sq, &scq)?;
        rx_port.wait_events(&rcq, 1)?;
        assert!(rcq.cqe(0)?.is_some());
        assert_eq!(sw.queue_stats(false, wq_id).map(|s| s.packets), Some(1));
        // The sender's CQ was never armed.
        assert_eq!(scq.channel.events(), 0);

        tx.close()?;
        rx.destroy(rss)?;
        rx.close()?;
        assert!(nothing_left(&sw));
        Ok(())
    }
}
