// SPDX-License-Identifier: GPL-2.0-only

//! The device on the host: power-on, the SMC mailbox and the hardware channel's bring-up and
//! teardown, against driver memory kept in a map.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    sync::atomic::{
        AtomicUsize,
        Ordering, //
    },
};

use super::*;
extern crate alloc;
use crate::host::NoWire;

mod rawqp;

/// Driver memory: 4 KiB pages by DMA address, only those mapped.
#[derive(Default)]
struct Mem {
    pages: RefCell<BTreeMap<u64, [u8; 4096]>>,
}

impl Mem {
    fn map(&self, addr: u64) {
        self.pages.borrow_mut().insert(addr, [0; 4096]);
    }

    fn page(&self, addr: u64) -> [u8; 4096] {
        self.pages.borrow()[&addr]
    }
}

impl DeviceMemory for Mem {
    fn is_mapped(&self, addr: u64, len: usize) -> bool {
        let end = addr + len as u64;
        (addr & !0xfff..end)
            .step_by(4096)
            .all(|p| self.pages.borrow().contains_key(&p))
    }

    fn dma_read(&self, addr: u64, out: &mut [u8]) -> Result {
        if !self.is_mapped(addr, out.len()) {
            return Err(Error::Fault);
        }
        let pages = self.pages.borrow();
        for (i, b) in out.iter_mut().enumerate() {
            let a = addr + i as u64;
            *b = pages[&(a & !0xfff)][(a & 0xfff) as usize];
        }
        Ok(())
    }

    fn dma_write(&self, addr: u64, data: &[u8]) -> Result {
        if !self.is_mapped(addr, data.len()) {
            return Err(Error::Fault);
        }
        let mut pages = self.pages.borrow_mut();
        for (i, b) in data.iter().enumerate() {
            let a = addr + i as u64;
            pages.get_mut(&(a & !0xfff)).unwrap()[(a & 0xfff) as usize] = *b;
        }
        Ok(())
    }
}

/// A log that counts its lines.
struct CountingLog(AtomicUsize);

