// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: the core brought up, used and removed on software adapters, with every fault form.

use kernel::{
    prelude::*,
    sync::Arc,
    transmute::AsBytes, //
};

use super::{
    device::SwDevice,
    Fault,
    SwAdapter,
    SwConfig, //
};
use crate::{
    adapter::{
        dev_config_fields,
        request, //
    },
    transport::Transport,
    wire::{
        gdma_msgs::{
            code as gdma_code,
            QueryMaxResourcesReq, //
        },
        hdr::{
            new_request,
            MSG_V1,
            MSG_V2,
            MSG_V3, //
        },
        mana_msgs::{
            code as mana_code,
            QueryDevCfgResp,
            QueryVportCfgReq, //
        }, //
    },
    Adapter, //
};

/// The requests one bring-up sends, with their counts, for a one-port adapter.
const BRING_UP: [(u32, u32); 6] = [
    (gdma_code::VERIFY_VF_DRIVER_VERSION, 1),
    (gdma_code::LIST_DEVICES, 1),
    (gdma_code::QUERY_MAX_RESOURCES, 1),
    (mana_code::QUERY_DEV_CONFIG, 1),
    (gdma_code::REGISTER_DEVICE, 1),
    (mana_code::QUERY_VPORT_CONFIG, 1),
];

fn config() -> SwConfig {
    SwConfig::default()
}

/// Sends one QUERY_MAX_RESOURCES through the adapter's channel.
fn query(sw: &SwAdapter) -> Result<u32> {
    let resp = request(
        sw.adapter().hwc(),
        &mut new_request::<QueryMaxResourcesReq>(),
    )?;
    Ok(resp.max_msix)
}

#[kunit_tests(mana_rs_gdma_probe)]
mod probe {
    use super::*;

    #[test]
    fn probe_sends_the_bring_up_sequence_and_remove_undoes_it() -> Result {
        let mut cfg = config();
        cfg.num_ports = 3;
        let sw = SwAdapter::new(cfg, false)?;
        let stats = sw.device_stats();
        for (code, n) in BRING_UP {
            let expected = if code == mana_code::QUERY_VPORT_CONFIG {
                3
            } else {
                n
            };
            assert_eq!(stats.count(code), expected);
        }
        assert_eq!(stats.protocol_errors, 0);
        assert_eq!(stats.dma_faults, 0);
        assert_eq!(stats.live_hwc, 1);
        assert_eq!(stats.live_registrations, 1);
        assert_eq!(sw.adapter().ports().len(), 3);
        // The device's MAC numbering reaches the core unchanged.
        assert_eq!(sw.adapter().ports()[2].mac[5], cfg.mac_base[5] + 2);
        assert_eq!(sw.adapter().caps().adapter_mtu, cfg.adapter_mtu);
        assert_eq!(sw.adapter().hwc().stats().depth, cfg.hwc_depth);

        sw.adapter().remove();
        let stats = sw.device_stats();
        assert_eq!(stats.live_hwc, 0);
        assert_eq!(stats.live_registrations, 0);
        assert_eq!(stats.count(gdma_code::DEREGISTER_DEVICE), 1);
        assert_eq!(stats.protocol_errors, 0);
        // After removal the channel refuses requests instead of hanging.
        assert_eq!(query(&sw).err(), Some(ESHUTDOWN));
        Ok(())
    }

    #[test]
    fn hundred_probe_remove_cycles_leave_nothing_behind() -> Result {
        for _ in 0..100 {
            let sw = SwAdapter::new(config(), false)?;
            sw.adapter().remove();
            let stats = sw.device_stats();
            assert_eq!(stats.live_hwc, 0);
            assert_eq!(stats.live_registrations, 0);
            assert_eq!(stats.protocol_errors, 0);
            assert_eq!(stats.dma_faults, 0);
            let adapter = sw.adapter().clone();
            drop(sw);
            drop(adapter);
        }
        Ok(())
    }

