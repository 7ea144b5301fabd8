// SPDX-License-Identifier: GPL-2.0-only

//! The raw-packet data path as DPDK's MANA PMD drives it through `manae_N`: a user context
//! with its doorbell page, a PD, a memory region over "user memory", a RAW_PACKET send QP and
//! an RSS QP over two receive WQs, all created through the hardware channel the way `mana_rdma`
//! does it; WQEs posted in user memory with SGEs that name the MR's key and user virtual
//! addresses; doorbells rung on the context's page. The linked port (1) belongs to the
//! Ethernet driver, whose queues use the device's own key and doorbell page.

use super::*;
use crate::packet::{
    parse,
    rss_hash, //
};
use mana_wire::{
    eth::{
        cqe_type,
        CqeHeader,
        RxCompOob,
        TxCompOob,
        TxShortOob, //
    },
    gdma_msgs::access,
    mana_msgs::{
        hash_type,
        HASH_KEY_SIZE, //
    },
};

/// Where "user space" sees its buffer memory (the MR's virtual address).
const USER_VA: u64 = 0x7f3a_1234_0000;
/// The DMA addresses of the pinned pages behind `USER_VA`, scattered and out of order: an
/// untranslated access, or one that assumes contiguous pages, reads or writes the wrong bytes.
const USER_PAGES: [u64; 4] = [0x93_0000, 0x91_0000, 0x97_0000, 0x95_0000];
/// Kernel memory the user must never reach: the Ethernet driver's receive buffer.
const KERNEL_RX_BUF: u64 = 0x70_0000;
const KERNEL_TX_BUF: u64 = 0x71_0000;

/// DPDK's default Toeplitz key.
const KEY: [u8; HASH_KEY_SIZE] = [
    0x2c, 0xc6, 0x81, 0xd1, 0x5b, 0xdb, 0xf4, 0xf7, 0xfc, 0xa2, 0x83, 0x19, 0xdb, 0x1a, 0x3e, 0x94,
    0x6b, 0x9e, 0x38, 0xd9, 0x2c, 0x9c, 0x03, 0xd1, 0xad, 0x99, 0x44, 0xa7, 0xd9, 0x56, 0x3d, 0x59,
    0x06, 0x3c, 0x25, 0xf3, 0xfc, 0x1f, 0xdc, 0x2a,
];

/// The MSI-X vector of the EQ DPDK's CQs report to.
const USER_VECTOR: u32 = 2;

/// One work queue and its CQ, one page each, as seen by their producer and consumer.
#[derive(Clone, Copy, Default)]
struct Queue {
    wq_id: u32,
    cq_id: u32,
    handle: u64,
    ring: u64,
    cq_ring: u64,
    /// Bytes posted (the doorbell tail).
    tail: u32,
}

/// The device with the Ethernet driver on port 1 and a DPDK process on port 0.
struct Dpdk {
    dev: alloc::boxed::Box<SwDevice>,
    mem: Mem,
    hwc: Channel,
    /// Next free page of queue and buffer memory the tests hand out.
    next_page: u64,
    /// The user context's doorbell page.
    db_page: u32,
    pd: (u64, u32),
    mr: (u64, u32),
    eq_id: u32,
    eq_ring: u64,
    sq: Queue,
    rqs: [Queue; 2],
    /// The Ethernet driver's send and receive queues on port 1.
    eth_sq: Queue,
    eth_rq: Queue,
}