impl Log for CountingLog {
    fn error(&self, _line: core::fmt::Arguments<'_>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

static LOG: CountingLog = CountingLog(AtomicUsize::new(0));

const EQ: u64 = 0x10_0000;
const CQ: u64 = 0x11_0000;
const RQ: u64 = 0x12_0000;
const SQ: u64 = 0x13_0000;

/// Writes the eight mailbox dwords, the last one last (it hands the mailbox to the device),
/// and returns the response header dword.
fn smc(dev: &mut SwDevice, mem: &Mem, dwords: &[u32; smc::SMC_APERTURE_DWORDS]) -> SmcHdr {
    for (i, d) in dwords.iter().enumerate() {
        dev.write32(mem, SHM_OFFSET + 4 * i, *d);
    }
    SmcHdr::from_raw(dev.read32(SHM_OFFSET + 4 * smc::SMC_LAST_DWORD))
}

fn establish(msix_index: u16) -> [u32; smc::SMC_APERTURE_DWORDS] {
    EstablishHwc {
        eq_addr: EQ,
        cq_addr: CQ,
        rq_addr: RQ,
        sq_addr: SQ,
        msix_index,
        reset_vf: false,
    }
    .encode()
    .unwrap()
}

#[test]
fn power_on_refuses_configurations_the_device_does_not_offer() {
    let mut dev = crate::zero::zeroed_box::<SwDevice>();
    for bad in [
        SwConfig {
            num_ports: 0,
            ..SwConfig::default()
        },
        SwConfig {
            num_ports: 17,
            ..SwConfig::default()
        },
        SwConfig {
            hwc_depth: HWC_MAX_DEPTH + 1,
            ..SwConfig::default()
        },
        SwConfig {
            num_vectors: 65,
            ..SwConfig::default()
        },
    ] {
        assert_eq!(dev.power_on(bad, &LOG), Err(Error::Invalid));
    }
    assert_eq!(dev.power_on(SwConfig::default(), &LOG), Ok(()));
    assert_eq!(dev.read32(regs::GDMA_REG_DB_PAGE_SIZE), DB_PAGE_SIZE as u32);
    assert_eq!(dev.read64(regs::GDMA_REG_SHM_OFFSET), SHM_OFFSET as u64);
}

#[test]
fn establish_and_destroy_the_hardware_channel_through_the_smc() {
    let mem = Mem::default();
    for q in [EQ, CQ, RQ, SQ] {
        mem.map(q);
    }
    let mut dev = SwDevice::boxed(SwConfig::default(), &LOG).unwrap();

    // A vector the device does not have: refused, counted, nothing raised.
    let hdr = smc(&mut dev, &mem, &establish(64));
    assert_ne!(hdr.status().get(), 0);
    assert_eq!(dev.stats().protocol_errors, 1);
    assert_eq!(dev.stats().live_hwc, 0);

    let hdr = smc(&mut dev, &mem, &establish(3));
    assert_eq!(hdr.status().get(), 0);
    assert_eq!(dev.stats().live_hwc, 1);
    // The init events went to the EQ, owner bits of the first pass, and raised vector 3.
    assert_eq!(dev.take_interrupts(), 1 << 3);
    assert_eq!(dev.take_interrupts(), 0);
    let eq = mem.page(EQ);
    let first = Eqe::from_bytes_copy(&eq[..16]).unwrap();
    assert_eq!(
        first.info.eqe_type().get() as u8,
        queue::eqe_type::HWC_INIT_EQ_ID_DB
    );
    // INIT_EQ_ID_DB, nine INIT_DATA, INIT_DONE.
    let last = Eqe::from_bytes_copy(&eq[16 * 10..16 * 11]).unwrap();
    assert_eq!(
        last.info.eqe_type().get() as u8,
        queue::eqe_type::HWC_INIT_DONE
    );

    // A second channel is a protocol error; the first stays.
    let hdr = smc(&mut dev, &mem, &establish(3));
    assert_ne!(hdr.status().get(), 0);
    assert_eq!(dev.stats().live_hwc, 1);

    // No request waiting: nothing to do.
    assert_eq!(dev.next_request_delay_us(&mem, 0), None);
    assert!(!dev.process_one(&mem));

    let mut destroy = [0u32; smc::SMC_APERTURE_DWORDS];
    destroy[smc::SMC_LAST_DWORD] = smc::destroy_hwc_request(false).unwrap();
    assert_eq!(smc(&mut dev, &mem, &destroy).status().get(), 0);
    assert_eq!(dev.stats().live_hwc, 0);
    assert_eq!(dev.stats().protocol_errors, 2);
    assert_eq!(dev.stats().dma_faults, 0);
}

#[test]
fn service_events_need_a_channel_and_the_driver_capability() {
    let mem = Mem::default();
    for q in [EQ, CQ, RQ, SQ] {
        mem.map(q);
    }
    let mut dev = SwDevice::boxed(SwConfig::default(), &LOG).unwrap();
    assert_eq!(
        dev.service_event(&mem, ServiceRequest::Reset),
        Err(Error::Busy)
    );
    smc(&mut dev, &mem, &establish(0));
    // The driver did not advertise (no VERIFY_VF_DRIVER_VERSION yet).
    assert_eq!(
        dev.service_event(&mem, ServiceRequest::Reset),
        Err(Error::NotSupported)
    );
    // RDMA suspend needs no capability.
    let _ = dev.take_interrupts();
    assert_eq!(dev.service_event(&mem, ServiceRequest::RdmaSuspend), Ok(()));
    assert_eq!(dev.take_interrupts(), 1);
}

#[test]
fn doorbells_outside_the_pages_and_register_writes_are_protocol_errors() {
    let mem = Mem::default();
    let mut dev = SwDevice::boxed(SwConfig::default(), &LOG).unwrap();
    dev.write32(&mem, regs::GDMA_REG_DB_PAGE_SIZE, 1);
    dev.doorbell(&mem, &mut NoWire, 8, 0, 0);
    dev.doorbell(
        &mem,
        &mut NoWire,
        DB_PAGE_OFFSET + DB_PAGE_SIZE * NUM_DB_PAGES,
        0,
        0,
    );
    assert_eq!(dev.stats().protocol_errors, 3);
    // A data-path doorbell for a queue the device does not know is counted, not fatal.
    dev.doorbell(&mem, &mut NoWire, DB_PAGE_OFFSET + DB_PAGE_SIZE, 5, 0);
    assert_eq!(dev.read32(regs::GDMA_REG_DB_PAGE_SIZE), DB_PAGE_SIZE as u32);
}

#[test]
fn faults_are_armed_up_to_the_table_capacity() {
    let mut dev = SwDevice::boxed(SwConfig::default(), &LOG).unwrap();
    for code in 0..MAX_FAULTS as u32 {
        assert_eq!(dev.inject(code, Fault::NoResponse, 1), Ok(()));
    }
    assert_eq!(dev.inject(99, Fault::Late(5), 1), Err(Error::NoSpace));
}

/// The driver's side of the hardware channel, as far as the tests need it: one request at a
/// time, its response read back from the receive buffer.
struct Channel {
    sq_tail: u32,
    rq_tail: u32,
}

const REQ_BUF: u64 = 0x20_0000;
const RESP_BUF: u64 = 0x21_0000;

impl Channel {
    /// A device with its hardware channel established and its buffers mapped.
    fn up(config: SwConfig) -> (alloc::boxed::Box<SwDevice>, Mem, Channel) {
        let mem = Mem::default();
        for q in [EQ, CQ, RQ, SQ, REQ_BUF, RESP_BUF] {
            mem.map(q);
        }
        let mut dev = SwDevice::boxed(config, &LOG).unwrap();
        assert_eq!(smc(&mut dev, &mem, &establish(0)).status().get(), 0);
        let _ = dev.take_interrupts();
        (
            dev,
            mem,
            Channel {
                sq_tail: 0,
                rq_tail: 0,
            },
        )
    }

    /// Posts `req` (with a receive buffer for its response) and has the device process it.
    /// Returns the response, or `None` if the device did not answer.
    fn send(&mut self, dev: &mut SwDevice, mem: &Mem, req: &[u8]) -> Option<Vec<u8>> {
        mem.dma_write(RESP_BUF, &[0; 4096]).unwrap();
        let mut rq_wqe = [0u8; HWC_RQ_WQE_SIZE as usize];
        rq_wqe[..8].copy_from_slice(
            WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)
                .unwrap()
                .as_bytes(),
        );
        let sge = Sge {
            address: RESP_BUF,
            mem_key: HWC_GPA_MKEY,
            size: HWC_MAX_MSG,
        };
        rq_wqe[16..32].copy_from_slice(sge.as_bytes());
        mem.dma_write(RQ + u64::from(self.rq_tail % HWC_QUEUE_SIZE), &rq_wqe)
            .unwrap();
        self.rq_tail = self.rq_tail.wrapping_add(HWC_RQ_WQE_SIZE);
        let db = |qtype| {
            DB_PAGE_OFFSET + queue::doorbell_offset(DB_PAGE_SIZE as u64, 0, qtype).unwrap() as usize
        };
        dev.doorbell(
            mem,
            &mut NoWire,
            db(queue::queue_type::RQ),
            u64::from(HWC_RQ_ID) | u64::from(self.rq_tail) << 32,
            0,
        );

        mem.dma_write(REQ_BUF, req).unwrap();
        let mut sq_wqe = [0u8; HWC_SQ_WQE_SIZE as usize];
        sq_wqe[..8].copy_from_slice(
            WqeHeader::new(1, queue::INLINE_OOB_LARGE_SIZE, 0)
                .unwrap()
                .as_bytes(),
        );
        sq_wqe[8..32].copy_from_slice(
            HwcTxOob::new(0, 0, HWC_SQ_ID, HWC_CQ_ID, false)
                .unwrap()
                .as_bytes(),
        );
        let sge = Sge {
            address: REQ_BUF,
            mem_key: HWC_GPA_MKEY,
            size: req.len() as u32,
        };
        sq_wqe[32..48].copy_from_slice(sge.as_bytes());
        mem.dma_write(SQ + u64::from(self.sq_tail % HWC_QUEUE_SIZE), &sq_wqe)
            .unwrap();
        self.sq_tail = self.sq_tail.wrapping_add(HWC_SQ_WQE_SIZE);
        dev.doorbell(
            mem,
            &mut NoWire,
            db(queue::queue_type::SQ),
            u64::from(HWC_SQ_ID) | u64::from(self.sq_tail) << 32,
            0,
        );
        assert_eq!(dev.next_request_delay_us(mem, 0), Some(0));
        assert!(dev.process_one(mem));
        let responses = dev.stats().responses;
        let page = mem.page(RESP_BUF);
        let hdr = RespHdr::from_bytes_copy(&page[..size_of::<RespHdr>()]).unwrap();
        if hdr.response.msg_size == 0 {
            return None;
        }
        assert!(responses > 0);
        Some(page[..hdr.response.msg_size as usize].to_vec())
    }
}

/// The status of response `resp`.
fn status(resp: &[u8]) -> u32 {
    RespHdr::from_bytes_copy(&resp[..size_of::<RespHdr>()])
        .unwrap()
        .status
}

#[test]
fn requests_are_answered_on_the_hardware_channel() {
    let config = SwConfig {
        num_vectors: 9,
        ..SwConfig::default()
    };
    let (mut dev, mem, mut hwc) = Channel::up(config);
    let req = hdr::new_request::<gdma_msgs::QueryMaxResourcesReq>();
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0);
    let r = QueryMaxResourcesResp::from_bytes_copy(&resp).unwrap();
    assert_eq!((r.max_msix, r.max_db), (9, NUM_DB_PAGES as u32));
    // The completion was signalled on the channel's vector (0).
    assert_eq!(dev.take_interrupts(), 1);