    #[test]
    fn buffers_are_freed_with_the_adapter() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        // Four queues plus request and response buffers.
        assert_eq!(sw.live_buffers(), 6);
        let transport = sw.transport.clone();
        drop(sw);
        assert_eq!(transport.live_buffers(), 0);
        Ok(())
    }

    #[test]
    fn clients_get_auxiliary_devices() -> Result {
        let sw = SwAdapter::new(config(), true)?;
        assert!(sw._faux.is_some() && sw.has_rdma_client());
        drop(sw);
        Ok(())
    }

    #[test]
    fn dev_config_fields_follow_the_response_version() -> Result {
        let mut cfg = QueryDevCfgResp::zeroed();
        cfg.adapter_mtu = 9014;
        cfg.bm_hostmode = 1;
        cfg.hdr.response.msg_version = MSG_V1;
        assert_eq!(dev_config_fields(&cfg)?, (1514, false));
        cfg.hdr.response.msg_version = MSG_V2;
        assert_eq!(dev_config_fields(&cfg)?, (9014, false));
        cfg.hdr.response.msg_version = MSG_V3;
        assert_eq!(dev_config_fields(&cfg)?, (9014, true));
        // Old PF firmware: no adapter MTU means the standard frame.
        cfg.adapter_mtu = 0;
        assert_eq!(dev_config_fields(&cfg)?, (1514, true));
        // Too small for IP.
        cfg.adapter_mtu = 81;
        assert_eq!(dev_config_fields(&cfg), Err(EPROTO));
        Ok(())
    }

    #[test]
    fn a_pf_in_bare_metal_host_mode_addresses_its_requests_to_its_destination() -> Result {
        let mut cfg = config();
        cfg.pf = true;
        cfg.bm_hostmode = true;
        let sw = SwAdapter::new(cfg, true)?;
        assert!(sw.adapter().caps().bm_hostmode);
        query(&sw)?;
        // The device refuses requests without the init data's destination.
        assert_eq!(sw.device_stats().protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn a_pf_in_hypervisor_host_mode_is_refused_and_leaves_nothing() -> Result {
        let mut cfg = config();
        cfg.pf = true;
        let (e, stats, buffers) = SwAdapter::probe_failure(cfg, |_| Ok(()))?;
        assert_eq!(e, EOPNOTSUPP);
        assert_eq!(stats.live_hwc, 0);
        assert_eq!(stats.live_registrations, 0);
        assert_eq!(stats.protocol_errors, 0);
        assert_eq!(buffers, 0);
        Ok(())
    }

    #[test]
    fn a_pf_without_a_request_destination_is_refused() -> Result {
        // A device that does not send the PF destination, driven as a PF.
        let transport = super::super::transport::SwTransport::new(config())?;
        let bar: Arc<dyn Transport> = Arc::new(
            super::super::transport::SwTransportRef(transport.clone()),
            GFP_KERNEL,
        )?;
        let result = Adapter::probe(bar, super::super::device::BAR0_SIZE, true, None, 999);
        assert_eq!(result.err(), Some(EPROTO));
        assert_eq!(transport.with_device(|d| d.stats().live_hwc), 0);
        assert_eq!(transport.live_buffers(), 0);
        Ok(())
    }

    #[test]
    fn the_queue_budget_follows_vectors_and_device_limits() -> Result {
        // Vectors: three, one of them the channel's.
        let mut cfg = config();
        cfg.num_vectors = 3;
        assert_eq!(SwAdapter::new(cfg, false)?.adapter().max_queues(), 2);
        // The device's queue limits (QUERY_MAX_RESOURCES: 4 per port here).
        let mut cfg = config();
        cfg.max_queues = 4;
        assert_eq!(SwAdapter::new(cfg, false)?.adapter().max_queues(), 4);
        Ok(())
    }

    #[test]
    fn the_reported_depth_is_used() -> Result {
        let mut cfg = config();
        cfg.hwc_depth = 4;
        let sw = SwAdapter::new(cfg, false)?;
        assert_eq!(sw.adapter().hwc().stats().depth, 4);
        assert_eq!(query(&sw)?, cfg.num_vectors);
        Ok(())
    }
}

/// Waits up to 60 s for `cond` (the device's work item answers late on a loaded emulator; a
/// bound, not a timing assertion: it returns as soon as `cond` holds).
fn wait_for_hwc(cond: impl Fn() -> bool) -> bool {
    for _ in 0..60_000 {
        if cond() {
            return true;
        }
        kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
    }
    cond()
}

/// Probes with `fault` armed on `code` and returns the probe's errno, checking that nothing was
/// left on the device or in memory.
fn failed_probe(code: u32, fault: Fault) -> Result<Error> {
    let (err, stats, buffers) = SwAdapter::probe_failure(config(), |d: &mut SwDevice| {
        d.inject(code, fault, 1).map_err(crate::sw::host::errno)
    })?;
    assert_eq!(stats.live_hwc, 0);
    assert_eq!(stats.live_registrations, 0);
    assert_eq!(stats.faults_injected, 1);
    assert_eq!(buffers, 0);
    Ok(err)
}

#[kunit_tests(mana_rs_gdma_faults)]
mod faults {
    use super::*;

    #[test]
    fn error_status_fails_probe_with_eproto_and_unwinds() -> Result {
        assert_eq!(
            failed_probe(mana_code::QUERY_DEV_CONFIG, Fault::Status(0x1234))?,
            EPROTO
        );
        // A failure after REGISTER_DEVICE deregisters again.
        assert_eq!(
            failed_probe(mana_code::QUERY_VPORT_CONFIG, Fault::Status(0x1))?,
            EPROTO
        );
        Ok(())
    }

    #[test]
    fn unsupported_status_is_eopnotsupp() -> Result {
        assert_eq!(
            failed_probe(gdma_code::LIST_DEVICES, Fault::Status(0xffff_ffff))?,
            EOPNOTSUPP
        );
        Ok(())
    }

    #[test]
    fn short_response_is_eproto() -> Result {
        assert_eq!(
            failed_probe(gdma_code::QUERY_MAX_RESOURCES, Fault::ShortResponse)?,
            EPROTO
        );
        Ok(())
    }

    #[test]
    fn wrong_dev_id_is_eproto() -> Result {
        assert_eq!(
            failed_probe(mana_code::QUERY_DEV_CONFIG, Fault::WrongDevId)?,
            EPROTO
        );
        Ok(())
    }

    #[test]
    fn no_response_times_out_and_the_channel_stays_usable() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        sw.adapter().hwc().set_timeout_ms(50);
        sw.inject(gdma_code::QUERY_MAX_RESOURCES, Fault::NoResponse, 1)?;
        assert_eq!(query(&sw).err(), Some(ETIMEDOUT));
        // The next request must be answered: with the short timeout, a device work item that
        // a loaded machine runs late would fail it.
        sw.adapter()
            .hwc()
            .set_timeout_ms(crate::hwc::DEFAULT_TIMEOUT_MS);
        assert_eq!(query(&sw)?, config().num_vectors);
        assert_eq!(sw.adapter().hwc().stats().in_flight, 0);
        Ok(())
    }

    #[test]
    fn late_response_times_out_then_is_dropped_as_stale() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        // The answer comes 3 s after the request, the sender gives up after 20 ms: only a
        // sender not run for 3 s could see the answer in time (with 100 ms, a loaded emulator
        // could delay the waiting thread that long and the late answer was taken).
        sw.adapter().hwc().set_timeout_ms(20);
        sw.inject(gdma_code::QUERY_MAX_RESOURCES, Fault::Late(3000), 1)?;
        assert_eq!(query(&sw).err(), Some(ETIMEDOUT));
        sw.adapter()
            .hwc()
            .set_timeout_ms(crate::hwc::DEFAULT_TIMEOUT_MS);
        // The next request waits behind the late one on the device, then succeeds; the late
        // answer is not taken for it.
        assert_eq!(query(&sw)?, config().num_vectors);
        // The late answer is dropped when it arrives, which under load can be after the next
        // request's answer was taken: wait for it (at most 60 s), then it must be the only one.
        let mut waited = 0;
        while sw.adapter().hwc().stats().stale == 0 && waited < 60_000 {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
            waited += 1;
        }
        assert_eq!(sw.adapter().hwc().stats().stale, 1);
        Ok(())
    }

    #[test]
    fn misaddressed_responses_are_not_taken_for_the_request() -> Result {
        for fault in [Fault::WrongMsgId, Fault::WrongActivityId] {
            let sw = SwAdapter::new(config(), false)?;
            sw.adapter().hwc().set_timeout_ms(50);
            sw.inject(gdma_code::QUERY_MAX_RESOURCES, fault, 1)?;
            assert_eq!(query(&sw).err(), Some(ETIMEDOUT));
            // The misaddressed answer may come after the sender gave up (the device's work
            // item runs late under load): wait for it, then with the normal timeout the next
            // request is answered.
            assert!(wait_for_hwc(|| sw.adapter().hwc().stats().stale >= 1));
            assert_eq!(sw.adapter().hwc().stats().stale, 1);
            sw.adapter()
                .hwc()
                .set_timeout_ms(crate::hwc::DEFAULT_TIMEOUT_MS);
            assert_eq!(query(&sw)?, config().num_vectors);
        }
        Ok(())
    }

    #[test]
    fn out_of_range_ids_and_offsets_are_rejected() -> Result {
        for fault in [Fault::BadWqeOffset, Fault::BadCqeQueueId, Fault::BadEqeCqId] {
            let sw = SwAdapter::new(config(), false)?;
            sw.adapter().hwc().set_timeout_ms(50);
            sw.inject(gdma_code::QUERY_MAX_RESOURCES, fault, 1)?;
            assert_eq!(query(&sw).err(), Some(ETIMEDOUT));
            // The malformed answer may come after the sender gave up: wait for it.
            assert!(wait_for_hwc(|| sw.adapter().hwc().stats().malformed >= 1));
            assert_eq!(sw.device_stats().dma_faults, 0);
        }
        Ok(())
    }
}

