// SPDX-License-Identifier: GPL-2.0-only

//! KUnit tests of the verbs of `manae_<N>` on software adapters, through the driver's uverbs
//! entry points with kernel-made user contexts and udata in the test's own user memory
//! ([`kernel::rdma::testing`]): the DPDK sequence, ownership of the vport in both directions,
//! bad requests, destroy orders and context teardown, each checked against what the software
//! device holds afterwards.

use kernel::{
    bindings,
    prelude::*,
    rdma::{
        testing::{
            user_mem,
            ObjId,
            QpAttr,
            UserContext, //
        },
        Qp,
        Registration,
        UserMrArgs, //
    },
    str::CString,
    transmute::{
        AsBytes,
        FromBytes, //
    },
};

use mana_gdma::{
    shared_vport::VportTx,
    sw::{
        SwAdapter,
        SwConfig, //
    },
    wire::{
        abi::{
            AllocPd,
            AllocPdResp,
            AllocUcontextResp,
            CreateCq,
            CreateCqResp,
            CreateQp,
            CreateQpResp,
            CreateQpRss,
            CreateQpRssResp,
            CreateWq,
            MANA_IB_RX_HASH_FUNC_TOEPLITZ,
            MANA_IB_UCNTX_ALLOC_PDN_SUPPORT,
            RSS_KEY_LEN, //
        },
        gdma_msgs::code,
        mana_msgs,
    },
};

use crate::{
    device::{
        self,
        ManaIb, //
    },
    verbs::IbQp,
};

pub(crate) const PAGE: u64 = 4096;
pub(crate) const RAW_PACKET: u32 = bindings::ib_qp_type_IB_QPT_RAW_PACKET;

/// A software adapter with `ports` vports, no clients, and its registered `manae` device.
pub(crate) fn setup(ports: u32) -> Result<(SwAdapter, Registration<'static, ManaIb>)> {
    let sw = SwAdapter::new(
        SwConfig {
            num_ports: ports,
            ..SwConfig::default()
        },
        false,
    )?;
    let reg = device::register(&sw.adapter(), None)?;
    Ok((sw, reg))
}

/// User memory for queue buffers: `pages` pages, page aligned.
pub(crate) struct Buffers {
    next: u64,
    end: u64,
}

impl Buffers {
    pub(crate) fn new(pages: usize) -> Result<Self> {
        let base = user_mem(pages * PAGE as usize)? as u64;
        Ok(Self {
            next: base,
            end: base + pages as u64 * PAGE,
        })
    }

    pub(crate) fn take(&mut self, bytes: u64) -> Result<u64> {
        let addr = self.next;
        if addr + bytes > self.end {
            return Err(ENOMEM);
        }
        self.next += bytes;
        Ok(addr)
    }
}

pub(crate) fn bytes_of<T: AsBytes>(v: &T) -> &[u8] {
    v.as_bytes()
}

pub(crate) fn from_bytes<T: FromBytes>(b: &[u8]) -> Result<T> {
    T::from_bytes_copy(b).ok_or(EINVAL)
}

/// Opens a user context; checks the response and that a doorbell page was allocated.
pub(crate) fn open<'a>(
    sw: &SwAdapter,
    reg: &'a Registration<'static, ManaIb>,
) -> Result<UserContext<'a, ManaIb>> {
    let before = sw.device_stats().live_doorbells;
    let mut resp = [0u8; size_of::<AllocUcontextResp>()];
    let ctx = UserContext::open(reg, &[], &mut resp)?;
    let resp: AllocUcontextResp = from_bytes(&resp)?;
    assert_eq!(resp.comp_mask, MANA_IB_UCNTX_ALLOC_PDN_SUPPORT);
    assert_eq!(sw.device_stats().live_doorbells, before + 1);
    Ok(ctx)
}

pub(crate) fn alloc_pd(ctx: &mut UserContext<'_, ManaIb>) -> Result<(ObjId, u32)> {
    let req = AllocPd {
        comp_mask: 0,
        reserved: 0,
    };
    let mut resp = [0u8; size_of::<AllocPdResp>()];
    let pd = ctx.alloc_pd(bytes_of(&req), &mut resp)?;
    let resp: AllocPdResp = from_bytes(&resp)?;
    Ok((pd, resp.pdn))
}

fn create_cq(ctx: &mut UserContext<'_, ManaIb>, bufs: &mut Buffers, cqe: u32) -> Result<ObjId> {
    let req = CreateCq {
        buf_addr: bufs.take(u64::from(cqe) * 64)?,
        comp_mask: 0,
        reserved0: 0,
        reserved1: 0,
    };
    let mut resp = [0u8; size_of::<CreateCqResp>()];
    ctx.create_cq(cqe, 0, bytes_of(&req), &mut resp)
}