    // An unknown request is answered "unsupported" (no protocol error: the driver may probe).
    let mut unknown = req;
    unknown.hdr.req.msg_type = 0x7777;
    let resp = hwc.send(&mut dev, &mem, unknown.as_bytes()).unwrap();
    assert_eq!(status(&resp), STATUS_CMD_UNSUPPORTED);
    assert_eq!(dev.stats().count(gdma_msgs::code::QUERY_MAX_RESOURCES), 1);
    assert_eq!(dev.stats().total_requests, 2);
    assert_eq!(dev.stats().protocol_errors, 0);
}

#[test]
fn dma_regions_are_created_checked_and_destroyed() {
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    let pages = [0x40_0000u64, 0x40_1000];
    let region = |pages: &[u64]| {
        let count = pages.len() as u32;
        let req =
            gdma_msgs::CreateDmaRegionReq::new(u64::from(count) * 4096, count, count).unwrap();
        let mut msg = vec![0u8; req.hdr.req.msg_size as usize];
        req.write(pages, &mut msg).unwrap();
        msg
    };

    // Pages the driver has not mapped: refused, a DMA fault and a protocol error.
    let resp = hwc.send(&mut dev, &mem, &region(&pages)).unwrap();
    assert_eq!(status(&resp), 0x2);
    assert_eq!(
        (dev.stats().dma_faults, dev.stats().protocol_errors),
        (1, 1)
    );
    assert_eq!(dev.stats().live_regions, 0);

    for p in pages {
        mem.map(p);
    }
    let resp = hwc.send(&mut dev, &mem, &region(&pages)).unwrap();
    assert_eq!(status(&resp), 0);
    let handle = gdma_msgs::CreateDmaRegionResp::from_bytes_copy(&resp)
        .unwrap()
        .dma_region_handle;
    assert_eq!(dev.stats().live_regions, 1);

    let mut destroy = hdr::new_request::<gdma_msgs::DestroyDmaRegionReq>();
    destroy.dma_region_handle = handle;
    let resp = hwc.send(&mut dev, &mem, destroy.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0);
    assert_eq!(dev.stats().live_regions, 0);
    // Twice: an unknown region.
    let resp = hwc.send(&mut dev, &mem, destroy.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0x2);
    assert_eq!(dev.stats().protocol_errors, 2);
}

