// SPDX-License-Identifier: GPL-2.0-only

//! KUnit: the interfaces on a software adapter, and the vport rule seen from `ip link`.

use kernel::{
    netdev::{
        ethtool::{
            Channels,
            Coalesce,
            Operations,
            RingParam,
            RxfhGet,
            RxfhSet, //
        },
        rtnl_lock,
        Driver, //
    },
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, //
    },
};

use mana_gdma::{
    objects::DoorbellPage,
    shared_vport::{
        testing::run_workers,
        QpKind,
        VportTx, //
    },
    sw::{
        SwAdapter,
        SwConfig, //
    }, //
};

use crate::port::{
    Port,
    Ports, //
};

/// What a DPDK process's PD would program.
pub(crate) const RDMA_TX: VportTx = VportTx { pd: 7, doorbell: 2 };

/// A software adapter with `ports` vports of up to 4 queues, and its interfaces.
pub(crate) fn adapter(ports: u32) -> Result<(SwAdapter, Ports<'static>)> {
    let sw = SwAdapter::new(
        SwConfig {
            num_ports: ports,
            max_queues: 4,
            ..SwConfig::default()
        },
        false,
    )?;
    let netdevs = Ports::new(&sw.adapter())?;
    Ok((sw, netdevs))
}

/// Allocates the doorbell page of [`RDMA_TX`], as a user context of mana_rdma would.
pub(crate) fn rdma_doorbell(sw: &SwAdapter) -> Result<DoorbellPage> {
    let page = DoorbellPage::new(&sw.adapter().objects())?;
    assert_eq!(page.index(), RDMA_TX.doorbell);
    Ok(page)
}

pub(crate) fn owner_is(sw: &SwAdapter, index: u32, expected: &str) -> bool {
    let adapter = sw.adapter();
    let Ok(vport) = adapter.vports().get(index) else {
        return false;
    };
    vport.with_owner(|owner| {
        CString::try_from_fmt(fmt!("{}", owner)).is_ok_and(|s| s.to_bytes() == expected.as_bytes())
    })
}

/// An up interface being reconfigured while raw QPs try to take its vport.
struct Race {
    sw: SwAdapter,
    ports: Ports<'static>,
    granted: Atomic<u32>,
    refused: Atomic<u32>,
    other: Atomic<u32>,
    reconfigurations: Atomic<u32>,
    /// How many reconfigurations the first thread makes.
    rounds: u32,
    done: Atomic<u32>,
}

impl Race {
    fn worker(&self, i: u32) {
        let Some(dev) = self.ports.get(0) else {
            self.other.fetch_add(1, Relaxed);
            self.done.store(1, Relaxed);
            return;
        };
        if i == 0 {
            for k in 0..self.rounds {
                let rtnl = rtnl_lock();
                let changed = match k % 3 {
                    0 => Port::change_mtu(dev, if k % 2 == 0 { 9000 } else { 1500 }, &rtnl),
                    1 => Port::set_channels(
                        dev,
                        &Channels {
                            combined_count: 1 + k % 4,
                            ..Channels::default()
                        },
                        &rtnl,
                    ),
                    _ => {
                        let mut ring = RingParam::default();
                        Port::get_ringparam(dev, &mut ring);
                        ring.rx_pending = if ring.rx_pending == 512 { 1024 } else { 512 };
                        Port::set_ringparam(dev, &ring, &rtnl)
                    }
                };
                if changed.is_err() {
                    self.other.fetch_add(1, Relaxed);
                }
                self.reconfigurations.fetch_add(1, Relaxed);
            }
            self.done.store(1, Relaxed);
            return;
        }
        take_rdma_until(
            &self.sw,
            &self.done,
            [&self.granted, &self.refused, &self.other],
            0,
        );
    }
}