impl Dpdk {
    fn up() -> Dpdk {
        let config = SwConfig {
            num_ports: 2,
            num_vectors: 4,
            ..SwConfig::default()
        };
        let (dev, mem, hwc) = Channel::up(config);
        let mut d = Dpdk {
            dev,
            mem,
            hwc,
            next_page: 0x100_0000,
            db_page: 0,
            pd: (0, 0),
            mr: (0, 0),
            eq_id: 0,
            eq_ring: 0,
            sq: Queue::default(),
            rqs: [Queue::default(); 2],
            eth_sq: Queue::default(),
            eth_rq: Queue::default(),
        };
        d.ok(hdr::new_request::<gdma_msgs::RegisterDeviceReq>().as_bytes());

        // The Ethernet driver opens port 1: its vport, an EQ, a receive and a send queue.
        d.config_tx(1, MANA_DEV_PDID, MANA_DEV_DOORBELL);
        let (eth_eq, _) = d.eq(1);
        d.eth_rq = d.wq_obj(1, queue::queue_type::RQ, eth_eq);
        d.eth_sq = d.wq_obj(1, queue::queue_type::SQ, eth_eq);
        let mut rx = mana_msgs::CfgRxSteerReq::new(VPORT_HANDLE_BASE + 1, 0, 1, false).unwrap();
        rx.update_default_rxobj = 1;
        rx.default_rxobj = d.eth_rq.handle;
        d.ok(rx.as_bytes());
        d.mem.map(KERNEL_RX_BUF);
        d.mem.map(KERNEL_TX_BUF);

        // DPDK: ibv_open_device (a user context: its doorbell page), ibv_alloc_pd,
        // ibv_reg_mr over its buffer memory.
        d.db_page = d.alloc_doorbell_page();
        d.pd = d.create_pd();
        let region = d.region(&USER_PAGES);
        d.mr = d.create_mr(gdma_msgs::CreateMrReq::new_gva(
            d.pd.0,
            region,
            USER_VA,
            access::LOCAL_READ | access::LOCAL_WRITE,
        ));

        // ibv_create_qp (RAW_PACKET): the vport is the PD's, through the context's page; the
        // send CQ reports to the PD's EQ.
        d.config_tx(0, d.pd.1, d.db_page);
        let (eq_id, eq_ring) = d.eq(USER_VECTOR);
        (d.eq_id, d.eq_ring) = (eq_id, eq_ring);
        d.sq = d.wq_obj(0, queue::queue_type::SQ, eq_id);

        // ibv_create_wq twice, ibv_create_rwq_ind_table, ibv_create_qp_ex (RSS).
        d.rqs = [
            d.wq_obj(0, queue::queue_type::RQ, eq_id),
            d.wq_obj(0, queue::queue_type::RQ, eq_id),
        ];
        let table = [d.rqs[0].handle, d.rqs[1].handle];
        let mut rx = mana_msgs::CfgRxSteerReq::new(VPORT_HANDLE_BASE, 2, 1, true).unwrap();
        rx.update_indir_tab = 1;
        rx.update_hashkey = 1;
        rx.hashkey = KEY;
        rx.update_default_rxobj = 1;
        rx.default_rxobj = d.rqs[0].handle;
        let mut msg = vec![0u8; rx.hdr.req.msg_size as usize];
        rx.write(&table, &mut msg).unwrap();
        d.ok(&msg);

        for p in USER_PAGES {
            d.mem.dma_write(p, &[0; 4096]).unwrap();
        }
        assert_eq!(d.dev.stats().protocol_errors, 0);
        let _ = d.dev.take_interrupts();
        d
    }

    /// Sends a hardware-channel request that must succeed; returns the response.
    fn ok(&mut self, req: &[u8]) -> Vec<u8> {
        let resp = self.hwc.send(&mut self.dev, &self.mem, req).unwrap();
        assert_eq!(status(&resp), 0);
        resp
    }

    /// A new page of driver memory, mapped and zeroed.
    fn page(&mut self) -> u64 {
        let p = self.next_page;
        self.next_page += 0x1_0000;
        self.mem.map(p);
        p
    }

    fn region(&mut self, pages: &[u64]) -> u64 {
        for p in pages {
            self.mem.map(*p);
        }
        let count = pages.len() as u32;
        let req =
            gdma_msgs::CreateDmaRegionReq::new(u64::from(count) * 4096, count, count).unwrap();
        let mut msg = vec![0u8; req.hdr.req.msg_size as usize];
        req.write(pages, &mut msg).unwrap();
        let resp = self.ok(&msg);
        gdma_msgs::CreateDmaRegionResp::from_bytes_copy(&resp)
            .unwrap()
            .dma_region_handle
    }

    fn config_tx(&mut self, port: u64, pdid: u32, doorbell: u32) {
        let tx = mana_msgs::ConfigVportReq::new(VPORT_HANDLE_BASE + port, pdid, doorbell);
        self.ok(tx.as_bytes());
    }

    fn alloc_doorbell_page(&mut self) -> u32 {
        let mut req = hdr::new_request::<gdma_msgs::AllocateResourceRangeReq>();
        req.resource_type = gdma_msgs::RESOURCE_DOORBELL_PAGE;
        req.num_resources = 1;
        req.alignment = 1;
        let resp = self.ok(req.as_bytes());
        gdma_msgs::AllocateResourceRangeResp::from_bytes_copy(&resp)
            .unwrap()
            .allocated_resources
    }

    fn create_pd(&mut self) -> (u64, u32) {
        let resp = self.ok(gdma_msgs::CreatePdReq::new(0).as_bytes());
        let r = gdma_msgs::CreatePdResp::from_bytes_copy(&resp).unwrap();
        (r.pd_handle, r.pd_id)
    }

    fn create_mr(&mut self, req: gdma_msgs::CreateMrReq) -> (u64, u32) {
        let resp = self.ok(req.as_bytes());
        let r = gdma_msgs::CreateMrResp::from_bytes_copy(&resp).unwrap();
        (r.mr_handle, r.lkey)
    }