#[test]
fn dma_regions_of_large_pages_are_taken_as_mana_ib_sends_them() {
    // mana_ib registers user memory with the largest page size it allows
    // (ib_umem_find_best_pgsz()): 4 KiB << page type, the length ending in the last page.
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    for p in 0..4 {
        mem.map(0x40_0000 + p * 0x1000);
    }
    let mut region = |dev: &mut SwDevice, length: u64, page_type: u32| {
        let mut req = gdma_msgs::CreateDmaRegionReq::new(length, 1, 1).unwrap();
        req.gdma_page_type = page_type;
        let mut msg = vec![0u8; req.hdr.req.msg_size as usize];
        req.write(&[0x40_0000], &mut msg).unwrap();
        status(&hwc.send(dev, &mem, &msg).unwrap())
    };
    // One 16 KiB page (type 2) holding 12 KiB, then 16 KiB.
    assert_eq!(region(&mut dev, 0x3000, 2), 0);
    assert_eq!(region(&mut dev, 0x4000, 2), 0);
    assert_eq!(dev.stats().protocol_errors, 0);
    // A length beyond the page, or one that leaves the page empty, is refused.
    assert_eq!(region(&mut dev, 0x4001, 2), 0x2);
    assert_eq!(
        region(&mut dev, 0x1000, 3),
        0x2,
        "a 32 KiB page, not all mapped or used"
    );
    assert_eq!(dev.stats().live_regions, 2);
}

#[test]
fn injected_faults_change_the_answer() {
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    let req = hdr::new_request::<gdma_msgs::QueryMaxResourcesReq>();
    let code = gdma_msgs::code::QUERY_MAX_RESOURCES;
    dev.inject(code, Fault::Status(0x55), 1).unwrap();
    dev.inject(code + 100, Fault::NoResponse, 1).unwrap();
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0x55);
    // Armed once: the next one is answered normally.
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0);

    dev.inject(code, Fault::NoResponse, 1).unwrap();
    assert_eq!(hwc.send(&mut dev, &mem, req.as_bytes()), None);
    assert_eq!(dev.stats().faults_injected, 2);

    dev.inject(code, Fault::WrongActivityId, 1).unwrap();
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    let h = RespHdr::from_bytes_copy(&resp[..size_of::<RespHdr>()]).unwrap();
    assert_eq!(h.activity_id, req.hdr.activity_id.wrapping_add(1));
}

#[test]
fn link_config_reports_the_allowance_and_the_bandwidth_clamp() {
    let config = SwConfig {
        num_ports: 2,
        qos_speed_mbps: 40_000,
        ..SwConfig::default()
    };
    let (mut dev, mem, mut hwc) = Channel::up(config);
    let query = |dev: &mut SwDevice, hwc: &mut Channel, vport: u64| {
        let req = mana_msgs::QueryLinkConfigReq::new(vport);
        let resp = hwc.send(dev, &mem, req.as_bytes()).unwrap();
        let r = mana_msgs::QueryLinkConfigResp::from_bytes_copy(&resp).unwrap();
        (
            status(&resp),
            r.qos_speed_mbps,
            r.link_speed_mbps,
            r.qos_unconfigured,
        )
    };
    let clamp = |dev: &mut SwDevice, hwc: &mut Channel, vport: u64, enable: u32, mbps: u32| {
        let mut req = hdr::new_request::<mana_msgs::SetBwClampReq>();
        req.vport = vport;
        req.enable_clamping = enable;
        req.link_speed_mbps = mbps;
        let resp = hwc.send(dev, &mem, req.as_bytes()).unwrap();
        assert_eq!(resp.len(), size_of::<mana_msgs::SetBwClampResp>());
        status(&resp)
    };
    let (v0, v1) = (VPORT_HANDLE_BASE, VPORT_HANDLE_BASE + 1);
    // No clamp: the link runs at the allowance.
    assert_eq!(query(&mut dev, &mut hwc, v0), (0, 40_000, 40_000, 0));

    // A clamp (what the C driver sends for a netdev shaper of 2 Gbit/s) on vport 0 only.
    assert_eq!(
        clamp(&mut dev, &mut hwc, v0, mana_msgs::tri_state::TRUE, 2_000),
        0
    );
    assert_eq!(query(&mut dev, &mut hwc, v0), (0, 40_000, 2_000, 0));
    assert_eq!(query(&mut dev, &mut hwc, v1), (0, 40_000, 40_000, 0));
    assert_eq!(dev.vport(0).unwrap().bw_clamp_mbps, Some(2_000));
    assert_eq!(dev.vport(1).unwrap().bw_clamp_mbps, None);

    // Refused, leaving the clamp as it was: 0, above the allowance, no decision.
    for (enable, mbps) in [
        (mana_msgs::tri_state::TRUE, 0),
        (mana_msgs::tri_state::TRUE, 40_001),
        (mana_msgs::tri_state::UNKNOWN, 1_000),
    ] {
        assert_eq!(
            clamp(&mut dev, &mut hwc, v0, enable, mbps),
            0x2,
            "{enable} {mbps}"
        );
    }
    assert_eq!(query(&mut dev, &mut hwc, v0), (0, 40_000, 2_000, 0));
    assert_eq!(dev.stats().protocol_errors, 0);

    // Removed (the C driver sends speed 0 with FALSE): back to the allowance.
    assert_eq!(
        clamp(&mut dev, &mut hwc, v0, mana_msgs::tri_state::FALSE, 0),
        0
    );
    assert_eq!(query(&mut dev, &mut hwc, v0), (0, 40_000, 40_000, 0));
    assert_eq!(dev.vport(0).unwrap().bw_clamp_mbps, None);

    // An unknown vport handle is a driver bug.
    assert_eq!(query(&mut dev, &mut hwc, v0 + 2).0, 0x2);
    assert_eq!(
        clamp(&mut dev, &mut hwc, v0 + 2, mana_msgs::tri_state::FALSE, 0),
        0x2
    );
    assert_eq!(dev.stats().protocol_errors, 2);
    assert_eq!(dev.stats().count(mana_msgs::code::SET_BW_CLAMP), 6);
}

