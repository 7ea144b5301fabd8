// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: the device's service requests (reset, FPGA reconfiguration, RDMA suspend/resume)
//! driving the function's reset cycle, on software adapters with their real clients bound.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
    time::{
        delay::fsleep,
        Delta, //
    }, //
};

use super::{
    device::SwStats,
    Fault,
    SwAdapter,
    SwConfig, //
};
use crate::{
    adapter::{
        new_adapter_id,
        request, //
    },
    function::{
        Function,
        FunctionConfig, //
    },
    hwc::ServiceRequest,
    shared_vport::testing::run_workers,
    transport::Transport,
    wire::{
        gdma_msgs::{
            code as gdma_code,
            QueryMaxResourcesReq, //
        },
        hdr::new_request, //
    }, //
};

/// A two-port adapter with a short service period.
fn config(service_period_ms: u32) -> SwConfig {
    SwConfig {
        num_ports: 2,
        max_queues: 4,
        service_period_ms,
        ..SwConfig::default()
    }
}

/// The device's object counts, which must be the same for every fresh incarnation.
fn live_objects(s: &SwStats) -> [u32; 8] {
    [
        s.live_hwc,
        s.live_registrations,
        s.live_regions,
        s.live_eqs,
        s.live_wq_objs,
        s.live_pds,
        s.live_mrs,
        s.live_doorbells,
    ]
}

/// Polls `cond` every 10 ms for up to 20 s (TCG is slow); whether it became true.
fn wait_for(cond: impl Fn() -> bool) -> bool {
    for _ in 0..2000 {
        if cond() {
            return true;
        }
        fsleep(Delta::from_millis(10));
    }
    cond()
}

/// A request the device swallows, and a reset while it waits.
struct InFlight {
    sw: SwAdapter,
    /// The request's errno (1 if it succeeded).
    result: Atomic<i32>,
    /// 1 once the reset was requested while the request waited.
    reset: Atomic<i32>,
}

impl InFlight {
    fn worker(&self, i: u32) {
        if i == 0 {
            let res = request(
                self.sw.adapter().hwc(),
                &mut new_request::<QueryMaxResourcesReq>(),
            );
            self.result
                .store(res.err().map_or(1, |e| e.to_errno()), Relaxed);
        } else if wait_for(|| self.sw.device_stats().faults_injected == 1)
            && self.sw.request_service(ServiceRequest::Reset).is_ok()
        {
            // The request is with the device; now the device resets.
            self.reset.store(1, Relaxed);
        }
    }
}

#[kunit_tests(mana_rs_gdma_service)]
mod service {
    use super::*;

    #[test]
    fn a_reset_request_takes_everything_down_and_brings_it_back() -> Result {
        let sw = SwAdapter::new(config(50), true)?;
        let id = sw.adapter().id();
        let before = sw.device_stats();
        let buffers = sw.live_buffers();
        assert!(sw.has_rdma_client());

        sw.request_service(ServiceRequest::Reset)?;
        sw.wait_service_idle();

        let after = sw.device_stats();
        assert_eq!(sw.resets(), (1, 0));
        assert!(sw.is_up());
        // The function keeps its number.
        assert_eq!(sw.adapter().id(), id);
        assert!(sw.has_rdma_client());
        assert_eq!(after.resets, 1);
        // The channel was closed when the event arrived: nothing was sent into the reset.
        assert_eq!(after.requests_during_reset, 0);
        assert_eq!(after.protocol_errors, 0);
        assert_eq!(after.dma_faults, 0);
        // The new incarnation holds exactly what a fresh one holds, on both sides.
        assert_eq!(live_objects(&after), live_objects(&before));
        assert_eq!(sw.live_buffers(), buffers);
        // The adapter was set up again.
        assert_eq!(after.count(gdma_code::VERIFY_VF_DRIVER_VERSION), 2);
        // And it works.
        request(
            sw.adapter().hwc(),
            &mut new_request::<QueryMaxResourcesReq>(),
        )?;
        Ok(())
    }