#[kunit_tests(mana_rs_gdma_hwc)]
mod hwc {
    use super::*;
    use crate::{
        ring::{
            read_cqe,
            read_eqe,
            RingRead, //
        },
        wire::queue::{
            self,
            Cqe,
            CqeInfo,
            Eqe,
            EqeInfo, //
        },
    };

    /// The ring readers take an entry only in the pass of the ring its owner bits name: the
    /// previous pass is nothing new, a later one an overflow; the body is the entry's.
    #[test]
    fn ring_readers_follow_the_owner_bits() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let mem = sw.adapter().alloc_dma(4096)?;
        let eqes = queue::RingEntries::constant(4096 / queue::EQE_SIZE);
        let index = queue::initial_index(eqes) + 5;
        let offset = (eqes.slot(index) * queue::EQE_SIZE) as usize;
        assert!(matches!(read_eqe(&mem, index, eqes), RingRead::Empty));
        for (pass, expect_entry) in [(0, true), (1, false)] {
            let eqe = Eqe {
                details: [0x1234, 0, 7],
                info: EqeInfo::ZERO
                    .with_eqe_type(queue::eqe_type::COMPLETION)
                    .try_with_owner_bits(queue::owner_bits(index + pass * eqes.get(), eqes))?,
            };
            mem.write_obj(offset, &eqe)?;
            match read_eqe(&mem, index, eqes) {
                RingRead::Entry(e) => {
                    assert!(expect_entry);
                    assert_eq!(e.details, [0x1234, 0, 7]);
                }
                RingRead::Overflow => assert!(!expect_entry),
                RingRead::Empty => assert!(false),
            }
        }
        let cqes = queue::RingEntries::constant(4096 / queue::CQE_SIZE);
        let index = queue::initial_index(cqes) + cqes.get() - 1;
        let offset = (cqes.slot(index) * queue::CQE_SIZE) as usize;
        mem.clear()?;
        let mut cqe = Cqe::zeroed();
        cqe.info = CqeInfo::ZERO
            .try_with_wq_num(9u32)?
            .try_with_owner_bits(queue::owner_bits(index, cqes))?;
        mem.write_obj(offset, &cqe)?;
        assert!(
            matches!(read_cqe(&mem, index, cqes), RingRead::Entry(c) if c.info.wq_num().get() == 9)
        );
        // The next position (slot 0 of the next pass) still holds this pass's entry.
        cqe.info =
            CqeInfo::ZERO.try_with_owner_bits(queue::owner_bits(index + 1 - cqes.get(), cqes))?;
        mem.write_obj(0, &cqe)?;
        assert!(matches!(read_cqe(&mem, index + 1, cqes), RingRead::Empty));
        // There is no empty ring to read: its size cannot be made.
        assert!(queue::RingEntries::new(0).is_none());
        Ok(())
    }

    #[test]
    fn many_sequential_requests_wrap_every_queue() -> Result {
        let mut cfg = config();
        cfg.hwc_depth = 2;
        let sw = SwAdapter::new(cfg, false)?;
        // 300 requests: the EQ (256 entries) and CQ (64) wrap several times, and the owner-bit
        // phase with them.
        for _ in 0..300 {
            assert_eq!(query(&sw)?, cfg.num_vectors);
        }
        let stats = sw.device_stats();
        assert_eq!(stats.protocol_errors, 0);
        assert_eq!(sw.adapter().hwc().stats().malformed, 0);
        Ok(())
    }

    #[test]
    fn unknown_vport_is_refused_by_the_device() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let mut req = new_request::<QueryVportCfgReq>();
        req.hdr.dev_id = sw.adapter().caps().mana_dev;
        req.vport_index = 7;
        assert_eq!(request(sw.adapter().hwc(), &mut req).err(), Some(EPROTO));
        let _ = req.as_bytes();
        Ok(())
    }

    /// A vport's bandwidth: the allowance, a clamp the device applies to that vport alone, a
    /// clamp the device refuses (above the allowance), and the clamp removed.
    #[test]
    fn link_config_and_bandwidth_clamp_reach_the_device() -> Result {
        let mut cfg = config();
        cfg.num_ports = 2;
        cfg.qos_speed_mbps = 25_000;
        let sw = SwAdapter::new(cfg, false)?;
        let adapter = sw.adapter();
        let link = |mbps| crate::adapter::LinkConfig {
            qos_speed_mbps: 25_000,
            link_speed_mbps: mbps,
        };
        assert_eq!(adapter.query_link_config(0), Ok(link(25_000)));

        adapter.set_bw_clamp(1, Some(3_000))?;
        assert_eq!(adapter.query_link_config(1), Ok(link(3_000)));
        assert_eq!(adapter.query_link_config(0), Ok(link(25_000)));
        let clamp = |v| sw.vport_programming(v).and_then(|p| p.bw_clamp_mbps);
        assert_eq!((clamp(0), clamp(1)), (None, Some(3_000)));

        assert_eq!(adapter.set_bw_clamp(1, Some(25_100)), Err(EPROTO));
        assert_eq!(adapter.query_link_config(1), Ok(link(3_000)));

        adapter.set_bw_clamp(1, None)?;
        assert_eq!(adapter.query_link_config(1), Ok(link(25_000)));
        assert_eq!(clamp(1), None);

        // No such vport: refused before anything is sent.
        let sent = sw.device_stats().count(mana_code::SET_BW_CLAMP);
        assert_eq!(adapter.set_bw_clamp(2, None), Err(EINVAL));
        assert_eq!(adapter.query_link_config(2), Err(EINVAL));
        assert_eq!(sw.device_stats().count(mana_code::SET_BW_CLAMP), sent);
        assert_eq!(sw.device_stats().protocol_errors, 0);
        Ok(())
    }
}