#[test]
fn a_host_can_move_the_device_to_its_model_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<SwDevice>();
    // And its size is what the documentation says a host must put on the heap.
    let size = size_of::<SwDevice>();
    assert!((200 << 10..512 << 10).contains(&size), "{size}");
}

/// The BAR0 offset of the hardware channel's doorbell of queue type `qtype`.
fn hwc_doorbell(qtype: u32) -> usize {
    DB_PAGE_OFFSET + queue::doorbell_offset(DB_PAGE_SIZE as u64, 0, qtype).unwrap() as usize
}

#[test]
fn an_armed_eq_with_unconsumed_events_interrupts_again() {
    // The C driver takes at most five events per interrupt, then re-arms the EQ at what it
    // consumed: the init events (eleven) need the device to interrupt again, as hardware does.
    let (mut dev, mem, _hwc) = Channel::up(SwConfig::default());
    let eq_db = |consumed: u32, arm: bool| {
        let tail = queue::cq_doorbell_tail(queue::initial_index(EQ_ENTRIES) + consumed, EQ_ENTRIES);
        queue::EqDoorbell::new(HWC_EQ_ID, tail, arm)
            .unwrap()
            .into_raw()
    };
    let eq = hwc_doorbell(queue::queue_type::EQ);
    dev.doorbell(&mem, &mut NoWire, eq, eq_db(5, true), 0);
    assert_eq!(dev.take_interrupts(), 1, "six events left: vector 0 again");
    dev.doorbell(&mem, &mut NoWire, eq, eq_db(10, false), 0);
    assert_eq!(dev.take_interrupts(), 0, "not armed");
    dev.doorbell(&mem, &mut NoWire, eq, eq_db(11, true), 0);
    assert_eq!(dev.take_interrupts(), 0, "armed with every event consumed");
    assert_eq!(dev.stats().protocol_errors, 0);
}

#[test]
fn a_test_event_goes_to_the_eq_named() {
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    let req = gdma_msgs::GenerateTestEqeReq::new(HWC_EQ_ID);
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0);
    // After the eleven init events: the test event, then the response's completion.
    let eq = mem.page(EQ);
    let test = Eqe::from_bytes_copy(&eq[16 * 11..16 * 12]).unwrap();
    assert_eq!(
        test.info.eqe_type().get() as u8,
        queue::eqe_type::TEST_EVENT
    );
    let next = Eqe::from_bytes_copy(&eq[16 * 12..16 * 13]).unwrap();
    assert_eq!(
        next.info.eqe_type().get() as u8,
        queue::eqe_type::COMPLETION
    );
    assert_eq!(dev.take_interrupts(), 1);

    // An EQ the device does not have: refused and counted.
    let req = gdma_msgs::GenerateTestEqeReq::new(77);
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_ne!(status(&resp), 0);
    assert_eq!(dev.stats().protocol_errors, 1);
}

#[test]
fn the_ethernet_and_the_rdma_device_register_once_each() {
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    let mut send = |code_dev: (bool, u16)| {
        let (register, ty) = code_dev;
        let resp = if register {
            let mut req = hdr::new_request::<gdma_msgs::RegisterDeviceReq>();
            req.hdr.dev_id = hdr::DevId::new(ty, 0);
            hwc.send(&mut dev, &mem, req.as_bytes())
        } else {
            let mut req = hdr::new_request::<gdma_msgs::DeregisterDeviceReq>();
            req.hdr.dev_id = hdr::DevId::new(ty, 0);
            hwc.send(&mut dev, &mem, req.as_bytes())
        };
        status(&resp.unwrap())
    };
    let (mana, ib) = (hdr::device_type::MANA, hdr::device_type::MANA_IB);
    // The C driver's order: the Ethernet device, then the RDMA device (mana_rdma_probe()).
    assert_eq!(send((true, mana)), 0);
    assert_eq!(send((true, ib)), 0);
    assert_ne!(send((true, ib)), 0, "registered already");
    assert_eq!(send((false, ib)), 0);
    assert_ne!(send((false, ib)), 0, "not registered");
    assert_eq!(send((false, mana)), 0);
    assert_eq!(dev.stats().live_registrations, 0);
    assert_eq!(dev.stats().protocol_errors, 1);
}