pub(crate) fn create_wq(
    ctx: &mut UserContext<'_, ManaIb>,
    bufs: &mut Buffers,
    pd: ObjId,
    cq: ObjId,
    bytes: u32,
) -> Result<ObjId> {
    let req = CreateWq {
        wq_buf_addr: bufs.take(u64::from(bytes))?,
        wq_buf_size: bytes,
        reserved: 0,
    };
    ctx.create_wq(pd, cq, 64, 1, bytes_of(&req), &mut [])
}

pub(crate) fn raw_caps(port: u32, cq: ObjId) -> QpAttr {
    QpAttr {
        send_cq: Some(cq),
        recv_cq: Some(cq),
        qp_type: RAW_PACKET,
        port,
        max_send_wr: 256,
        max_send_sge: 4,
        ..QpAttr::default()
    }
}

/// Creates a RAW_PACKET send QP on `port` the way libmana does; returns it and the response.
fn create_raw_qp(
    ctx: &mut UserContext<'_, ManaIb>,
    bufs: &mut Buffers,
    pd: ObjId,
    cq: ObjId,
    port: u32,
) -> Result<(ObjId, CreateQpResp)> {
    let req = CreateQp {
        sq_buf_addr: bufs.take(4 * PAGE)?,
        sq_buf_size: 4 * PAGE as u32,
        port,
    };
    let mut resp = [0u8; size_of::<CreateQpResp>()];
    let qp = ctx.create_qp(pd, raw_caps(port, cq), bytes_of(&req), &mut resp)?;
    Ok((qp, from_bytes(&resp)?))
}

/// An MR of `length` bytes at `start`, accessed at the same address.
pub(crate) fn mr_args(start: u64, length: u64, access: i32) -> UserMrArgs {
    UserMrArgs {
        start,
        length,
        iova: start,
        access,
    }
}

pub(crate) fn rss_req(port: u32) -> CreateQpRss {
    CreateQpRss {
        rx_hash_fields_mask: 0x3f,
        rx_hash_function: MANA_IB_RX_HASH_FUNC_TOEPLITZ,
        reserved: [0; 7],
        rx_hash_key_len: RSS_KEY_LEN as u32,
        rx_hash_key: [0x6d; RSS_KEY_LEN],
        port,
    }
}

/// Creates an RSS QP over `table` with request `req`.
pub(crate) fn create_rss_qp(
    ctx: &mut UserContext<'_, ManaIb>,
    pd: ObjId,
    table: ObjId,
    req: &CreateQpRss,
) -> Result<(ObjId, CreateQpRssResp)> {
    let caps = QpAttr {
        rwq_ind_table: Some(table),
        qp_type: RAW_PACKET,
        port: req.port,
        max_recv_wr: 64,
        max_recv_sge: 1,
        ..QpAttr::default()
    };
    let mut resp = KVec::from_elem(0u8, size_of::<CreateQpRssResp>(), GFP_KERNEL)?;
    let qp = ctx.create_qp(pd, caps, bytes_of(req), &mut resp)?;
    Ok((qp, from_bytes(&resp)?))
}

fn owner(sw: &SwAdapter, vport: u32) -> Result<CString> {
    let adapter = sw.adapter();
    let v = adapter.vports().get(vport)?;
    v.with_owner(|o| CString::try_from_fmt(fmt!("{}", o)))
}

fn owner_is(sw: &SwAdapter, vport: u32, expected: &str) -> bool {
    owner(sw, vport).is_ok_and(|s| s.to_bytes() == expected.as_bytes())
}

/// The driver data of QP `id`.
pub(crate) fn qp_data<'a>(ctx: &'a UserContext<'_, ManaIb>, id: ObjId) -> Result<&'a IbQp> {
    let raw = ctx.qp_raw(id)?;
    // SAFETY: `raw` is a live QP of this context's `manae` device, alive while `ctx` is
    // borrowed (only `ctx` destroys it).
    let qp = unsafe { Qp::<ManaIb>::from_raw(raw) };
    Ok(qp.data().get_ref())
}

/// Nothing of the RDMA device is left on the adapter: no queue, region, EQ, PD, MR, doorbell
/// page; no protocol error seen.
pub(crate) fn nothing_left(sw: &SwAdapter) -> bool {
    let s = sw.device_stats();
    (
        s.live_wq_objs,
        s.live_regions,
        s.live_eqs,
        s.live_pds,
        s.live_mrs,
        s.live_doorbells,
        s.protocol_errors,
    ) == (0, 0, 0, 0, 0, 0, 0)
}

#[kunit_tests(mana_rs_rdma_verbs)]
mod verbs {
    use super::*;

    /// What DPDK's MANA PMD does on `rte_eth_dev_start()` and `stop()`, against the device.
    #[test]
    fn dpdk_sequence_against_the_software_device() -> Result {
        let (sw, reg) = setup(1)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, pdn) = alloc_pd(&mut ctx)?;