/// Takes vport 0 for a raw QP and gives it back at once, again and again until `done` is set,
/// as a DPDK process retrying would; counts into `[granted, refused with EBUSY, other error]`
/// and pauses `pause_us` between attempts.
///
/// It makes at least one attempt, even when `done` was set before this thread ran: the tests
/// call it while the interface holds the vport from before the threads start until after they
/// end, so "some attempt was refused" holds however the threads were scheduled.
pub(crate) fn take_rdma_until(
    sw: &SwAdapter,
    done: &Atomic<u32>,
    [granted, refused, other]: [&Atomic<u32>; 3],
    pause_us: i64,
) {
    loop {
        match sw.adapter().vports().take_rdma(0, QpKind::Raw, RDMA_TX) {
            Ok(lease) => {
                granted.fetch_add(1, Relaxed);
                drop(lease);
            }
            Err(e) if e == EBUSY => {
                refused.fetch_add(1, Relaxed);
            }
            Err(_) => {
                other.fetch_add(1, Relaxed);
            }
        }
        if done.load(Relaxed) != 0 {
            break;
        }
        if pause_us > 0 {
            kernel::time::delay::fsleep(kernel::time::Delta::from_micros(pause_us));
        }
    }
}

#[kunit_tests(mana_rs_eth_netdev)]
mod netdev {
    use super::*;

    #[test]
    fn reconfiguring_an_up_interface_never_frees_the_vport() -> Result {
        reconfigure_while_raw_qps_try_to_take_the_vport(12)
    }

    #[test]
    fn open_takes_the_vport_and_programs_tx_stop_gives_it_back() -> Result {
        let (sw, ports) = adapter(2)?;
        let dev = ports.get(1).ok_or(EINVAL)?;
        assert_eq!(
            dev.max_mtu(),
            u32::from(SwConfig::default().adapter_mtu) - 14
        );
        assert_eq!(dev.mac_address()[5], SwConfig::default().mac_base[5] + 1);
        {
            let rtnl = rtnl_lock();
            dev.open(&rtnl)?;
        }
        assert!(dev.data().holds_lease());
        assert!(dev.carrier_ok());
        // One EQ and a send and a receive queue per channel, steering on.
        assert_eq!(dev.data().device_queues(), 4);
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_wq_objs), (4, 8));
        assert!(sw.vport_programming(1).ok_or(EINVAL)?.rx_enabled);
        let prog = sw.vport_programming(1).ok_or(EINVAL)?;
        let caps = *sw.adapter().caps();
        assert_eq!(prog.tx, Some((caps.pdid, caps.doorbell)));
        assert!(owner_is(&sw, 0, "free"));
        {
            let rtnl = rtnl_lock();
            dev.close(&rtnl);
        }
        assert!(!dev.data().holds_lease());
        assert!(owner_is(&sw, 1, "free"));
        assert!(!sw.vport_programming(1).ok_or(EINVAL)?.rx_enabled);
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_wq_objs, s.live_regions), (0, 0, 0));
        assert_eq!(s.protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn ip_link_up_is_ebusy_while_a_raw_qp_holds_the_vport() -> Result {
        let (sw, ports) = adapter(1)?;
        let _doorbell = rdma_doorbell(&sw)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        let qp = sw.adapter().vports().take_rdma(0, QpKind::Raw, RDMA_TX)?;
        {
            let rtnl = rtnl_lock();
            assert_eq!(dev.open(&rtnl).err(), Some(EBUSY));
        }
        assert!(!dev.is_running());
        assert!(owner_is(&sw, 0, "rdma pd 7 qps 1"));
        // The device still transmits for the PD.
        assert_eq!(sw.vport_programming(0).ok_or(EINVAL)?.tx, Some((7, 2)));
        drop(qp);
        {
            let rtnl = rtnl_lock();
            dev.open(&rtnl)?;
            // And the other way round: a raw QP is refused while the interface is up.
            assert_eq!(
                sw.adapter()
                    .vports()
                    .take_rdma(0, QpKind::Raw, RDMA_TX)
                    .err(),
                Some(EBUSY)
            );
            dev.close(&rtnl);
        }
        Ok(())
    }

    #[test]
    fn mtu_change_on_an_up_interface_keeps_the_vport() -> Result {
        let (sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        let rtnl = rtnl_lock();
        dev.open(&rtnl)?;
        let configs = sw.vport_programming(0).ok_or(EINVAL)?.tx_configs;
        for mtu in [9000, 1500, 4000] {
            Port::change_mtu(dev, mtu, &rtnl)?;
            assert_eq!(dev.mtu(), mtu);
            assert!(dev.data().holds_lease());
            assert_eq!(
                sw.adapter()
                    .vports()
                    .take_rdma(0, QpKind::Raw, RDMA_TX)
                    .err(),
                Some(EBUSY)
            );
        }
        // The receive buffers follow the MTU, so each change rebuilt the queues and sent
        // CONFIG_VPORT_TX again under the held lease; the vport was never handed back.
        assert_eq!(
            sw.vport_programming(0).ok_or(EINVAL)?.tx_configs,
            configs + 3
        );
        assert!(dev.is_running());
        dev.close(&rtnl);
        Ok(())
    }

    #[test]
    fn a_failed_open_leaves_the_vport_free_and_nothing_on_the_device() -> Result {
        let (sw, ports) = adapter(1)?;
        let _doorbell = rdma_doorbell(&sw)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        // The first WQ object fails: the lease is taken and programmed, an EQ already built.
        sw.inject(
            mana_gdma::wire::mana_msgs::code::CREATE_WQ_OBJ,
            mana_gdma::sw::Fault::Status(0x5),
            1,
        )?;
        {
            let rtnl = rtnl_lock();
            assert_eq!(dev.open(&rtnl).err(), Some(EPROTO));
        }
        assert!(owner_is(&sw, 0, "free"));
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_wq_objs, s.live_regions), (0, 0, 0));
        // No permanent EBUSY: RDMA can take the vport, and the interface can open afterwards.
        drop(sw.adapter().vports().take_rdma(0, QpKind::Raw, RDMA_TX)?);
        let rtnl = rtnl_lock();
        dev.open(&rtnl)?;
        dev.close(&rtnl);
        Ok(())
    }

    #[test]
    fn fifty_open_stop_cycles_leave_the_vport_free() -> Result {
        open_stop_cycles_leave_the_vport_free(50)
    }
}