#[test]
fn the_device_lists_only_the_devices_it_serves() {
    // The C driver's mana_ib probes an RNIC for a listed MANA_IB device and sends it
    // GET_ADAPTER_CAP, which the model does not serve: the model lists no such device.
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    let req = hdr::new_request::<gdma_msgs::ListDevicesReq>();
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0);
    let r = gdma_msgs::ListDevicesResp::from_bytes_copy(&resp).unwrap();
    let listed: Vec<u16> = r.devs[..r.num_of_devs as usize]
        .iter()
        .map(|d| d.ty)
        .collect();
    assert_eq!(listed, [hdr::device_type::HWC, hdr::device_type::MANA]);
}

#[test]
fn queue_ids_index_the_device_tables_and_are_reused() {
    // The C driver indexes its CQ table with the CQ id and refuses (with a WARN) an id at or
    // beyond the MAX_NUM_CQS of the channel's init data: ids must stay below it however many
    // queues were created and destroyed before (ethtool -L, raw QP loops).
    fn ok(hwc: &mut Channel, dev: &mut SwDevice, mem: &Mem, req: &[u8]) -> Vec<u8> {
        let resp = hwc.send(dev, mem, req).unwrap();
        assert_eq!(status(&resp), 0);
        resp
    }
    fn region(hwc: &mut Channel, dev: &mut SwDevice, mem: &Mem, page: u64) -> u64 {
        mem.map(page);
        let req = gdma_msgs::CreateDmaRegionReq::new(4096, 1, 1).unwrap();
        let mut msg = vec![0u8; req.hdr.req.msg_size as usize];
        req.write(&[page], &mut msg).unwrap();
        gdma_msgs::CreateDmaRegionResp::from_bytes_copy(&ok(hwc, dev, mem, &msg))
            .unwrap()
            .dma_region_handle
    }
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    let req = hdr::new_request::<gdma_msgs::QueryMaxResourcesReq>();
    let max = QueryMaxResourcesResp::from_bytes_copy(&ok(&mut hwc, &mut dev, &mem, req.as_bytes()))
        .unwrap();
    // The init data's MAX_NUM_CQS covers every queue id: the channel's three, then one per
    // data-path queue of any type (ids are unique across types).
    let max_num_cqs = 3 + (max.max_eq - 1) + max.max_sq + max.max_rq + max.max_cq;
    let req = hdr::new_request::<gdma_msgs::RegisterDeviceReq>();
    ok(&mut hwc, &mut dev, &mem, req.as_bytes());
    let mut eq = hdr::new_request::<gdma_msgs::CreateQueueReq>();
    eq.ty = queue::queue_type::EQ;
    eq.pdid = MANA_DEV_PDID;
    eq.doorbell_id = MANA_DEV_DOORBELL;
    eq.gdma_region = region(&mut hwc, &mut dev, &mem, 0x40_0000);
    eq.queue_size = 4096;
    eq.eq_pci_msix_index = 1;
    let resp = ok(&mut hwc, &mut dev, &mem, eq.as_bytes());
    let eq_id = gdma_msgs::CreateQueueResp::from_bytes_copy(&resp)
        .unwrap()
        .queue_index;
    assert!(eq_id != HWC_EQ_ID && eq_id < max.max_eq, "EQ {eq_id}");

    let mut first = None;
    for round in 0..3 * u64::from(max.max_cq) {
        let mut req = hdr::new_request::<mana_msgs::CreateWqObjReq>();
        req.vport = VPORT_HANDLE_BASE;
        req.wq_type = queue::queue_type::SQ;
        req.wq_gdma_region = region(&mut hwc, &mut dev, &mem, 0x41_0000 + round * 0x2000);
        req.cq_gdma_region = region(&mut hwc, &mut dev, &mem, 0x41_1000 + round * 0x2000);
        req.wq_size = 4096;
        req.cq_size = 4096;
        req.cq_parent_qid = eq_id;
        let resp = ok(&mut hwc, &mut dev, &mem, req.as_bytes());
        let r = mana_msgs::CreateWqObjResp::from_bytes_copy(&resp).unwrap();
        let (sq, cq) = (r.wq_id, r.cq_id);
        assert!(cq >= 3 && cq < max_num_cqs, "round {round}: CQ {cq}");
        assert!(
            sq >= 3 && sq < max_num_cqs && sq != cq,
            "round {round}: SQ {sq}"
        );
        // A destroyed queue's ids are free again: the next one gets the same.
        assert_eq!(*first.get_or_insert((sq, cq)), (sq, cq), "round {round}");
        let mut destroy = hdr::new_request::<mana_msgs::DestroyWqObjReq>();
        destroy.wq_type = queue::queue_type::SQ;
        destroy.wq_obj_handle = r.wq_obj;
        ok(&mut hwc, &mut dev, &mem, destroy.as_bytes());
    }
    assert_eq!(dev.stats().protocol_errors, 0);
}

