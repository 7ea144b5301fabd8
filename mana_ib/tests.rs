// SPDX-License-Identifier: GPL-2.0-only

//! KUnit tests of the raw-packet RDMA device on software adapters.
//!
//! The adapters are created without clients, and the tests register the IB device themselves
//! with [`device::register`], so that they hold the registration: the device is queried through
//! the RDMA core's entry points, and PDs are allocated through the core as a kernel consumer.

use kernel::{
    bindings,
    prelude::*,
    rdma::{
        Driver,
        Gid,
        LinkLayer,
        PortState, //
    },
    time::{
        delay::fsleep,
        Delta, //
    },
};

use mana_gdma::{
    sw::{
        Fault,
        SwAdapter,
        SwConfig, //
    },
    wire::{
        abi::{
            AllocPd,
            MANA_IB_PD_SHORT_PDN, //
        },
        gdma_msgs::{
            code,
            pd_flags, //
        },
    },
};

use crate::device::{
    self,
    ManaIb, //
};

/// A software adapter with `ports` vports and no clients.
fn adapter(ports: u32) -> Result<SwAdapter> {
    SwAdapter::new(
        SwConfig {
            num_ports: ports,
            ..SwConfig::default()
        },
        false,
    )
}

/// Waits up to 60 s for `cond` (a bound for slow emulation on a loaded machine, not a timing
/// assertion: it returns as soon as `cond` holds).
fn wait_for(cond: impl Fn() -> bool) -> bool {
    for _ in 0..60_000 {
        if cond() {
            return true;
        }
        fsleep(Delta::from_millis(1));
    }
    cond()
}

#[kunit_tests(mana_rs_rdma_device)]
mod rdma_device {
    use super::*;