/// Adapters shared by concurrent test threads, with what they saw.
struct Shared {
    sw: SwAdapter,
    ok: kernel::sync::atomic::Atomic<u32>,
    shutdown: kernel::sync::atomic::Atomic<u32>,
    other: kernel::sync::atomic::Atomic<u32>,
    per_thread: u32,
}

impl Shared {
    fn new(sw: SwAdapter, per_thread: u32) -> Result<kernel::sync::Arc<Self>> {
        use kernel::sync::atomic::Atomic;
        kernel::sync::Arc::new(
            Self {
                sw,
                ok: Atomic::new(0),
                shutdown: Atomic::new(0),
                other: Atomic::new(0),
                per_thread,
            },
            GFP_KERNEL,
        )
        .map_err(Into::into)
    }

    fn worker(&self, _i: u32) {
        use kernel::sync::atomic::Relaxed;
        for _ in 0..self.per_thread {
            match query(&self.sw) {
                Ok(n) if n == config().num_vectors => self.ok.fetch_add(1, Relaxed),
                Err(e) if e == ESHUTDOWN => {
                    self.shutdown.fetch_add(1, Relaxed);
                    return;
                }
                _ => self.other.fetch_add(1, Relaxed),
            };
        }
    }
}

#[kunit_tests(mana_rs_gdma_concurrency)]
mod concurrency {
    use kernel::sync::atomic::Relaxed;