#[test]
fn statistics_and_fences_are_answered() {
    let (mut dev, mem, mut hwc) = Channel::up(SwConfig::default());
    let req = mana_msgs::QueryGfStatReq::new(mana_msgs::stat_flags::ALL);
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_eq!(status(&resp), 0);
    let r = mana_msgs::QueryGfStatResp::from_bytes_copy(&resp).unwrap();
    assert_eq!(r.reported_stats, mana_msgs::stat_flags::ALL);
    assert_eq!((r.hc_rx_ucast_pkts, r.hc_tx_ucast_pkts), (0, 0));

    // A fence of a receive queue the device does not have: refused and counted. (The fence
    // of a live one completes with an RX_OBJECT_FENCE CQE: the PCI stage's C driver waits for
    // it on every interface down.)
    let req = mana_msgs::FenceRqReq::new(0x1234);
    let resp = hwc.send(&mut dev, &mem, req.as_bytes()).unwrap();
    assert_ne!(status(&resp), 0);
    assert_eq!(dev.stats().protocol_errors, 1);
}

/// Frames that left the device through a port linked outside it.
#[derive(Default)]
struct Captured(Vec<(u32, Vec<u8>, Option<u16>)>);

impl Wire for Captured {
    fn transmit(&mut self, port: u32, frame: &[u8], vlan: Option<u16>) {
        self.0.push((port, frame.to_vec(), vlan));
    }
}

/// The data path of a two-port device as the Ethernet driver sets it up: an EQ, a send queue
/// on port 0 and a receive queue on port 1 with RX steering to it.
struct Ports {
    dev: alloc::boxed::Box<SwDevice>,
    mem: Mem,
    sq_id: u32,
    /// The CQ of the send queue, which its send OOBs name.
    sq_cq: u32,
    rq_id: u32,
    sq_tail: u32,
    rq_tail: u32,
}

const TX_BUF: u64 = 0x60_0000;
const RX_BUF: u64 = 0x61_0000;
const SQ_MEM: u64 = 0x51_0000;
const RQ_MEM: u64 = 0x53_0000;
const RX_CQ_MEM: u64 = 0x54_0000;

impl Ports {
    fn up() -> Ports {
        let config = SwConfig {
            num_ports: 2,
            ..SwConfig::default()
        };
        let (mut dev, mem, mut hwc) = Channel::up(config);
        let mut send = |dev: &mut SwDevice, req: &[u8]| {
            let resp = hwc.send(dev, &mem, req).unwrap();
            assert_eq!(status(&resp), 0);
            resp
        };
        send(
            &mut dev,
            hdr::new_request::<gdma_msgs::RegisterDeviceReq>().as_bytes(),
        );
        // No CONFIG_VPORT_TX: until one, the vports belong to the registered device (its PD,
        // key and doorbell page), as in the KUnit tests that build queues without a netdev.
        let mut region = |dev: &mut SwDevice, page: u64| {
            mem.map(page);
            let req = gdma_msgs::CreateDmaRegionReq::new(4096, 1, 1).unwrap();
            let mut msg = vec![0u8; req.hdr.req.msg_size as usize];
            req.write(&[page], &mut msg).unwrap();
            let resp = send(dev, &msg);
            gdma_msgs::CreateDmaRegionResp::from_bytes_copy(&resp)
                .unwrap()
                .dma_region_handle
        };
        let eq_region = region(&mut dev, 0x50_0000);
        let sq_region = region(&mut dev, SQ_MEM);
        let sq_cq_region = region(&mut dev, 0x52_0000);
        let rq_region = region(&mut dev, RQ_MEM);
        let rq_cq_region = region(&mut dev, RX_CQ_MEM);
        mem.map(TX_BUF);
        mem.map(RX_BUF);

        let mut eq = hdr::new_request::<gdma_msgs::CreateQueueReq>();
        eq.ty = queue::queue_type::EQ;
        eq.pdid = MANA_DEV_PDID;
        eq.doorbell_id = MANA_DEV_DOORBELL;
        eq.gdma_region = eq_region;
        eq.queue_size = 4096;
        eq.eq_pci_msix_index = 1;
        let resp = send(&mut dev, eq.as_bytes());
        let eq_id = gdma_msgs::CreateQueueResp::from_bytes_copy(&resp)
            .unwrap()
            .queue_index;

        let mut wq_obj = |dev: &mut SwDevice, port: u64, ty, wq, cq| {
            let mut req = hdr::new_request::<mana_msgs::CreateWqObjReq>();
            req.vport = VPORT_HANDLE_BASE + port;
            req.wq_type = ty;
            req.wq_gdma_region = wq;
            req.cq_gdma_region = cq;
            req.wq_size = 4096;
            req.cq_size = 4096;
            req.cq_parent_qid = eq_id;
            let resp = send(dev, req.as_bytes());
            mana_msgs::CreateWqObjResp::from_bytes_copy(&resp).unwrap()
        };
        let sq = wq_obj(&mut dev, 0, queue::queue_type::SQ, sq_region, sq_cq_region);
        let rq = wq_obj(&mut dev, 1, queue::queue_type::RQ, rq_region, rq_cq_region);
        let mut rx = mana_msgs::CfgRxSteerReq::new(VPORT_HANDLE_BASE + 1, 0, 1, false).unwrap();
        rx.update_default_rxobj = 1;
        rx.default_rxobj = rq.wq_obj;
        send(&mut dev, rx.as_bytes());
        assert_eq!(dev.stats().live_wq_objs, 2);
        assert_eq!(dev.stats().protocol_errors, 0);
        Ports {
            dev,
            mem,
            sq_id: sq.wq_id,
            sq_cq: sq.cq_id,
            rq_id: rq.wq_id,
            sq_tail: 0,
            rq_tail: 0,
        }
    }