        // TX: one CQ and one RAW_PACKET QP per queue.
        let mut tx = KVec::new();
        for _ in 0..2 {
            let cq = create_cq(&mut ctx, &mut bufs, 256)?;
            let (qp, resp) = create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1)?;
            assert_ne!(resp.sqid, resp.cqid);
            let ids = qp_data(&ctx, qp)?.queue_ids();
            assert_eq!(ids[0], (resp.sqid, resp.cqid));
            tx.push((cq, qp), GFP_KERNEL)?;
        }
        // The PD owns the vport; the device transmits for the PD through the context's
        // doorbell page.
        let expected = CString::try_from_fmt(fmt!("rdma pd {} qps 2", pdn))?;
        assert_eq!(owner(&sw, 0)?.to_bytes(), expected.to_bytes());
        let prog = sw.vport_programming(0).ok_or(EINVAL)?;
        assert_eq!(prog.tx.map(|t| t.0), Some(pdn));
        assert!(prog.tx.is_some_and(|t| t.1 >= 2));

        // RX: a CQ and a WQ per queue, an indirection table, one RSS QP.
        let mut wqs = KVec::new();
        let mut rx_cqs = KVec::new();
        for _ in 0..4 {
            let cq = create_cq(&mut ctx, &mut bufs, 256)?;
            wqs.push(
                create_wq(&mut ctx, &mut bufs, pd, cq, 4 * PAGE as u32)?,
                GFP_KERNEL,
            )?;
            rx_cqs.push(cq, GFP_KERNEL)?;
        }
        let table = ctx.create_rwq_ind_table(&wqs)?;
        let (rss, resp) = create_rss_qp(&mut ctx, pd, table, &rss_req(1))?;
        assert_eq!(resp.num_entries, 4);
        let ids = qp_data(&ctx, rss)?.queue_ids();
        for (i, (wq, cq)) in ids.iter().enumerate() {
            assert_eq!((resp.entries[i].wqid, resp.entries[i].cqid), (*wq, *cq));
        }
        assert!(sw.vport_programming(0).ok_or(EINVAL)?.rx_enabled);
        let s = sw.device_stats();
        assert_eq!(s.live_wq_objs, 2 + 4);
        assert_eq!(s.count(mana_msgs::code::CONFIG_VPORT_TX), 1);
        let expected = CString::try_from_fmt(fmt!("rdma pd {} qps 3", pdn))?;
        assert_eq!(owner(&sw, 0)?.to_bytes(), expected.to_bytes());

        // Stop: RX first, then TX, as the PMD tears down.
        ctx.destroy(rss)?;
        assert!(!sw.vport_programming(0).ok_or(EINVAL)?.rx_enabled);
        ctx.destroy(table)?;
        for wq in wqs.iter() {
            ctx.destroy(*wq)?;
        }
        for cq in rx_cqs.iter() {
            ctx.destroy(*cq)?;
        }
        for (cq, qp) in tx.iter() {
            ctx.destroy(*qp)?;
            ctx.destroy(*cq)?;
        }
        assert!(owner_is(&sw, 0, "free"));
        ctx.destroy(pd)?;
        assert_eq!(ctx.live_objects(), 0);
        ctx.close()?;
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// An MR as large as the ones DPDK registers for its mbuf pools (8 MiB and more): more
    /// pages than one CREATE_DMA_REGION carries, the rest in DMA_REGION_ADD_PAGES.
    #[test]
    fn large_mrs_as_dpdk_registers_them() -> Result {
        let (sw, reg) = setup(1)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        // 504 pages in the create, 3 * 505 + 81 in four ADD_PAGES.
        let pages = 2100u64;
        let mem = user_mem((pages * PAGE) as usize)? as u64;
        for zero_based in [false, true] {
            let access = 1 | if zero_based { 1 << 5 } else { 0 };
            let before = sw.device_stats().count(code::DMA_REGION_ADD_PAGES);
            let mr = ctx.reg_user_mr(pd, mr_args(mem, pages * PAGE, access), &[], &mut [])?;
            let s = sw.device_stats();
            assert_eq!((s.live_mrs, s.live_regions), (1, 0));
            assert_eq!(s.count(code::DMA_REGION_ADD_PAGES), before + 4);
            ctx.destroy(mr)?;
        }
        ctx.destroy(pd)?;
        ctx.close()?;
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// The ownership rule from both sides, with nothing left behind by a refused create.
    #[test]
    fn ebusy_in_both_directions() -> Result {
        let (sw, reg) = setup(1)?;
        let caps = *sw.adapter().caps();
        let eth_tx = VportTx {
            pd: caps.pdid,
            doorbell: caps.doorbell,
        };
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let rx_cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let wq = create_wq(&mut ctx, &mut bufs, pd, rx_cq, 4 * PAGE as u32)?;
        let table = ctx.create_rwq_ind_table(&[wq])?;

        // The netdev is up: RAW and RSS QPs get EBUSY, the refusal is logged.
        let eth = sw.adapter().vports().take_ethernet(0, c"eth0", eth_tx)?;
        let vport = sw.adapter().vports().get(0)?.clone();
        let refusals = vport.refusals();
        assert_eq!(
            create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1).err(),
            Some(EBUSY)
        );
        assert_eq!(
            create_rss_qp(&mut ctx, pd, table, &rss_req(1)).err(),
            Some(EBUSY)
        );
        assert_eq!(vport.refusals(), refusals + 2);
        assert!(owner_is(&sw, 0, "ethernet eth0"));
        let s = sw.device_stats();
        assert_eq!((s.live_wq_objs, s.live_regions, s.live_eqs), (0, 0, 0));
        assert_eq!(s.count(mana_msgs::code::CONFIG_VPORT_TX), 1);
        drop(eth);

        // `ip link set down` done: the QP is created; now the netdev gets EBUSY.
        let (qp, _) = create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1)?;
        assert_eq!(
            sw.adapter()
                .vports()
                .take_ethernet(0, c"eth0", eth_tx)
                .err(),
            Some(EBUSY)
        );
        ctx.destroy(qp)?;
        // The QP is gone: the netdev may have the vport again.
        let eth = sw.adapter().vports().take_ethernet(0, c"eth0", eth_tx)?;
        drop(eth);
        drop(ctx);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// One port per PD, one owner PD per vport, one RSS QP per vport.
    #[test]
    fn pds_ports_and_rss_limits() -> Result {
        let (sw, reg) = setup(2)?;
        let mut bufs = Buffers::new(128)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let (pd2, _) = alloc_pd(&mut ctx)?;
        let cqs = [
            create_cq(&mut ctx, &mut bufs, 256)?,
            create_cq(&mut ctx, &mut bufs, 256)?,
            create_cq(&mut ctx, &mut bufs, 256)?,
        ];
        let (qp, _) = create_raw_qp(&mut ctx, &mut bufs, pd, cqs[0], 1)?;
        // Another PD on the same port: the vport is taken.
        assert_eq!(
            create_raw_qp(&mut ctx, &mut bufs, pd2, cqs[1], 1).err(),
            Some(EBUSY)
        );
        // The same PD on the other port: a PD serves one port.
        assert_eq!(
            create_raw_qp(&mut ctx, &mut bufs, pd, cqs[1], 2).err(),
            Some(EINVAL)
        );
        // The other PD on the other port is fine.
        let (qp2, _) = create_raw_qp(&mut ctx, &mut bufs, pd2, cqs[1], 2)?;
        // A send CQ serves one queue.
        assert_eq!(
            create_raw_qp(&mut ctx, &mut bufs, pd, cqs[0], 1).err(),
            Some(EINVAL)
        );

        // A second RSS QP on the vport is EBUSY; a WQ serves one RSS QP.
        let rx_cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let rx_cq2 = create_cq(&mut ctx, &mut bufs, 256)?;
        let wq = create_wq(&mut ctx, &mut bufs, pd, rx_cq, 4 * PAGE as u32)?;
        let wq2 = create_wq(&mut ctx, &mut bufs, pd, rx_cq2, 4 * PAGE as u32)?;
        let table = ctx.create_rwq_ind_table(&[wq])?;
        let table2 = ctx.create_rwq_ind_table(&[wq2])?;
        let (rss, _) = create_rss_qp(&mut ctx, pd, table, &rss_req(1))?;
        assert_eq!(
            create_rss_qp(&mut ctx, pd, table2, &rss_req(1)).err(),
            Some(EBUSY)
        );
        // The same WQ twice in one table.
        let dup = ctx.create_rwq_ind_table(&[wq2, wq2])?;
        ctx.destroy(rss)?;
        assert_eq!(
            create_rss_qp(&mut ctx, pd, dup, &rss_req(1)).err(),
            Some(EINVAL)
        );
        let s = sw.device_stats();
        assert_eq!(s.live_wq_objs, 2);
        assert_eq!(s.protocol_errors, 0);

        // Once the QP is gone its CQ serves another one.
        ctx.destroy(qp)?;
        let (qp, _) = create_raw_qp(&mut ctx, &mut bufs, pd, cqs[0], 1)?;
        ctx.destroy(qp)?;
        ctx.destroy(qp2)?;
        assert!(owner_is(&sw, 0, "free") && owner_is(&sw, 1, "free"));
        drop(ctx);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// Requests user space can get wrong: a clear errno each, and nothing left behind.
    #[test]
    fn bad_requests_get_an_errno_and_leak_nothing() -> Result {
        let (sw, reg) = setup(1)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let buf = bufs.take(4 * PAGE)?;
        let cq_req = |buf_addr, comp_mask| CreateCq {
            buf_addr,
            comp_mask,
            reserved0: 0,
            reserved1: 0,
        };
        let mut resp = [0u8; 8];

        // CQs: short, long with garbage, unknown or RNIC comp_mask, sizes.
        let good = cq_req(buf, 0);
        assert_eq!(
            ctx.create_cq(64, 0, &bytes_of(&good)[..4], &mut resp).err(),
            Some(EINVAL)
        );
        let mut long = [0u8; 24];
        long[..16].copy_from_slice(bytes_of(&good));
        long[20] = 1;
        assert_eq!(
            ctx.create_cq(64, 0, &long, &mut resp).err(),
            Some(EOPNOTSUPP)
        );
        for mask in [1u16, 2, 0x8000] {
            assert_eq!(
                ctx.create_cq(64, 0, bytes_of(&cq_req(buf, mask)), &mut resp)
                    .err(),
                Some(EOPNOTSUPP)
            );
        }
        for cqe in [0u32, 100, 1 << 20] {
            assert_eq!(
                ctx.create_cq(cqe, 0, bytes_of(&good), &mut resp).err(),
                Some(EINVAL)
            );
        }
        assert_eq!(
            ctx.create_cq(64, 0, bytes_of(&cq_req(buf + 8, 0)), &mut resp)
                .err(),
            Some(EINVAL)
        );
        // Memory that is not mapped.
        assert_eq!(
            ctx.create_cq(64, 0, bytes_of(&cq_req(0x1000, 0)), &mut resp)
                .err(),
            Some(EFAULT)
        );
        let cq = ctx.create_cq(64, 0, bytes_of(&good), &mut resp)?;

        // WQs: zero, unaligned or non power-of-two sizes.
        for size in [0u32, 5000, 4096 + 4096 * 2] {
            let req = CreateWq {
                wq_buf_addr: buf,
                wq_buf_size: size,
                reserved: 0,
            };
            assert_eq!(
                ctx.create_wq(pd, cq, 64, 1, bytes_of(&req), &mut []).err(),
                Some(EINVAL)
            );
        }

        // QPs: ports, sizes, SGEs, types, short requests.
        let sq = bufs.take(4 * PAGE)?;
        let qp_req = |port, size| CreateQp {
            sq_buf_addr: sq,
            sq_buf_size: size,
            port,
        };
        let mut qresp = [0u8; 16];
        for (port, size) in [(0u32, 16384u32), (2, 16384), (1, 0), (1, 3000)] {
            assert_eq!(
                ctx.create_qp(
                    pd,
                    raw_caps(port, cq),
                    bytes_of(&qp_req(port, size)),
                    &mut qresp
                )
                .err(),
                Some(EINVAL)
            );
        }
        let ok_req = qp_req(1, 16384);
        assert_eq!(
            ctx.create_qp(pd, raw_caps(1, cq), &bytes_of(&ok_req)[..12], &mut qresp)
                .err(),
            Some(EINVAL)
        );
        let mut caps = raw_caps(1, cq);
        caps.max_send_sge = 31;
        assert_eq!(
            ctx.create_qp(pd, caps, bytes_of(&ok_req), &mut qresp).err(),
            Some(EINVAL)
        );
        caps = raw_caps(1, cq);
        caps.qp_type = bindings::ib_qp_type_IB_QPT_UD;
        assert_eq!(
            ctx.create_qp(pd, caps, bytes_of(&ok_req), &mut qresp).err(),
            Some(EOPNOTSUPP)
        );

        // RSS: hash function, key length, hash fields, port.
        let rx_cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let wq = create_wq(&mut ctx, &mut bufs, pd, rx_cq, 4 * PAGE as u32)?;
        let table = ctx.create_rwq_ind_table(&[wq])?;
        let mut bad = rss_req(1);
        bad.rx_hash_function = 0;
        assert_eq!(create_rss_qp(&mut ctx, pd, table, &bad).err(), Some(EINVAL));
        for len in [0u32, 41, u32::MAX] {
            bad = rss_req(1);
            bad.rx_hash_key_len = len;
            assert_eq!(create_rss_qp(&mut ctx, pd, table, &bad).err(), Some(EINVAL));
        }
        bad = rss_req(1);
        bad.rx_hash_fields_mask = 1 << 40;
        assert_eq!(
            create_rss_qp(&mut ctx, pd, table, &bad).err(),
            Some(EOPNOTSUPP)
        );
        assert_eq!(
            create_rss_qp(&mut ctx, pd, table, &rss_req(3)).err(),
            Some(EINVAL)
        );

        // MRs: unknown access flags, unaligned addresses.
        let mr_mem = bufs.take(2 * PAGE)?;
        assert_eq!(
            ctx.reg_user_mr(pd, mr_args(mr_mem, 2 * PAGE, 1 << 15), &[], &mut [])
                .err(),
            Some(EINVAL)
        );
        assert_eq!(
            ctx.reg_user_mr(pd, mr_args(mr_mem + 8, PAGE, 1), &[], &mut [])
                .err(),
            Some(EINVAL)
        );
        let mr = ctx.reg_user_mr(pd, mr_args(mr_mem, 2 * PAGE, 1), &[], &mut [])?;
        assert_eq!(sw.device_stats().live_mrs, 1);
        // A PD with an MR cannot go.
        assert_eq!(ctx.destroy(pd).err(), Some(EBUSY));
        ctx.destroy(mr)?;

        // Nothing was created on the device by the refused requests.
        let s = sw.device_stats();
        assert_eq!(
            (s.live_wq_objs, s.live_regions, s.live_eqs, s.live_mrs),
            (0, 0, 0, 0)
        );
        // Every region was destroyed but the MR's, which the device destroyed with the MR.
        assert_eq!(
            s.count(code::CREATE_DMA_REGION),
            s.count(code::DESTROY_DMA_REGION) + 1
        );
        assert!(owner_is(&sw, 0, "free"));
        drop(ctx);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// Objects from another process's context are refused.
    #[test]
    fn objects_of_another_context_are_refused() -> Result {
        let (sw, reg) = setup(1)?;
        let mut bufs = Buffers::new(64)?;
        let mut a = open(&sw, &reg)?;
        let mut b = open(&sw, &reg)?;
        let (pd_a, _) = alloc_pd(&mut a)?;
        let (pd_b, _) = alloc_pd(&mut b)?;
        let cq_b = create_cq(&mut b, &mut bufs, 256)?;
        let wq_b = create_wq(&mut b, &mut bufs, pd_b, cq_b, 4 * PAGE as u32)?;
        // SAFETY: `wq_b` lives until `b` is dropped, after `a` (declared later, dropped
        // first), and `b` cannot destroy it while `a`'s table counts as its user.
        let table = unsafe { a.create_rwq_ind_table_raw(&[b.wq_raw(wq_b)?])? };
        assert_eq!(
            create_rss_qp(&mut a, pd_a, table, &rss_req(1)).err(),
            Some(EINVAL)
        );
        assert!(owner_is(&sw, 0, "free"));
        a.destroy(table)?;
        drop(a);
        drop(b);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// Destroying in the wrong order is refused by the core and changes nothing; closing a
    /// context with everything open cleans up the device and frees the vport.
    #[test]
    fn destroy_orders_and_teardown_with_everything_open() -> Result {
        let (sw, reg) = setup(1)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let (qp, _) = create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1)?;
        let rx_cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let wq = create_wq(&mut ctx, &mut bufs, pd, rx_cq, 4 * PAGE as u32)?;
        let table = ctx.create_rwq_ind_table(&[wq])?;
        let (rss, _) = create_rss_qp(&mut ctx, pd, table, &rss_req(1))?;
        let before = sw.device_stats();
        for busy in [cq, rx_cq, wq, table, pd] {
            assert_eq!(ctx.destroy(busy).err(), Some(EBUSY));
        }
        let after = sw.device_stats();
        assert_eq!(before.total_requests, after.total_requests);

        // The RAW QP goes first: the RSS QP keeps the vport and RX steering.
        ctx.destroy(qp)?;
        assert!(!owner_is(&sw, 0, "free"));
        assert!(sw.vport_programming(0).ok_or(EINVAL)?.rx_enabled);
        let (qp, _) = create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1)?;
        assert!(qp_data(&ctx, qp)?.vport() == 0);

        // Close with everything open (a process killed mid-run).
        ctx.close()?;
        assert!(owner_is(&sw, 0, "free"));
        assert!(!sw.vport_programming(0).ok_or(EINVAL)?.rx_enabled);
        assert!(nothing_left(&sw));

        let _ = rss;
        drop(reg);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// The device goes away while a process has QPs open (rmmod, adapter removal): the core
    /// destroys the objects and detaches the context; the doorbell page goes at once.
    #[test]
    fn detaching_a_context_with_qps_open_frees_everything() -> Result {
        let (sw, reg) = setup(1)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let cq = create_cq(&mut ctx, &mut bufs, 256)?;
        create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1)?;
        assert!(!owner_is(&sw, 0, "free"));
        ctx.disassociate()?;
        assert!(owner_is(&sw, 0, "free"));
        assert!(nothing_left(&sw));
        // The process closes the device later: nothing more happens on the device.
        let requests = sw.device_stats().total_requests;
        drop(ctx);
        assert_eq!(sw.device_stats().total_requests, requests);
        Ok(())
    }

    /// The device refuses a create: the error reaches user space, the vport is free again.
    #[test]
    fn device_errors_propagate_and_release_the_vport() -> Result {
        let (sw, reg) = setup(1)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let cq = create_cq(&mut ctx, &mut bufs, 256)?;
        sw.inject(
            mana_msgs::code::CREATE_WQ_OBJ,
            mana_gdma::sw::Fault::Status(0x1),
            1,
        )?;
        assert!(create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1).is_err());
        assert!(owner_is(&sw, 0, "free"));
        sw.inject(
            mana_msgs::code::CONFIG_VPORT_TX,
            mana_gdma::sw::Fault::Status(0x1),
            1,
        )?;
        assert!(create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1).is_err());
        assert!(owner_is(&sw, 0, "free"));
        // And then it works.
        let (qp, _) = create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1)?;
        ctx.destroy(qp)?;
        drop(ctx);
        let s = sw.device_stats();
        assert_eq!(
            (
                s.live_wq_objs,
                s.live_regions,
                s.live_eqs,
                s.live_pds,
                s.live_doorbells
            ),
            (0, 0, 0, 0, 0)
        );
        Ok(())
    }
}