    /// An EQ of one page on MSI-X vector `msix`, as both drivers create theirs (the
    /// registered device's PD and doorbell page): (id, ring).
    fn eq(&mut self, msix: u32) -> (u32, u64) {
        let ring = self.page();
        let region = self.region(&[ring]);
        let mut eq = hdr::new_request::<gdma_msgs::CreateQueueReq>();
        eq.ty = queue::queue_type::EQ;
        eq.pdid = MANA_DEV_PDID;
        eq.doorbell_id = MANA_DEV_DOORBELL;
        eq.gdma_region = region;
        eq.queue_size = 4096;
        eq.eq_pci_msix_index = msix;
        let resp = self.ok(eq.as_bytes());
        let id = gdma_msgs::CreateQueueResp::from_bytes_copy(&resp)
            .unwrap()
            .queue_index;
        (id, ring)
    }

    /// A work queue of one page with a CQ of one page on vport `port`.
    fn wq_obj(&mut self, port: u64, ty: u32, eq_id: u32) -> Queue {
        let (ring, cq_ring) = (self.page(), self.page());
        let (wq, cq) = (self.region(&[ring]), self.region(&[cq_ring]));
        let mut req = hdr::new_request::<mana_msgs::CreateWqObjReq>();
        req.vport = VPORT_HANDLE_BASE + port;
        req.wq_type = ty;
        req.wq_gdma_region = wq;
        req.cq_gdma_region = cq;
        req.wq_size = 4096;
        req.cq_size = 4096;
        req.cq_parent_qid = eq_id;
        let resp = self.ok(req.as_bytes());
        let r = mana_msgs::CreateWqObjResp::from_bytes_copy(&resp).unwrap();
        Queue {
            wq_id: r.wq_id,
            cq_id: r.cq_id,
            handle: r.wq_obj,
            ring,
            cq_ring,
            tail: 0,
        }
    }

    /// Writes 64-bit `value` at `offset` (SQ 0x0, RQ 0x400, CQ 0x800) of doorbell page `page`.
    fn ring(&mut self, page: u32, qtype: u32, value: u64, wire: &mut dyn Wire) {
        let offset = queue::doorbell_offset(DB_PAGE_SIZE as u64, page, qtype).unwrap();
        self.dev
            .doorbell(&self.mem, wire, DB_PAGE_OFFSET + offset as usize, value, 0);
    }