/// The long versions of the loops above, run by `make test-full` (KUnit's `slow` speed
/// attribute has no Rust syntax in 7.3: the suite's name says it, and tests/kunit/run.sh
/// leaves `*_slow` suites out of `make test`).
#[kunit_tests(mana_rs_eth_netdev_slow)]
mod netdev_slow {
    use super::*;

    #[test]
    fn sixty_reconfigurations_of_an_up_interface_never_free_the_vport() -> Result {
        reconfigure_while_raw_qps_try_to_take_the_vport(60)
    }

    #[test]
    fn thousand_open_stop_cycles_leave_the_vport_free() -> Result {
        open_stop_cycles_leave_the_vport_free(1000)
    }
}

/// One thread changes MTU, channels and rings of an up interface `rounds` times; three threads
/// loop on raw QP creation for its vport meanwhile: none gets it, and the interface stays up.
fn reconfigure_while_raw_qps_try_to_take_the_vport(rounds: u32) -> Result {
    let (sw, ports) = adapter(1)?;
    {
        let rtnl = rtnl_lock();
        ports.get(0).ok_or(EINVAL)?.open(&rtnl)?;
    }
    let race = Arc::new(
        Race {
            sw,
            ports,
            granted: Atomic::new(0),
            refused: Atomic::new(0),
            other: Atomic::new(0),
            reconfigurations: Atomic::new(0),
            rounds,
            done: Atomic::new(0),
        },
        GFP_KERNEL,
    )?;
    run_workers(&race, 4, Race::worker)?;
    assert_eq!(race.reconfigurations.load(Relaxed), rounds);
    assert_eq!(race.other.load(Relaxed), 0);
    assert_eq!(race.granted.load(Relaxed), 0);
    assert!(race.refused.load(Relaxed) > 0);
    let dev = race.ports.get(0).ok_or(EINVAL)?;
    assert!(dev.is_running());
    assert!(dev.data().holds_lease());
    assert!(owner_is(&race.sw, 0, "ethernet eth0") || dev.data().holds_lease());
    assert_eq!(race.sw.device_stats().protocol_errors, 0);
    let rtnl = rtnl_lock();
    dev.close(&rtnl);
    Ok(())
}