    use super::*;
    use crate::shared_vport::testing::run_workers as parallel;

    #[test]
    fn requests_from_eight_threads_all_complete_with_several_in_flight() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        // A pipelined device: every request takes 200 µs, so threads overlap on the channel.
        sw.set_latency_us(200);
        let shared = Shared::new(sw, 40)?;
        parallel(&shared, 8, Shared::worker)?;
        assert_eq!(shared.ok.load(Relaxed), 8 * 40);
        assert_eq!(shared.other.load(Relaxed), 0);
        let hwc = shared.sw.adapter().hwc().stats();
        assert!(hwc.max_in_flight >= 2);
        assert!(hwc.max_in_flight <= config().hwc_depth);
        assert_eq!(hwc.in_flight, 0);
        assert_eq!(hwc.stale + hwc.malformed, 0);
        let dev = shared.sw.device_stats();
        assert_eq!(dev.count(gdma_code::QUERY_MAX_RESOURCES), 1 + 8 * 40);
        assert_eq!(dev.protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn removal_while_requests_are_in_flight() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        sw.set_latency_us(500);
        let shared = Shared::new(sw, 1000)?;
        // Four threads flood the channel; the test removes the adapter under them.
        let flood = shared.clone();
        let workers = kernel::workqueue::system_unbound().spawn(GFP_KERNEL, move || {
            let _ = parallel(&flood, 4, Shared::worker);
        });
        assert!(workers.is_ok());
        // Remove once requests are going through (not after a fixed time: under load the
        // workers may not have started yet), at most after 60 s.
        let mut waited = 0;
        while shared.ok.load(Relaxed) == 0 && waited < 60_000 {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
            waited += 1;
        }
        shared.sw.adapter().remove();
        // Every thread stops with ESHUTDOWN; nobody hangs, nothing else fails.
        let mut waited = 0;
        while shared.shutdown.load(Relaxed) < 4 && waited < 60_000 {
            kernel::time::delay::fsleep(kernel::time::Delta::from_millis(10));
            waited += 10;
        }
        assert_eq!(shared.shutdown.load(Relaxed), 4);
        assert_eq!(shared.other.load(Relaxed), 0);
        assert!(shared.ok.load(Relaxed) > 0);
        let dev = shared.sw.device_stats();
        assert_eq!(dev.live_hwc, 0);
        assert_eq!(dev.live_registrations, 0);
        Ok(())
    }
}