    /// Writes `bytes` at user virtual address `va` (what the process does through its
    /// mapping: the bytes land in the pinned pages behind it).
    fn user_write(&self, va: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let off = va - USER_VA + i as u64;
            let page = USER_PAGES[(off / 4096) as usize];
            self.mem.dma_write(page + off % 4096, &[*b]).unwrap();
        }
    }

    /// Reads `len` bytes at user virtual address `va`.
    fn user_read(&self, va: u64, len: usize) -> Vec<u8> {
        (0..len as u64)
            .map(|i| {
                let off = va - USER_VA + i;
                let mut b = [0u8];
                let page = USER_PAGES[(off / 4096) as usize];
                self.mem.dma_read(page + off % 4096, &mut b).unwrap();
                b[0]
            })
            .collect()
    }

    /// Posts a send WQE of one SGE `sge` on `q` (short OOB naming its CQ, as DPDK builds it)
    /// and returns the doorbell value that announces it.
    fn post_send(&mut self, q: &mut Queue, sge: Sge) -> u64 {
        let mut wqe = [0u8; 32];
        wqe[..8].copy_from_slice(
            WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)
                .unwrap()
                .as_bytes(),
        );
        let mut oob = TxShortOob::zeroed();
        oob.word0 = oob.word0.try_with_vcq_num(q.cq_id).unwrap();
        wqe[8..16].copy_from_slice(oob.as_bytes());
        wqe[16..32].copy_from_slice(sge.as_bytes());
        self.mem
            .dma_write(q.ring + u64::from(q.tail % 4096), &wqe)
            .unwrap();
        q.tail += 32;
        queue::SqDoorbell::new(q.wq_id, q.tail).unwrap().into_raw()
    }

    /// Posts a receive WQE of one SGE on `q`; returns the doorbell value.
    fn post_receive(&mut self, q: &mut Queue, sge: Sge) -> u64 {
        let mut wqe = [0u8; 32];
        wqe[..8].copy_from_slice(
            WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)
                .unwrap()
                .as_bytes(),
        );
        wqe[16..32].copy_from_slice(sge.as_bytes());
        self.mem
            .dma_write(q.ring + u64::from(q.tail % 4096), &wqe)
            .unwrap();
        q.tail += 32;
        queue::RqDoorbell::new(q.wq_id, q.tail).unwrap().into_raw()
    }

    /// DPDK sends `frame` from user address `va` with SGE key `key`, ringing on `page`.
    fn user_send(&mut self, va: u64, key: u32, frame: &[u8], page: u32, wire: &mut dyn Wire) {
        self.user_write(va, frame);
        let mut sq = self.sq;
        let db = self.post_send(
            &mut sq,
            Sge {
                address: va,
                mem_key: key,
                size: frame.len() as u32,
            },
        );
        self.sq = sq;
        self.ring(page, queue::queue_type::SQ, db, wire);
    }

    /// DPDK posts a 2 KiB receive buffer at `va` on its receive queue `n` and arms its CQ.
    fn user_receive(&mut self, n: usize, va: u64, key: u32) {
        let mut rq = self.rqs[n];
        let db = self.post_receive(
            &mut rq,
            Sge {
                address: va,
                mem_key: key,
                size: 2048,
            },
        );
        self.rqs[n] = rq;
        self.ring(self.db_page, queue::queue_type::RQ, db, &mut NoWire);
        self.arm(self.rqs[n].cq_id, self.db_page);
    }

    /// Arms CQ `cq_id` (nothing consumed yet) with a doorbell on `page`.
    fn arm(&mut self, cq_id: u32, page: u32) {
        let entries = queue::RingEntries::new(64).unwrap();
        let tail = queue::cq_doorbell_tail(queue::initial_index(entries), entries);
        let db = queue::CqDoorbell::new(cq_id, tail, true).unwrap();
        self.ring(page, queue::queue_type::CQ, db.into_raw(), &mut NoWire);
    }

    /// The Ethernet driver posts a receive buffer on port 1.
    fn kernel_receive(&mut self) {
        self.mem.dma_write(KERNEL_RX_BUF, &[0; 4096]).unwrap();
        let mut rq = self.eth_rq;
        let db = self.post_receive(
            &mut rq,
            Sge {
                address: KERNEL_RX_BUF,
                mem_key: MANA_DEV_GPA_MKEY,
                size: 2048,
            },
        );
        self.eth_rq = rq;
        self.ring(MANA_DEV_DOORBELL, queue::queue_type::RQ, db, &mut NoWire);
    }

    /// The Ethernet driver sends `frame` on port 1.
    fn kernel_send(&mut self, frame: &[u8]) {
        self.mem.dma_write(KERNEL_TX_BUF, frame).unwrap();
        let mut sq = self.eth_sq;
        let db = self.post_send(
            &mut sq,
            Sge {
                address: KERNEL_TX_BUF,
                mem_key: MANA_DEV_GPA_MKEY,
                size: frame.len() as u32,
            },
        );
        self.eth_sq = sq;
        self.ring(MANA_DEV_DOORBELL, queue::queue_type::SQ, db, &mut NoWire);
    }

    /// The `n`th CQE (first pass) of the CQ at `cq_ring`, if the device wrote it.
    fn cqe(&self, cq_ring: u64, n: usize) -> Option<Cqe> {
        let mut b = [0u8; 64];
        self.mem.dma_read(cq_ring + 64 * n as u64, &mut b).unwrap();
        let cqe = Cqe::from_bytes_copy(&b).unwrap();
        (cqe.info.owner_bits().get() == 1).then_some(cqe)
    }

    /// The `n`th EQE (first pass) of DPDK's EQ, if the device wrote it.
    fn eqe(&self, n: usize) -> Option<Eqe> {
        let mut b = [0u8; 16];
        self.mem
            .dma_read(self.eq_ring + 16 * n as u64, &mut b)
            .unwrap();
        let eqe = Eqe::from_bytes_copy(&b).unwrap();
        (eqe.info.owner_bits().get() == 1).then_some(eqe)
    }
}

/// The CQE header of a completion.
fn cqe_header(cqe: &Cqe) -> CqeHeader {
    CqeHeader::from_raw(cqe.cqe_data[0])
}