/// Opens and stops an interface `cycles` times: the vport is free after it, the device holds
/// nothing, and removing the adapter leaves nothing either.
fn open_stop_cycles_leave_the_vport_free(cycles: u32) -> Result {
    let (sw, ports) = adapter(1)?;
    let dev = ports.get(0).ok_or(EINVAL)?;
    {
        // One queue keeps the cycles quick under emulation.
        let rtnl = rtnl_lock();
        let one = Channels {
            combined_count: 1,
            ..Channels::default()
        };
        Port::set_channels(dev, &one, &rtnl)?;
        drop(rtnl);
    }
    for _ in 0..cycles {
        let rtnl = rtnl_lock();
        dev.open(&rtnl)?;
        dev.close(&rtnl);
    }
    assert!(owner_is(&sw, 0, "free"));
    let prog = sw.vport_programming(0).ok_or(EINVAL)?;
    assert_eq!(prog.tx_configs, cycles);
    let s = sw.device_stats();
    assert_eq!((s.live_eqs, s.live_wq_objs, s.live_regions), (0, 0, 0));
    assert_eq!(s.protocol_errors, 0);
    // Unregistering the interfaces and removing the adapter leave nothing on the device.
    drop(ports);
    sw.remove();
    let stats = sw.device_stats();
    assert_eq!(stats.live_hwc, 0);
    assert_eq!(stats.live_registrations, 0);
    Ok(())
}

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

#[kunit_tests(mana_rs_eth_link)]
mod link {
    use super::*;

    #[test]
    fn link_events_from_the_device_drive_the_carrier_not_the_vport() -> Result {
        let (sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        {
            let rtnl = rtnl_lock();
            dev.open(&rtnl)?;
        }
        assert!(dev.carrier_ok());
        sw.set_link(false)?;
        assert!(wait_for(|| !dev.carrier_ok()));
        // The interface stays up and keeps its vport.
        assert!(dev.is_running());
        assert!(dev.data().holds_lease());
        assert_eq!(
            sw.adapter()
                .vports()
                .take_rdma(0, QpKind::Raw, RDMA_TX)
                .err(),
            Some(EBUSY)
        );
        sw.set_link(true)?;
        assert!(wait_for(|| dev.carrier_ok()));
        // Opened while the link is down, the interface has no carrier until the link returns.
        {
            let rtnl = rtnl_lock();
            dev.close(&rtnl);
        }
        sw.set_link(false)?;
        assert!(wait_for(|| !sw.adapter().hwc().link_up()));
        {
            let rtnl = rtnl_lock();
            dev.open(&rtnl)?;
        }
        assert!(!dev.carrier_ok());
        sw.set_link(true)?;
        assert!(wait_for(|| dev.carrier_ok()));
        let rtnl = rtnl_lock();
        dev.close(&rtnl);
        Ok(())
    }
}

#[kunit_tests(mana_rs_eth_ethtool)]
mod ethtool_ops {
    use super::*;

    fn channels(n: u32) -> Channels {
        Channels {
            combined_count: n,
            ..Channels::default()
        }
    }

    #[test]
    fn set_channels_on_an_up_interface_rebuilds_under_the_lease() -> Result {
        let (sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        let rtnl = rtnl_lock();
        dev.open(&rtnl)?;
        let configs = sw.vport_programming(0).ok_or(EINVAL)?.tx_configs;
        Port::set_channels(dev, &channels(2), &rtnl)?;
        let mut ch = Channels::default();
        Port::get_channels(dev, &mut ch);
        assert_eq!((ch.combined_count, ch.max_combined), (2, 4));
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_wq_objs), (2, 4));
        assert!(owner_is(&sw, 0, "ethernet eth0") || dev.data().holds_lease());
        let prog = sw.vport_programming(0).ok_or(EINVAL)?;
        assert!(prog.rx_enabled);
        // TX programming sent once more, never released in between.
        assert_eq!(prog.tx_configs, configs + 1);
        assert_eq!(
            sw.adapter()
                .vports()
                .take_rdma(0, QpKind::Raw, RDMA_TX)
                .err(),
            Some(EBUSY)
        );
        assert_eq!(s.protocol_errors, 0);
        dev.close(&rtnl);
        Ok(())
    }