/// Round trips per second on a device answering after `latency_us`, with `threads` senders,
/// and the adapter's probe time in microseconds.
fn round_trips(latency_us: u32, depth: u32, threads: u32, per_thread: u32) -> Result<(u64, i64)> {
    let mut cfg = config();
    cfg.hwc_depth = depth;
    cfg.latency_us = latency_us;
    let probe_start = kernel::time::Instant::<kernel::time::Monotonic>::now();
    let sw = SwAdapter::new(cfg, false)?;
    let probe_us = probe_start.elapsed().as_nanos() / 1000;
    let shared = Shared::new(sw, per_thread)?;
    let ns = crate::shared_vport::testing::run_workers(&shared, threads, Shared::worker)?.max(1);
    let done = u64::from(shared.ok.load(kernel::sync::atomic::Relaxed));
    Ok((done * 1_000_000_000 / ns as u64, probe_us))
}

#[kunit_tests(mana_rs_gdma_bench)]
mod bench {
    use super::*;

    /// Prints figures for scripts/bench-hwc.sh; asserts only that the runs completed.
    ///
    /// At 50 µs (the figure) the per-request cost of driver and device model under TCG
    /// dominates; at 1 ms the device latency does, which shows what the depth buys.
    #[test]
    fn hwc_round_trips_depth_1_vs_device_depth() -> Result {
        let depth = config().hwc_depth;
        for (latency_us, requests) in [(50u32, 400u32), (1000, 200)] {
            let (serial, probe_us) = round_trips(latency_us, 1, 1, requests)?;
            let (pipelined, _) = round_trips(latency_us, depth, depth, requests / depth * 4)?;
            pr_info!(
                "bench: hwc latency_us={} depth=1 round_trips_per_s={}\n",
                latency_us,
                serial
            );
            pr_info!(
                "bench: hwc latency_us={} depth={} round_trips_per_s={}\n",
                latency_us,
                depth,
                pipelined
            );
            pr_info!(
                "bench: hwc latency_us={} depth_ratio={}.{:02}\n",
                latency_us,
                pipelined / serial.max(1),
                pipelined * 100 / serial.max(1) % 100
            );
            pr_info!(
                "bench: adapter probe_us={} (latency_us={}, depth=1)\n",
                probe_us,
                latency_us
            );
            assert!(serial > 0 && pipelined > 0);
        }
        Ok(())
    }
}

#[kunit_tests(mana_rs_gdma_objects)]
mod objects {
    use super::*;
    use crate::wire::gdma_msgs::DisableQueueReq;
    use kernel::sync::Arc;

    use crate::objects::{
        EventQueue,
        MemoryRegion,
        PageListRegion,
        ProtectionDomain,
        WqKind,
        WqObject, //
    };

    fn queue_set(sw: &SwAdapter) -> Result<(Arc<EventQueue>, WqObject, WqObject)> {
        let a = sw.adapter();
        let ctx = a.objects();
        let caps = a.caps();
        let eq = EventQueue::new(&ctx, 4096, 1, caps.pdid, caps.doorbell)?;
        let vport = a.ports()[0].handle;
        let sq = WqObject::new(&ctx, vport, WqKind::Send, 8192, 4096, &eq)?;
        let rq = WqObject::new(&ctx, vport, WqKind::Receive, 8192, 4096, &eq)?;
        Ok((eq, sq, rq))
    }