/// An IPv4/UDP frame of 60 bytes from `src` to 10.0.0.2, port `sport` to 4791, `fill` as
/// payload.
fn udp_frame(src: [u8; 4], sport: u16, fill: u8) -> Vec<u8> {
    let mut f = vec![fill; 60];
    f[..6].copy_from_slice(&[0x00, 0x15, 0x5d, 0, 0, 0x10]);
    f[6..12].copy_from_slice(&[0x00, 0x15, 0x5d, 0, 0, 0x11]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip.copy_from_slice(&[0; 20]);
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
    let udp = &mut f[34..42];
    udp[..2].copy_from_slice(&sport.to_be_bytes());
    udp[2..4].copy_from_slice(&4791u16.to_be_bytes());
    udp[4..6].copy_from_slice(&26u16.to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    f
}

#[test]
fn dpdk_sends_a_frame_through_its_mr_that_the_linked_kernel_port_receives() {
    let mut d = Dpdk::up();
    d.kernel_receive();
    // DPDK arms its send CQ (interrupt mode) on its own page.
    d.arm(d.sq.cq_id, d.db_page);
    // The frame straddles the MR's first two pages, which are not contiguous in DMA space.
    let frame = udp_frame([10, 0, 0, 1], 1000, 0xd1);
    let va = USER_VA + 4096 - 20;
    d.user_send(va, d.mr.1, &frame, d.db_page, &mut NoWire);

    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.rx_packets), (1, 1));
    assert_eq!(
        (
            s.wqe_faults,
            s.key_faults,
            s.dma_faults,
            s.foreign_doorbells
        ),
        (0, 0, 0, 0)
    );
    // The kernel's port received it, byte for byte.
    assert_eq!(&d.mem.page(KERNEL_RX_BUF)[..60], &frame[..]);
    // DPDK's send completion: its SQ, OK.
    let cqe = d.cqe(d.sq.cq_ring, 0).unwrap();
    assert_eq!(cqe.info.wq_num().get(), d.sq.wq_id);
    assert!(cqe.info.is_sq().into_bool());
    let oob = TxCompOob::from_bytes_copy(&cqe.as_bytes()[..size_of::<TxCompOob>()]).unwrap();
    assert_eq!(oob.cqe_hdr.cqe_type().get(), cqe_type::TX_OKAY);
    // The armed CQ raised its event on the PD's EQ, naming the CQ, on the EQ's vector.
    let eqe = d.eqe(0).unwrap();
    assert_eq!(eqe.info.eqe_type().get() as u8, queue::eqe_type::COMPLETION);
    assert_eq!(eqe.details[0], d.sq.cq_id);
    assert!(d.eqe(1).is_none());
    assert_eq!(
        d.dev.take_interrupts() & (1 << USER_VECTOR),
        1 << USER_VECTOR
    );
    // The CQ was disarmed by its event: the next completion raises none.
    d.user_send(USER_VA, d.mr.1, &frame, d.db_page, &mut NoWire);
    assert!(d.cqe(d.sq.cq_ring, 1).is_some());
    assert!(d.eqe(1).is_none());
    assert_eq!(d.dev.take_interrupts() & (1 << USER_VECTOR), 0);
    // Armed again with completions it has not consumed (DPDK's rx_intr_enable after a poll
    // that stopped early): the event comes at once.
    d.arm(d.sq.cq_id, d.db_page);
    assert_eq!(d.eqe(1).unwrap().details[0], d.sq.cq_id);
    assert_eq!(
        d.dev.take_interrupts() & (1 << USER_VECTOR),
        1 << USER_VECTOR
    );
    assert_eq!(d.dev.stats().protocol_errors, 0);
}

#[test]
fn dpdk_receives_frames_in_the_rq_its_rss_table_picks() {
    let mut d = Dpdk::up();
    // One 2 KiB buffer per receive queue, in the MR's third and fourth pages.
    let bufs = [USER_VA + 2 * 4096, USER_VA + 3 * 4096];
    for (n, va) in bufs.iter().enumerate() {
        d.user_receive(n, *va, d.mr.1);
    }
    // Two frames from the kernel's port whose Toeplitz hashes pick different queues (the
    // table has two entries: hash % 2).
    let frames: Vec<(Vec<u8>, u32)> = {
        let mut picked: Vec<(Vec<u8>, u32)> = Vec::new();
        for sport in 1000..1100u16 {
            let f = udp_frame([10, 0, 0, 1], sport, 0xe0 + picked.len() as u8);
            let (hash, _) = rss_hash(&KEY, hash_type::ENABLE_SUPPORTED, &f, &parse(&f).unwrap());
            if picked.iter().all(|(_, h)| h % 2 != hash % 2) {
                picked.push((f, hash));
            }
            if picked.len() == 2 {
                break;
            }
        }
        picked
    };
    assert_eq!(frames.len(), 2);
    for (f, _) in &frames {
        d.kernel_send(f);
    }
    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.rx_packets, s.rx_no_buffer), (2, 2, 0));
    for (f, hash) in &frames {
        let n = (hash % 2) as usize;
        // In the buffer DPDK posted on that queue, through the MR's pages.
        assert_eq!(d.user_read(bufs[n], 60), *f);
        let cqe = d.cqe(d.rqs[n].cq_ring, 0).unwrap();
        assert_eq!(cqe.info.wq_num().get(), d.rqs[n].wq_id);
        assert!(!cqe.info.is_sq().into_bool());
        let oob = RxCompOob::from_bytes_copy(&cqe.as_bytes()[..size_of::<RxCompOob>()]).unwrap();
        assert_eq!(oob.cqe_hdr.cqe_type().get(), cqe_type::RX_OKAY);
        assert_eq!(oob.ppi[0].word0 & 0xffff, 60);
        assert_eq!(oob.ppi[0].word2, *hash);
    }
    // Each armed CQ raised one event on the PD's EQ.
    let mut named = [d.eqe(0).unwrap().details[0], d.eqe(1).unwrap().details[0]];
    named.sort();
    let mut cqs = [d.rqs[0].cq_id, d.rqs[1].cq_id];
    cqs.sort();
    assert_eq!(named, cqs);
    assert_eq!(
        d.dev.take_interrupts() & (1 << USER_VECTOR),
        1 << USER_VECTOR
    );
    assert_eq!((s.wqe_faults, s.key_faults, s.dma_faults), (0, 0, 0));
    assert_eq!(d.dev.stats().protocol_errors, 0);
}