    #[test]
    fn a_failed_reconfiguration_restores_the_old_queues_and_keeps_the_vport() -> Result {
        let (sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        let rtnl = rtnl_lock();
        dev.open(&rtnl)?;
        sw.inject(
            mana_gdma::wire::mana_msgs::code::CREATE_WQ_OBJ,
            mana_gdma::sw::Fault::Status(0x5),
            1,
        )?;
        assert_eq!(
            Port::set_channels(dev, &channels(2), &rtnl).err(),
            Some(EPROTO)
        );
        assert_eq!(dev.real_num_tx_queues(), 4);
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_wq_objs), (4, 8));
        assert!(dev.data().holds_lease());
        assert!(sw.vport_programming(0).ok_or(EINVAL)?.rx_enabled);
        dev.close(&rtnl);
        let s = sw.device_stats();
        assert_eq!((s.live_eqs, s.live_wq_objs, s.live_regions), (0, 0, 0));
        Ok(())
    }

    #[test]
    fn coalescing_reports_what_the_device_does_and_refuses_the_rest() -> Result {
        let (sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        let rtnl = rtnl_lock();
        let mut c = Coalesce::default();
        Port::get_coalesce(dev, &mut c)?;
        assert_eq!(c.rx_cqe_frames, 1);
        assert_eq!((c.rx_usecs, c.tx_usecs, c.use_adaptive_rx), (0, 0, false));
        // Setting what is reported is a no-op; anything else is not offered.
        Port::set_coalesce(dev, &c, &rtnl)?;
        for change in [
            Coalesce { rx_usecs: 8, ..c },
            Coalesce {
                rx_cqe_frames: 4,
                ..c
            },
            Coalesce {
                use_adaptive_tx: true,
                ..c
            },
        ] {
            assert_eq!(
                Port::set_coalesce(dev, &change, &rtnl).err(),
                Some(EOPNOTSUPP)
            );
        }
        let mut after = Coalesce::default();
        Port::get_coalesce(dev, &mut after)?;
        assert_eq!(after, c);
        drop(rtnl);
        assert_eq!(sw.device_stats().protocol_errors, 0);
        Ok(())
    }

    #[test]
    fn ring_sizes_and_rss_are_validated_and_applied() -> Result {
        let (sw, ports) = adapter(1)?;
        let dev = ports.get(0).ok_or(EINVAL)?;
        let rtnl = rtnl_lock();
        let mut ring = RingParam::default();
        Port::get_ringparam(dev, &mut ring);
        assert_eq!((ring.rx_pending, ring.tx_pending), (1024, 256));
        ring.rx_pending = 100;
        assert_eq!(Port::set_ringparam(dev, &ring, &rtnl).err(), Some(EINVAL));
        dev.open(&rtnl)?;
        ring.rx_pending = 512;
        Port::set_ringparam(dev, &ring, &rtnl)?;
        Port::get_ringparam(dev, &mut ring);
        assert_eq!(ring.rx_pending, 512);

        let entries = Port::get_rxfh_indir_size(dev) as usize;
        assert_eq!(entries, 64);
        let mut indir = KVec::from_elem(3u32, entries, GFP_KERNEL)?;
        let key = [0x5au8; 40];
        let before = sw.device_stats();
        Port::set_rxfh(
            dev,
            &RxfhSet {
                hfunc: 0,
                indir: Some(&indir),
                key: Some(&key),
            },
            &rtnl,
        )?;
        // A new key and table on an up interface reprogram the steering only, as in the C
        // driver: no queue is destroyed or created, so traffic is not interrupted.
        let after = sw.device_stats();
        use mana_gdma::wire::mana_msgs::code::{
            CONFIG_VPORT_RX,
            CREATE_WQ_OBJ,
            DESTROY_WQ_OBJ, //
        };
        assert_eq!(after.count(CREATE_WQ_OBJ), before.count(CREATE_WQ_OBJ));
        assert_eq!(after.count(DESTROY_WQ_OBJ), before.count(DESTROY_WQ_OBJ));
        assert_eq!(
            after.count(CONFIG_VPORT_RX),
            before.count(CONFIG_VPORT_RX) + 1
        );
        indir[0] = 4; // beyond the 4 channels
        assert_eq!(
            Port::set_rxfh(
                dev,
                &RxfhSet {
                    hfunc: 0,
                    indir: Some(&indir),
                    key: None,
                },
                &rtnl
            )
            .err(),
            Some(EINVAL)
        );
        let mut got_indir = KVec::from_elem(0u32, entries, GFP_KERNEL)?;
        let mut got_key = [0u8; 40];
        Port::get_rxfh(
            dev,
            &mut RxfhGet {
                hfunc: 0,
                indir: Some(&mut got_indir),
                key: Some(&mut got_key),
            },
        )?;
        assert!(got_indir.iter().all(|c| *c == 3));
        assert_eq!(got_key, key);
        assert!(dev.data().holds_lease());
        assert_eq!(sw.device_stats().protocol_errors, 0);
        dev.close(&rtnl);
        Ok(())
    }
}