    #[test]
    fn queues_and_pds_are_created_and_destroyed_on_the_device() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let buffers = sw.live_buffers();
        let (eq, sq, rq) = queue_set(&sw)?;
        let pd = ProtectionDomain::new(&sw.adapter().objects(), 0)?;
        // The five regions belong to the queues now: the device destroys them with them.
        let s = sw.device_stats();
        assert_eq!(
            (s.live_regions, s.live_eqs, s.live_wq_objs, s.live_pds),
            (0, 1, 2, 1)
        );
        assert_eq!(s.count(gdma_code::CREATE_DMA_REGION), 5);
        assert!(sq.wq_id() != rq.wq_id() && sq.cq_id() != rq.cq_id());
        assert_eq!(sw.live_buffers(), buffers + 5);
        // Objects go before the EQ their CQs report to.
        drop((sq, rq));
        drop(eq);
        drop(pd);
        let s = sw.device_stats();
        assert_eq!(
            (s.live_regions, s.live_eqs, s.live_wq_objs, s.live_pds),
            (0, 0, 0, 0)
        );
        assert_eq!(s.protocol_errors, 0);
        assert_eq!(s.count(gdma_code::DESTROY_DMA_REGION), 0);
        assert_eq!(sw.live_buffers(), buffers);
        Ok(())
    }

    #[test]
    fn an_eq_outlives_the_queues_that_report_to_it() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let (eq, sq, rq) = queue_set(&sw)?;
        let id = eq.id();
        drop(eq);
        assert_eq!(sw.device_stats().live_eqs, 1);
        drop((sq, rq));
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_regions, s.protocol_errors), (0, 0, 0));

        // The device itself refuses the wrong order, should a driver send it.
        let (eq, sq, rq) = queue_set(&sw)?;
        let mut req = DisableQueueReq::new(crate::wire::queue::queue_type::EQ, eq.id());
        req.hdr.dev_id = sw.adapter().caps().mana_dev;
        assert_eq!(request(sw.adapter().hwc(), &mut req).err(), Some(EPROTO));
        assert_eq!(sw.device_stats().protocol_errors, 1);
        // The device numbers queues by their table index: the destroyed EQ's id is free again.
        assert_eq!(eq.id(), id);
        drop((sq, rq, eq));
        assert_eq!(sw.device_stats().live_eqs, 0);
        Ok(())
    }

    #[test]
    fn a_failed_create_leaves_nothing_behind() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let ctx = sw.adapter().objects();
        let caps = *sw.adapter().caps();
        let eq = EventQueue::new(&ctx, 4096, 1, caps.pdid, caps.doorbell)?;
        sw.inject(mana_code::CREATE_WQ_OBJ, Fault::Status(0x9), 1)?;
        let vport = sw.adapter().ports()[0].handle;
        assert_eq!(
            WqObject::new(&ctx, vport, WqKind::Send, 4096, 4096, &eq).err(),
            Some(EPROTO)
        );
        // The failed create destroyed its two regions; the EQ's belongs to the EQ.
        let s = sw.device_stats();
        assert_eq!((s.live_regions, s.live_wq_objs), (0, 0));
        assert_eq!(s.count(gdma_code::DESTROY_DMA_REGION), 2);
        // Bad sizes never reach the device.
        assert_eq!(
            WqObject::new(&ctx, vport, WqKind::Send, 3000, 4096, &eq).err(),
            Some(EINVAL)
        );
        drop(eq);
        assert_eq!(sw.device_stats().live_regions, 0);
        Ok(())
    }

    #[test]
    fn memory_regions_on_caller_pages() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let ctx = sw.adapter().objects();
        // Pages the caller owns (user memory in mana_rdma; a device buffer here).
        let mem = ctx.transport.alloc_dma(3 * 4096)?;
        let pages = [mem.dma_addr(), mem.dma_addr() + 4096, mem.dma_addr() + 8192];
        let mut region = PageListRegion::new(&ctx, &pages)?;
        assert_eq!(region.len(), 3 * 4096);
        assert_eq!(sw.device_stats().live_regions, 1);
        let pd = ProtectionDomain::new(&ctx, 0)?;
        let mr = MemoryRegion::new_gva(&ctx, &pd, &mut region, 0x7f00_0000_0000, 0x3)?;
        assert!(mr.lkey() != 0 && mr.lkey() == mr.rkey());
        // The MR owns the region now: the device destroys it with the MR.
        let s = sw.device_stats();
        assert_eq!((s.live_regions, s.live_pds, s.live_mrs), (0, 1, 1));
        // Unaligned or unmapped pages never make a region.
        assert_eq!(
            PageListRegion::new(&ctx, &[mem.dma_addr() + 8]).err(),
            Some(EINVAL)
        );
        assert_eq!(PageListRegion::new(&ctx, &[0x4000]).err(), Some(EPROTO));
        assert_eq!(sw.device_stats().protocol_errors, 1);
        drop(mr);
        drop(region);
        drop(pd);
        let s = sw.device_stats();
        assert_eq!((s.live_regions, s.live_pds, s.live_mrs), (0, 0, 0));
        // Nothing destroyed a region the MR owned.
        assert_eq!(s.count(gdma_code::DESTROY_DMA_REGION), 0);
        assert_eq!(s.protocol_errors, 1);
        Ok(())
    }

    /// `count` page addresses cycling over the 16 pages of `mem`: a page list as long as a
    /// large MR's, over memory the device may read.
    fn long_page_list(mem: &crate::dma::DmaBuf, count: usize) -> Result<KVec<u64>> {
        let mut pages = KVec::with_capacity(count, GFP_KERNEL)?;
        for i in 0..count {
            pages.push(mem.dma_addr() + (i as u64 % 16) * 4096, GFP_KERNEL)?;
        }
        Ok(pages)
    }

    /// A region of more pages than one request carries (DPDK's MRs): CREATE_DMA_REGION lists
    /// the first 504, DMA_REGION_ADD_PAGES requests the rest; the device takes the region for
    /// an MR only once every page arrived.
    #[test]
    fn large_regions_arrive_in_several_requests() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let ctx = sw.adapter().objects();
        let mem = ctx.transport.alloc_dma(16 * 4096)?;
        let pd = ProtectionDomain::new(&ctx, 0)?;
        // (pages, ADD_PAGES requests): one full create; one page more; 504 + 4 * 505 + 476.
        for (count, adds) in [(504usize, 0u32), (505, 1), (3000, 5)] {
            let pages = long_page_list(&mem, count)?;
            let before = sw.device_stats();
            let mut region = PageListRegion::new(&ctx, &pages)?;
            assert_eq!(region.len(), count as u64 * 4096);
            let s = sw.device_stats();
            assert_eq!(
                s.count(gdma_code::CREATE_DMA_REGION),
                before.count(gdma_code::CREATE_DMA_REGION) + 1
            );
            assert_eq!(
                s.count(gdma_code::DMA_REGION_ADD_PAGES),
                before.count(gdma_code::DMA_REGION_ADD_PAGES) + adds
            );
            assert_eq!((s.live_regions, s.protocol_errors), (1, 0));
            // Used: the device makes an MR of a complete region only.
            let mr = MemoryRegion::new_gva(&ctx, &pd, &mut region, 0x7f00_0000_0000, 0x3)?;
            let s = sw.device_stats();
            assert_eq!((s.live_regions, s.live_mrs, s.protocol_errors), (0, 1, 0));
            drop(mr);
            drop(region);
            assert_eq!(sw.device_stats().live_mrs, 0);
        }
        // A region nothing took is destroyed as a whole.
        let region = PageListRegion::new(&ctx, &long_page_list(&mem, 2000)?)?;
        assert_eq!(sw.device_stats().live_regions, 1);
        drop(region);
        drop(pd);
        let s = sw.device_stats();
        assert_eq!((s.live_regions, s.live_pds, s.live_mrs), (0, 0, 0));
        assert_eq!(s.count(gdma_code::DESTROY_DMA_REGION), 1);
        assert_eq!(s.protocol_errors, 0);
        Ok(())
    }

    /// A large region whose ADD_PAGES fails, or is answered "complete" while pages are still
    /// due, is `EPROTO` and destroyed: nothing is left on the device.
    #[test]
    fn a_failure_midway_destroys_the_partial_region() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        let ctx = sw.adapter().objects();
        let mem = ctx.transport.alloc_dma(16 * 4096)?;
        let pages = long_page_list(&mem, 3000)?;
        let buffers = sw.live_buffers();
        for (n, fault) in [Fault::Status(0x9), Fault::Status(0)]
            .into_iter()
            .enumerate()
        {
            sw.inject(gdma_code::DMA_REGION_ADD_PAGES, fault, 1)?;
            assert_eq!(PageListRegion::new(&ctx, &pages).err(), Some(EPROTO));
            let s = sw.device_stats();
            assert_eq!(s.faults_injected, n as u32 + 1);
            assert_eq!(s.live_regions, 0);
            assert_eq!(s.count(gdma_code::DESTROY_DMA_REGION), n as u32 + 1);
            assert_eq!(s.protocol_errors, 0);
        }
        // A refused CREATE_DMA_REGION leaves nothing to destroy.
        sw.inject(gdma_code::CREATE_DMA_REGION, Fault::Status(0x9), 1)?;
        assert_eq!(PageListRegion::new(&ctx, &pages).err(), Some(EPROTO));
        let s = sw.device_stats();
        assert_eq!((s.live_regions, s.protocol_errors), (0, 0));
        // The channel works on: the same region registers in full.
        let region = PageListRegion::new(&ctx, &pages)?;
        assert_eq!(sw.device_stats().live_regions, 1);
        drop(region);
        assert_eq!(sw.device_stats().live_regions, 0);
        assert_eq!(sw.live_buffers(), buffers);
        Ok(())
    }

    #[test]
    fn hundred_queue_set_cycles() -> Result {
        let sw = SwAdapter::new(config(), false)?;
        for _ in 0..100 {
            let (eq, sq, rq) = queue_set(&sw)?;
            drop((sq, rq));
            drop(eq);
        }
        let s = sw.device_stats();
        assert_eq!((s.live_regions, s.live_eqs, s.live_wq_objs), (0, 0, 0));
        assert_eq!(s.protocol_errors, 0);
        Ok(())
    }
}