#[test]
fn a_dpdk_port_linked_outside_sends_to_the_host_wire_and_receives_from_it() {
    let mut d = Dpdk::up();
    d.dev.set_external(0, true).unwrap();
    let mut wire = Captured::default();
    let frame = udp_frame([10, 0, 0, 7], 7, 0xc4);
    d.user_send(USER_VA + 100, d.mr.1, &frame, d.db_page, &mut wire);
    assert_eq!(wire.0, vec![(0, frame.clone(), None)]);
    // The kernel's port did not get it.
    assert_eq!(d.dev.stats().datapath.rx_packets, 0);

    // A frame from outside, steered by the RSS table into one of DPDK's queues.
    let bufs = [USER_VA + 2 * 4096, USER_VA + 3 * 4096];
    for (n, va) in bufs.iter().enumerate() {
        d.user_receive(n, *va, d.mr.1);
    }
    let back = udp_frame([10, 0, 0, 9], 9, 0xc5);
    d.dev.receive_frame(&d.mem, 0, &back, None).unwrap();
    let (hash, _) = rss_hash(
        &KEY,
        hash_type::ENABLE_SUPPORTED,
        &back,
        &parse(&back).unwrap(),
    );
    let n = (hash % 2) as usize;
    assert_eq!(d.user_read(bufs[n], 60), back);
    assert_eq!(
        d.cqe(d.rqs[n].cq_ring, 0).unwrap().info.wq_num().get(),
        d.rqs[n].wq_id
    );
    let s = d.dev.stats().datapath;
    assert_eq!((s.rx_packets, s.wqe_faults, s.dma_faults), (1, 0, 0));
}

#[test]
fn queues_are_rung_only_on_their_owners_doorbell_page() {
    let mut d = Dpdk::up();
    d.kernel_receive();
    let other_context = d.alloc_doorbell_page();
    assert_ne!(other_context, d.db_page);
    let frame = udp_frame([10, 0, 0, 1], 1, 0xf0);
    // DPDK's SQ rung on the kernel's page, then on another context's: ignored, counted.
    d.user_write(USER_VA, &frame);
    let mut sq = d.sq;
    let db = d.post_send(
        &mut sq,
        Sge {
            address: USER_VA,
            mem_key: d.mr.1,
            size: 60,
        },
    );
    d.sq = sq;
    for page in [MANA_DEV_DOORBELL, other_context] {
        d.ring(page, queue::queue_type::SQ, db, &mut NoWire);
    }
    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.foreign_doorbells), (0, 2));
    assert!(d.cqe(d.sq.cq_ring, 0).is_none());
    // Its CQ armed on a foreign page stays unarmed.
    d.arm(d.sq.cq_id, other_context);
    // The kernel's SQ rung on DPDK's page: ignored as well.
    d.mem.dma_write(KERNEL_TX_BUF, &frame).unwrap();
    let mut eth_sq = d.eth_sq;
    let eth_db = d.post_send(
        &mut eth_sq,
        Sge {
            address: KERNEL_TX_BUF,
            mem_key: MANA_DEV_GPA_MKEY,
            size: 60,
        },
    );
    d.eth_sq = eth_sq;
    d.ring(d.db_page, queue::queue_type::SQ, eth_db, &mut NoWire);
    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.foreign_doorbells), (0, 4));

    // On the owner's page the WQE posted before goes out, and the CQ was never armed.
    d.ring(d.db_page, queue::queue_type::SQ, db, &mut NoWire);
    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.rx_packets), (1, 1));
    assert!(d.cqe(d.sq.cq_ring, 0).is_some());
    assert!(d.eqe(0).is_none());
    // A vport handed to another owner: DPDK's page no longer drives its queues.
    d.config_tx(0, MANA_DEV_PDID, MANA_DEV_DOORBELL);
    d.user_send(USER_VA, d.mr.1, &frame, d.db_page, &mut NoWire);
    assert_eq!(d.dev.stats().datapath.tx_packets, 1);
    assert_eq!(d.dev.stats().datapath.foreign_doorbells, 5);
    assert_eq!(d.dev.stats().protocol_errors, 0);
}