    #[test]
    fn registers_manae_with_one_port_per_vport() -> Result {
        let sw = adapter(2)?;
        let before = sw.device_stats().count(code::QUERY_MAX_RESOURCES);
        let reg = device::register(&sw.adapter(), None)?;
        let name = reg.name();
        assert!(name.to_bytes().starts_with(b"manae_"));
        assert!(name.to_bytes().len() > b"manae_".len());
        assert_eq!(reg.phys_port_cnt(), 2);
        // The limits come from the device, asked once at registration.
        assert_eq!(
            sw.device_stats().count(code::QUERY_MAX_RESOURCES),
            before + 1
        );
        // What the core cached from query_device: what DPDK's probe looks at.
        let attrs = reg.attrs();
        assert_eq!(attrs.vendor_part_id(), device::VENDOR_PART_ID);
        assert_eq!(
            attrs.raw_packet_caps(),
            bindings::ib_raw_packet_caps_IB_RAW_PACKET_CAP_IP_CSUM
        );
        let caps = *reg.data().caps();
        let q = SwConfig::default().max_queues * 2;
        assert_eq!((caps.max_qp, caps.max_cq, caps.max_qp_wr), (q, 2 * q, 2048));
        for port in 1..=2 {
            assert_eq!(reg.link_layer(port)?, LinkLayer::Ethernet);
        }
        assert_eq!(reg.link_layer(3).err(), Some(EINVAL));

        // A second adapter gets a device of its own, with another name.
        let sw2 = adapter(1)?;
        let reg2 = device::register(&sw2.adapter(), None)?;
        assert!(reg2.name() != reg.name());
        assert_eq!(reg2.phys_port_cnt(), 1);
        drop(reg2);
        drop(reg);
        assert_eq!(sw.device_stats().protocol_errors, 0);
        assert_eq!(sw2.device_stats().protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn ports_follow_the_link_and_report_as_the_c_driver() -> Result {
        let sw = adapter(2)?;
        let reg = device::register(&sw.adapter(), None)?;
        for port in 1..=2 {
            let attr = reg.query_port(port)?;
            assert_eq!(attr.state(), PortState::Active as u32);
            // Adapter MTU 9014 minus the Ethernet header: the largest IB MTU.
            assert_eq!(attr.active_mtu(), bindings::ib_mtu_IB_MTU_4096);
            assert_eq!(attr.pkey_tbl_len(), 1);
        }
        // The core refuses a port the device does not have.
        assert_eq!(reg.query_port(3).err(), Some(EINVAL));
        assert_eq!(reg.query_port(0).err(), Some(EINVAL));

        sw.set_link(false)?;
        assert!(wait_for(|| !sw.adapter().hwc().link_up()));
        for port in 1..=2 {
            assert_eq!(reg.query_port(port)?.state(), PortState::Down as u32);
        }
        sw.set_link(true)?;
        assert!(wait_for(|| sw.adapter().hwc().link_up()));
        assert_eq!(reg.query_port(1)?.state(), PortState::Active as u32);

        // One P_Key, the default one; no GIDs on a raw-packet port.
        assert_eq!(reg.query_pkey(1, 0)?, device::DEFAULT_PKEY);
        assert_eq!(reg.query_pkey(2, 0)?, device::DEFAULT_PKEY);
        assert_eq!(reg.query_pkey(1, 1).err(), Some(EINVAL));
        assert_eq!(ManaIb::query_gid(&reg, 1, 0)?, Gid::default());
        assert_eq!(sw.device_stats().protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn kernel_pds_are_device_pds() -> Result {
        let sw = adapter(2)?;
        let reg = device::register(&sw.adapter(), None)?;
        assert_eq!(sw.device_stats().live_pds, 0);
        let pd1 = reg.alloc_kernel_pd()?;
        let pd2 = reg.alloc_kernel_pd()?;
        let stats = sw.device_stats();
        assert_eq!(stats.live_pds, 2);
        assert_eq!(stats.count(code::CREATE_PD), 2);
        // The PD numbers are the device's.
        assert!(pd1.pd().data().pdn() >= 0x100);
        assert!(pd1.pd().data().pdn() != pd2.pd().data().pdn());
        assert!(core::ptr::eq(pd1.pd().device(), &*reg));

        drop(pd1);
        let stats = sw.device_stats();
        assert_eq!(stats.live_pds, 1);
        assert_eq!(stats.count(code::DESTROY_PD), 1);
        drop(pd2);
        assert_eq!(sw.device_stats().live_pds, 0);

        // The device refuses CREATE_PD: the core gets the error, nothing is left.
        sw.inject(code::CREATE_PD, Fault::Status(0x1), 1)?;
        assert!(reg.alloc_kernel_pd().is_err());
        let stats = sw.device_stats();
        assert_eq!(stats.live_pds, 0);
        assert_eq!(stats.count(code::DESTROY_PD), 2);
        // And the next one works.
        let pd = reg.alloc_kernel_pd()?;
        assert_eq!(sw.device_stats().live_pds, 1);
        drop(pd);
        assert_eq!(sw.device_stats().live_pds, 0);
        assert_eq!(sw.device_stats().protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn unregistering_leaves_nothing_on_the_device() -> Result {
        let sw = adapter(2)?;
        let reg = device::register(&sw.adapter(), None)?;
        let name = reg.name();
        {
            let _pd1 = reg.alloc_kernel_pd()?;
            let _pd2 = reg.alloc_kernel_pd()?;
            assert_eq!(sw.device_stats().live_pds, 2);
        }
        drop(reg);
        let stats = sw.device_stats();
        assert_eq!(stats.live_pds, 0);
        assert_eq!(stats.count(code::CREATE_PD), stats.count(code::DESTROY_PD));
        assert_eq!(stats.protocol_errors, 0);
        // The device is gone: its name is free again, and the adapter can get a new device.
        let reg = device::register(&sw.adapter(), None)?;
        assert!(reg.name() == name);
        let pd = reg.alloc_kernel_pd()?;
        drop(pd);
        drop(reg);
        assert_eq!(sw.device_stats().live_pds, 0);
        Ok(())
    }

    #[test]
    fn pd_flags_follow_the_uverbs_abi() {
        let req = |comp_mask| AllocPd {
            comp_mask,
            reserved: 0,
        };
        // Kernel PDs may hold GPA MRs, as in the C driver.
        assert_eq!(device::pd_flags_for(None), Ok(pd_flags::ALLOW_GPA_MR));
        assert_eq!(device::pd_flags_for(Some(&req(0))), Ok(0));
        assert_eq!(
            device::pd_flags_for(Some(&req(MANA_IB_PD_SHORT_PDN))),
            Ok(pd_flags::SHORT_PDN)
        );
        // Unknown bits: user space asks for something this driver does not know.
        assert_eq!(device::pd_flags_for(Some(&req(1 << 1))), Err(EOPNOTSUPP));
        assert_eq!(
            device::pd_flags_for(Some(&req(MANA_IB_PD_SHORT_PDN | 1 << 31))),
            Err(EOPNOTSUPP)
        );
    }
}