/// The QP `id` of a context.
fn qp_of<'a>(ctx: &'a UserContext<'_, ManaIb>, id: ObjId) -> Result<&'a Qp<ManaIb>> {
    let raw = ctx.qp_raw(id)?;
    // SAFETY: `raw` is a live QP of this context's `manae` device, alive while `ctx` is
    // borrowed (only `ctx` destroys it).
    Ok(unsafe { Qp::<ManaIb>::from_raw(raw) })
}

#[kunit_tests(mana_rs_rdma_robust)]
mod robust {
    use super::*;

    /// `rdma res show qp` lists every RAW and RSS QP under a distinct number, the id of its
    /// device queue (as the C driver numbers QPs), on its port, in a state `query_qp` reports;
    /// `ibv_query_qp()` gives the capacities the QP was created with.
    #[test]
    fn qps_are_numbered_by_their_queues_and_queryable() -> Result {
        let (sw, reg) = setup(2)?;
        let mut bufs = Buffers::new(128)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let (pd2, _) = alloc_pd(&mut ctx)?;
        let cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let cq2 = create_cq(&mut ctx, &mut bufs, 256)?;
        let cq3 = create_cq(&mut ctx, &mut bufs, 256)?;
        let (raw1, resp1) = create_raw_qp(&mut ctx, &mut bufs, pd, cq, 1)?;
        let (raw1b, resp1b) = create_raw_qp(&mut ctx, &mut bufs, pd, cq3, 1)?;
        let (raw2, resp2) = create_raw_qp(&mut ctx, &mut bufs, pd2, cq2, 2)?;
        let rx_cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let wq = create_wq(&mut ctx, &mut bufs, pd, rx_cq, 4 * PAGE as u32)?;
        let table = ctx.create_rwq_ind_table(&[wq])?;
        let (rss, rss_resp) = create_rss_qp(&mut ctx, pd, table, &rss_req(1))?;

        let expected = [
            (raw1, resp1.sqid, 1u32),
            (raw1b, resp1b.sqid, 1),
            (raw2, resp2.sqid, 2),
            (rss, rss_resp.entries[0].wqid, 1),
        ];
        for (i, (id, num, port)) in expected.iter().enumerate() {
            let qp = qp_of(&ctx, *id)?;
            assert_eq!(qp.qp_num(), *num);
            assert_eq!(qp.port(), *port);
            // Distinct: every QP is in the tracker, under its own number.
            assert!(ctx.qp_tracked(*id)?);
            for (other, _, _) in expected.iter().skip(i + 1) {
                assert_ne!(qp.qp_num(), qp_of(&ctx, *other)?.qp_num());
            }
        }

        let (attr, init) = ctx.query_qp(raw1)?;
        assert_eq!(attr.qp_state, bindings::ib_qp_state_IB_QPS_RTS);
        assert_eq!(attr.cur_qp_state, bindings::ib_qp_state_IB_QPS_RTS);
        assert_eq!(attr.port_num, 1);
        assert_eq!(init.qp_type, RAW_PACKET);
        assert_eq!(init.port_num, 1);
        assert_eq!((init.cap.max_send_wr, init.cap.max_send_sge), (256, 4));
        assert_eq!((attr.cap.max_send_wr, attr.cap.max_send_sge), (256, 4));
        assert_eq!((init.cap.max_recv_wr, init.cap.max_recv_sge), (0, 0));
        assert!(!init.send_cq.is_null());
        let (attr, init) = ctx.query_qp(raw2)?;
        assert_eq!(attr.port_num, 2);
        assert_eq!(init.port_num, 2);
        let (attr, init) = ctx.query_qp(rss)?;
        assert_eq!(attr.qp_state, bindings::ib_qp_state_IB_QPS_RTR);
        assert_eq!((init.cap.max_recv_wr, init.cap.max_recv_sge), (64, 1));
        assert!(!init.rwq_ind_tbl.is_null());

        // Numbers are stable: another QP does not change them; a destroyed QP leaves the
        // tracker and its successor is tracked.
        ctx.destroy(raw1b)?;
        assert_eq!(qp_of(&ctx, raw1)?.qp_num(), resp1.sqid);
        let (again, resp) = create_raw_qp(&mut ctx, &mut bufs, pd, cq3, 1)?;
        assert_eq!(qp_of(&ctx, again)?.qp_num(), resp.sqid);
        assert!(ctx.qp_tracked(again)?);
        assert!(ctx.qp_tracked(raw1)?);
        drop(ctx);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// When the core aborts a new object because its response could not be copied
    /// (`RDMA_REMOVE_ABORT`), it destroys it with the create request's udata: every destroy
    /// succeeds whatever that holds, and releases what the object held on the device.
    #[test]
    fn destroy_with_the_create_request_never_fails() -> Result {
        let (sw, reg) = setup(1)?;
        let mut bufs = Buffers::new(64)?;
        let mut ctx = open(&sw, &reg)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        let cq_req = CreateCq {
            buf_addr: bufs.take(256 * 64)?,
            comp_mask: 0,
            reserved0: 0,
            reserved1: 0,
        };
        let mut resp = [0u8; size_of::<CreateCqResp>()];
        let cq = ctx.create_cq(256, 0, bytes_of(&cq_req), &mut resp)?;
        let rx_cq = create_cq(&mut ctx, &mut bufs, 256)?;
        let wq_req = CreateWq {
            wq_buf_addr: bufs.take(4 * PAGE)?,
            wq_buf_size: 4 * PAGE as u32,
            reserved: 0,
        };
        let wq = ctx.create_wq(pd, rx_cq, 64, 1, bytes_of(&wq_req), &mut [])?;
        let qp_req = CreateQp {
            sq_buf_addr: bufs.take(4 * PAGE)?,
            sq_buf_size: 4 * PAGE as u32,
            port: 1,
        };
        let mut qresp = [0u8; size_of::<CreateQpResp>()];
        let qp = ctx.create_qp(pd, raw_caps(1, cq), bytes_of(&qp_req), &mut qresp)?;
        let mr_mem = bufs.take(2 * PAGE)?;
        let mr = ctx.reg_user_mr(pd, mr_args(mr_mem, 2 * PAGE, 1), &[], &mut [])?;
        assert!(sw.device_stats().live_wq_objs == 1 && sw.device_stats().live_mrs == 1);

        // A request full of non-zero bytes, as every create request is.
        let garbage = [0xa5u8; 64];
        let mut out = [0u8; 64];
        ctx.destroy_with_udata(qp, bytes_of(&qp_req), &mut qresp)?;
        assert!(owner_is(&sw, 0, "free"));
        assert_eq!(sw.device_stats().live_wq_objs, 0);
        ctx.destroy_with_udata(mr, &garbage, &mut out)?;
        assert_eq!(sw.device_stats().live_mrs, 0);
        ctx.destroy_with_udata(wq, bytes_of(&wq_req), &mut out)?;
        ctx.destroy_with_udata(cq, bytes_of(&cq_req), &mut resp)?;
        ctx.destroy_with_udata(rx_cq, &garbage, &mut out)?;
        ctx.destroy_with_udata(pd, &garbage, &mut out)?;
        // Nothing was written to the response buffers.
        assert!(out.iter().all(|b| *b == 0));
        assert_eq!(ctx.live_objects(), 0);
        ctx.close()?;
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// A full PD table is `ENOSPC` (the C driver says `EPROTO`), whether the device or the
    /// driver's `max_pd` runs out first; a freed PD makes room again.
    #[test]
    fn a_full_pd_table_is_enospc() -> Result {
        let (sw, reg) = setup(1)?;
        let mut ctx = open(&sw, &reg)?;
        let mut pds = KVec::new();
        let err = loop {
            match alloc_pd(&mut ctx) {
                Ok((pd, _)) => pds.push(pd, GFP_KERNEL)?,
                Err(e) => break e,
            }
            if pds.len() > 4096 {
                break EINVAL;
            }
        };
        assert_eq!(err, ENOSPC);
        // The software device holds 256 objects of a kind.
        assert_eq!(pds.len(), 256);
        assert_eq!(sw.device_stats().live_pds, 256);
        let first = pds[0];
        ctx.destroy(first)?;
        let (pd, _) = alloc_pd(&mut ctx)?;
        assert_eq!(alloc_pd(&mut ctx).err(), Some(ENOSPC));
        ctx.destroy(pd)?;
        assert_eq!(sw.device_stats().protocol_errors, 0);
        drop(ctx);
        assert!(nothing_left(&sw));
        Ok(())
    }

    /// The driver's own count: `max_pd` PDs, then `ENOSPC` without asking the device.
    #[test]
    fn the_pd_counter_stops_at_max_pd() -> Result {
        let counter = device::PdCounter::new(2)?;
        let a = counter.take_slot();
        let b = counter.take_slot();
        assert!(a.is_some() && b.is_some());
        assert!(counter.take_slot().is_none());
        assert_eq!(counter.live(), 2);
        drop(a);
        assert_eq!(counter.live(), 1);
        let c = counter.take_slot();
        assert!(c.is_some());
        drop((b, c));
        assert_eq!(counter.live(), 0);
        Ok(())
    }
}