#[test]
fn sges_outside_the_owners_memory_regions_are_refused() {
    let mut d = Dpdk::up();
    d.kernel_receive();
    // A secret in kernel memory the process must not read.
    d.mem.dma_write(KERNEL_TX_BUF, &[0x5e; 60]).unwrap();
    // Another process's PD and MR (over other pages).
    let pd2 = d.create_pd();
    let page2 = d.page();
    let region2 = d.region(&[page2]);
    let mr2 = d.create_mr(gdma_msgs::CreateMrReq::new_gva(
        pd2.0,
        region2,
        USER_VA,
        access::LOCAL_READ | access::LOCAL_WRITE,
    ));
    let refused: [(u64, u32, u32); 6] = [
        // The device's own key with a DMA address: kernel memory.
        (KERNEL_TX_BUF, MANA_DEV_GPA_MKEY, 60),
        // A key of another PD's MR.
        (USER_VA, mr2.1, 60),
        // A key no MR has.
        (USER_VA, 0x77_7777, 60),
        // Below the MR.
        (USER_VA - 8, d.mr.1, 60),
        // Past its end.
        (USER_VA + 4 * 4096 - 30, d.mr.1, 60),
        // Wrapping around.
        (u64::MAX - 10, d.mr.1, 60),
    ];
    for (n, (address, mem_key, size)) in refused.iter().enumerate() {
        let mut sq = d.sq;
        let db = d.post_send(
            &mut sq,
            Sge {
                address: *address,
                mem_key: *mem_key,
                size: *size,
            },
        );
        d.sq = sq;
        d.ring(d.db_page, queue::queue_type::SQ, db, &mut NoWire);
        // An error completion per WQE, nothing on the wire.
        let cqe = d.cqe(d.sq.cq_ring, n).unwrap();
        assert_eq!(
            cqe_header(&cqe).cqe_type().get(),
            cqe_type::TX_HDR_PROCESSING_ERROR,
            "SGE {n}"
        );
    }
    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.rx_packets), (0, 0));
    assert_eq!((s.key_faults, s.wqe_faults, s.dma_faults), (6, 6, 0));
    assert_eq!(&d.mem.page(KERNEL_RX_BUF)[..60], &[0; 60][..]);

    // An MR without local write: the device does not receive into it.
    let region3 = d.region(&[USER_PAGES[3]]);
    let ro = d.create_mr(gdma_msgs::CreateMrReq::new_gva(
        d.pd.0,
        region3,
        0x5000_0000,
        access::LOCAL_READ,
    ));
    d.user_receive(0, 0x5000_0000, ro.1);
    d.user_receive(1, 0x5000_0000, ro.1);
    d.kernel_send(&udp_frame([10, 0, 0, 1], 1, 0xab));
    let s = d.dev.stats().datapath;
    assert_eq!((s.rx_packets, s.key_faults, s.wqe_faults), (0, 7, 7));
    assert_eq!(d.user_read(USER_VA + 3 * 4096, 60), vec![0; 60]);
    let hit = (0..2)
        .filter_map(|n| d.cqe(d.rqs[n].cq_ring, 0))
        .map(|c| cqe_header(&c).cqe_type().get())
        .collect::<Vec<_>>();
    assert_eq!(hit, vec![cqe_type::RX_TRUNCATED]);

    // A destroyed MR's key is refused from then on.
    let mut destroy = hdr::new_request::<gdma_msgs::DestroyMrReq>();
    destroy.mr_handle = d.mr.0;
    d.ok(destroy.as_bytes());
    d.user_send(USER_VA, d.mr.1, &[0x11; 60], d.db_page, &mut NoWire);
    let s = d.dev.stats().datapath;
    // (The one frame sent is the kernel's.)
    assert_eq!((s.tx_packets, s.key_faults), (1, 8));
    assert_eq!(
        cqe_header(&d.cqe(d.sq.cq_ring, 6).unwrap())
            .cqe_type()
            .get(),
        cqe_type::TX_HDR_PROCESSING_ERROR
    );
    assert_eq!(d.dev.stats().protocol_errors, 0);
}