    #[test]
    fn an_fpga_reconfiguration_runs_the_same_cycle_and_cycles_repeat() -> Result {
        let sw = SwAdapter::new(config(20), true)?;
        let before = sw.device_stats();
        for round in 1..=3u32 {
            let request = if round % 2 == 0 {
                ServiceRequest::FpgaReconfig
            } else {
                ServiceRequest::Reset
            };
            sw.request_service(request)?;
            sw.wait_service_idle();
            assert_eq!(sw.resets(), (round, 0));
        }
        let after = sw.device_stats();
        assert_eq!(after.resets, 3);
        assert_eq!(live_objects(&after), live_objects(&before));
        assert_eq!(after.protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn requests_waiting_for_the_device_fail_at_once_when_it_resets() -> Result {
        let shared = Arc::new(
            InFlight {
                sw: SwAdapter::new(config(20), false)?,
                result: Atomic::new(0),
                reset: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        // The device swallows this request: without the reset the sender would wait the
        // channel's 30 s timeout.
        shared
            .sw
            .inject(gdma_code::QUERY_MAX_RESOURCES, Fault::NoResponse, 1)?;
        run_workers(&shared, 2, InFlight::worker)?;
        assert_eq!(shared.reset.load(Relaxed), 1);
        assert_eq!(shared.result.load(Relaxed), ESHUTDOWN.to_errno());
        shared.sw.wait_service_idle();
        assert_eq!(shared.sw.resets(), (1, 0));
        Ok(())
    }

    #[test]
    fn rdma_suspend_and_resume_touch_only_the_rdma_client() -> Result {
        let sw = SwAdapter::new(config(20), true)?;
        let adapter = sw.adapter();
        sw.request_service(ServiceRequest::RdmaSuspend)?;
        sw.wait_service_idle();
        assert!(!sw.has_rdma_client());
        // A reset while suspended keeps RDMA suspended.
        sw.request_service(ServiceRequest::Reset)?;
        sw.wait_service_idle();
        assert_eq!(sw.resets(), (1, 0));
        assert!(!sw.has_rdma_client());
        let adapter_after_reset = sw.adapter();
        sw.request_service(ServiceRequest::RdmaResume)?;
        sw.wait_service_idle();
        assert!(sw.has_rdma_client());
        // Suspend and resume did not replace the adapter; the reset did.
        assert!(!Arc::ptr_eq(&adapter, &adapter_after_reset));
        assert!(Arc::ptr_eq(&adapter_after_reset, &sw.adapter()));
        assert_eq!(sw.device_stats().protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn a_device_that_does_not_come_back_leaves_the_adapter_down_and_removable() -> Result {
        let sw = SwAdapter::new(config(200), true)?;
        let transport = sw.transport.clone();
        sw.request_service(ServiceRequest::Reset)?;
        // The device refuses the next bring-up.
        sw.inject(gdma_code::VERIFY_VF_DRIVER_VERSION, Fault::Status(0x5), 1)?;
        sw.wait_service_idle();
        assert_eq!(sw.resets(), (0, 1));
        assert!(!sw.is_up());
        assert!(!sw.has_rdma_client());
        // The failed bring-up took its channel down again.
        assert_eq!(sw.device_stats().live_hwc, 0);
        drop(sw);
        assert_eq!(transport.live_buffers(), 0);
        Ok(())
    }

    #[test]
    fn a_reset_during_bring_up_is_retried_after_the_service_period() -> Result {
        // The device goes into service at LIST_DEVICES (after VERIFY_VF_DRIVER_VERSION
        // advertised that the driver handles resets).
        let transport = super::super::transport::SwTransport::new(config(20))?;
        transport
            .with_device(|d| d.inject(gdma_code::LIST_DEVICES, Fault::Reset, 1))
            .map_err(crate::sw::host::errno)?;
        let bar: Arc<dyn Transport> = Arc::new(
            super::super::transport::SwTransportRef(transport.clone()),
            GFP_KERNEL,
        )?;
        let function = Function::new(
            None,
            bar,
            None,
            new_adapter_id(),
            FunctionConfig {
                bar_size: super::super::device::BAR0_SIZE,
                is_pf: false,
                with_clients: false,
                service_period_ms: 20,
            },
        )?;
        let stats = transport.with_device(|d| d.stats());
        assert!(function.is_up());
        assert_eq!(stats.resets, 1);
        assert_eq!(stats.count(gdma_code::VERIFY_VF_DRIVER_VERSION), 2);
        assert_eq!(stats.live_hwc, 1);
        assert_eq!(stats.protocol_errors, 0);
        drop(function);
        assert_eq!(transport.live_buffers(), 0);
        Ok(())
    }

    #[test]
    fn stop_takes_everything_down_once_and_ends_service() -> Result {
        // What system shutdown runs on a bound function, here with its clients bound.
        let sw = SwAdapter::new(config(20), true)?;
        sw.function.stop();
        let stats = sw.device_stats();
        assert!(!sw.is_up());
        assert!(!sw.has_rdma_client());
        assert_eq!(stats.live_hwc, 0);
        assert_eq!(stats.live_registrations, 0);
        // Stopped functions ignore the device (it has no channel to ask on any more).
        assert_eq!(sw.request_service(ServiceRequest::Reset), Err(EBUSY));
        // Again, and then the drop: nothing more happens.
        sw.function.stop();
        assert_eq!(sw.device_stats().total_requests, stats.total_requests);
        let transport = sw.transport.clone();
        drop(sw);
        assert_eq!(transport.live_buffers(), 0);
        Ok(())
    }

    #[test]
    fn removal_during_the_service_period_stops_the_cycle_and_leaks_nothing() -> Result {
        // A period far longer than the test: removal must not wait for it.
        let sw = SwAdapter::new(config(600_000), true)?;
        let transport = sw.transport.clone();
        sw.request_service(ServiceRequest::Reset)?;
        assert!(wait_for(|| !sw.is_up()));
        // A second request during the cycle is refused by the resetting device.
        assert_eq!(sw.request_service(ServiceRequest::Reset), Err(EBUSY));
        drop(sw);
        let stats = transport.with_device(|d| d.stats());
        assert_eq!(stats.live_hwc, 0);
        assert_eq!(stats.resets, 1);
        assert_eq!(transport.live_buffers(), 0);
        Ok(())
    }
}