    fn doorbell(qtype: u32) -> usize {
        DB_PAGE_OFFSET
            + queue::doorbell_offset(DB_PAGE_SIZE as u64, MANA_DEV_DOORBELL, qtype).unwrap()
                as usize
    }

    /// Posts a receive buffer of 2 KiB.
    fn post_receive(&mut self) {
        let mut wqe = [0u8; 32];
        wqe[..8].copy_from_slice(
            WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)
                .unwrap()
                .as_bytes(),
        );
        let sge = Sge {
            address: RX_BUF,
            mem_key: MANA_DEV_GPA_MKEY,
            size: 2048,
        };
        wqe[16..32].copy_from_slice(sge.as_bytes());
        self.mem
            .dma_write(RQ_MEM + u64::from(self.rq_tail % 4096), &wqe)
            .unwrap();
        self.rq_tail += 32;
        let db = queue::RqDoorbell::new(self.rq_id, self.rq_tail).unwrap();
        self.dev.doorbell(
            &self.mem,
            &mut NoWire,
            Self::doorbell(queue::queue_type::RQ),
            db.into_raw(),
            0,
        );
    }

    /// Sends `frame` on port 0.
    fn send(&mut self, frame: &[u8], wire: &mut dyn Wire) {
        self.mem.dma_write(TX_BUF, frame).unwrap();
        let mut wqe = [0u8; 32];
        wqe[..8].copy_from_slice(
            WqeHeader::new(1, queue::INLINE_OOB_SMALL_SIZE, 0)
                .unwrap()
                .as_bytes(),
        );
        let mut oob = mana_wire::eth::TxShortOob::zeroed();
        oob.word0 = oob.word0.try_with_vcq_num(self.sq_cq).unwrap();
        wqe[8..16].copy_from_slice(oob.as_bytes());
        let sge = Sge {
            address: TX_BUF,
            mem_key: MANA_DEV_GPA_MKEY,
            size: frame.len() as u32,
        };
        wqe[16..32].copy_from_slice(sge.as_bytes());
        self.mem
            .dma_write(SQ_MEM + u64::from(self.sq_tail % 4096), &wqe)
            .unwrap();
        self.sq_tail += 32;
        let db = queue::SqDoorbell::new(self.sq_id, self.sq_tail).unwrap();
        self.dev.doorbell(
            &self.mem,
            wire,
            Self::doorbell(queue::queue_type::SQ),
            db.into_raw(),
            0,
        );
    }
}

/// A frame of no protocol the device parses (no offload, no hash).
fn frame(fill: u8) -> Vec<u8> {
    let mut f = vec![fill; 60];
    f[12..14].copy_from_slice(&0x88b5u16.to_be_bytes());
    f
}

#[test]
fn a_frame_sent_on_a_port_is_received_on_its_linked_port() {
    let mut p = Ports::up();
    // No buffer posted yet: dropped and counted.
    p.send(&frame(0xa1), &mut NoWire);
    let s = p.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.rx_packets, s.rx_no_buffer), (1, 0, 1));

    p.post_receive();
    p.send(&frame(0xa2), &mut NoWire);
    let s = p.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.rx_packets, s.rx_bytes), (2, 1, 60));
    assert_eq!(&p.mem.page(RX_BUF)[..60], &frame(0xa2)[..]);
    // The receive completion: the RQ's CQ, first entry.
    let cqe = Cqe::from_bytes_copy(&p.mem.page(RX_CQ_MEM)[..64]).unwrap();
    assert_eq!(cqe.info.wq_num().get(), p.rq_id);
    assert!(!cqe.info.is_sq().into_bool());
    let rq = p.dev.queue_stats(false, p.rq_id).unwrap();
    assert_eq!((rq.packets, rq.drops), (1, 1));
    assert_eq!((s.wqe_faults, s.dma_faults), (0, 0));
    assert_eq!(p.dev.stats().protocol_errors, 0);
}

#[test]
fn a_port_linked_outside_sends_to_the_wire_and_receives_from_the_host() {
    let mut p = Ports::up();
    assert_eq!(p.dev.set_external(2, true), Err(Error::Invalid));
    p.dev.set_external(0, true).unwrap();
    p.post_receive();
    let mut wire = Captured::default();
    p.send(&frame(0xb1), &mut wire);
    // It left the device: port 1 did not get it.
    assert_eq!(wire.0, vec![(0, frame(0xb1), None)]);
    let s = p.dev.stats().datapath;
    assert_eq!((s.tx_packets, s.rx_packets), (1, 0));

    // The host hands port 1 a frame from outside, with a tag to report.
    p.dev
        .receive_frame(&p.mem, 1, &frame(0xb2), Some(5))
        .unwrap();
    assert_eq!(p.dev.stats().datapath.rx_packets, 1);
    assert_eq!(&p.mem.page(RX_BUF)[..60], &frame(0xb2)[..]);
    assert_eq!(
        p.dev.receive_frame(&p.mem, 2, &frame(0xb3), None),
        Err(Error::Invalid)
    );

    // Linked back inside: the next frame stays in the device.
    p.dev.set_external(0, false).unwrap();
    p.post_receive();
    p.send(&frame(0xb4), &mut wire);
    assert_eq!(wire.0.len(), 1);
    assert_eq!(p.dev.stats().datapath.rx_packets, 2);
}