#[test]
fn a_zero_based_mr_takes_offsets_and_everything_goes_at_teardown() {
    let mut d = Dpdk::up();
    d.kernel_receive();
    let page = d.page();
    let region = d.region(&[page]);
    let zb = d.create_mr(gdma_msgs::CreateMrReq::new_zbva(
        d.pd.0,
        region,
        access::LOCAL_READ,
    ));
    let frame = udp_frame([10, 0, 0, 1], 5, 0x2b);
    d.mem.dma_write(page + 0x100, &frame).unwrap();
    let mut sq = d.sq;
    let db = d.post_send(
        &mut sq,
        Sge {
            address: 0x100,
            mem_key: zb.1,
            size: 60,
        },
    );
    d.sq = sq;
    d.ring(d.db_page, queue::queue_type::SQ, db, &mut NoWire);
    assert_eq!(&d.mem.page(KERNEL_RX_BUF)[..60], &frame[..]);
    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.key_faults), (1, 0));

    // DPDK exits: steering off, its queues, MRs, PD and doorbell page go; nothing is left
    // of it, and the regions went with the objects that took them.
    let rx = mana_msgs::CfgRxSteerReq::new(VPORT_HANDLE_BASE, 0, 0, false).unwrap();
    d.ok(rx.as_bytes());
    for q in [d.sq, d.rqs[0], d.rqs[1]] {
        let ty = if q.handle == d.sq.handle {
            queue::queue_type::SQ
        } else {
            queue::queue_type::RQ
        };
        d.ok(mana_msgs::DestroyWqObjReq::new(ty, q.handle).as_bytes());
    }
    for mr in [d.mr.0, zb.0] {
        let mut destroy = hdr::new_request::<gdma_msgs::DestroyMrReq>();
        destroy.mr_handle = mr;
        d.ok(destroy.as_bytes());
    }
    let mut pd = hdr::new_request::<gdma_msgs::DestroyPdReq>();
    pd.pd_handle = d.pd.0;
    d.ok(pd.as_bytes());
    let mut db = hdr::new_request::<gdma_msgs::DestroyResourceRangeReq>();
    db.resource_type = gdma_msgs::RESOURCE_DOORBELL_PAGE;
    db.num_resources = 1;
    db.allocated_resources = d.db_page;
    d.ok(db.as_bytes());
    let s = d.dev.stats();
    assert_eq!(
        (s.live_mrs, s.live_pds, s.live_doorbells, s.live_regions),
        (0, 0, 0, 0)
    );
    // The kernel's two queues stay.
    assert_eq!(s.live_wq_objs, 2);
    assert_eq!(s.protocol_errors, 0);
}

#[test]
fn an_mr_over_a_region_sent_in_several_requests_translates_every_page() {
    let mut d = Dpdk::up();
    d.kernel_receive();
    // Three pages announced, one listed: "more entries", and the region is not usable yet.
    let pages = [d.page(), d.page(), d.page()];
    let req = gdma_msgs::CreateDmaRegionReq::new(3 * 4096, 3, 1).unwrap();
    let mut msg = vec![0u8; req.hdr.req.msg_size as usize];
    req.write(&pages[..1], &mut msg).unwrap();
    let resp = d.hwc.send(&mut d.dev, &d.mem, &msg).unwrap();
    assert_eq!(status(&resp), hdr::STATUS_MORE_ENTRIES);
    let region = gdma_msgs::CreateDmaRegionResp::from_bytes_copy(&resp)
        .unwrap()
        .dma_region_handle;
    let gva =
        |region| gdma_msgs::CreateMrReq::new_gva(d.pd.0, region, 0x6000_0000, access::LOCAL_READ);
    let early = gva(region);
    let resp = d.hwc.send(&mut d.dev, &d.mem, early.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0x2);
    assert_eq!(d.dev.stats().protocol_errors, 1);
    // The rest in ADD_PAGES: "more entries" until the last; more than announced, or pages
    // for a complete region, are refused.
    let add = |handle, list: &[u64]| {
        let req = gdma_msgs::DmaRegionAddPagesReq::new(handle, list.len() as u32).unwrap();
        let mut msg = vec![0u8; req.hdr.req.msg_size as usize];
        req.write(list, &mut msg).unwrap();
        msg
    };
    for (list, expected) in [
        (&pages[1..2], hdr::STATUS_MORE_ENTRIES),
        (&[pages[2], pages[2]][..], 0x2),
        (&pages[2..3], 0),
        (&pages[2..3], 0x2),
    ] {
        let resp = d.hwc.send(&mut d.dev, &d.mem, &add(region, list)).unwrap();
        assert_eq!(status(&resp), expected);
    }
    assert_eq!(d.dev.stats().protocol_errors, 3);
    let mr = d.create_mr(gva(region));

    // A frame in the region's last page, which came with ADD_PAGES.
    let frame = udp_frame([10, 0, 0, 3], 3, 0x3c);
    d.mem.dma_write(pages[2] + 0x80, &frame).unwrap();
    let mut sq = d.sq;
    let db = d.post_send(
        &mut sq,
        Sge {
            address: 0x6000_0000 + 2 * 4096 + 0x80,
            mem_key: mr.1,
            size: 60,
        },
    );
    d.sq = sq;
    d.ring(d.db_page, queue::queue_type::SQ, db, &mut NoWire);
    assert_eq!(&d.mem.page(KERNEL_RX_BUF)[..60], &frame[..]);
    let s = d.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.key_faults, s.dma_faults), (1, 0, 0));
}
