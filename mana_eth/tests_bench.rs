// SPDX-License-Identifier: GPL-2.0-only

//! KUnit benchmark (figures for `scripts/bench-datapath.sh`, no timed assertion): packets per
//! second through two linked ports of a software adapter against a veth pair in the same boot,
//! device buffers allocated in steady state, and receive pages allocated per packet in steady
//! state (the refill path's count: 0 while the stack gives the pages back in time); and
//! frames per second an XDP program drops (`XDP_DROP`) or sends back (`XDP_TX`).

use kernel::{
    netdev::{
        rtnl_lock,
        Registration, //
    },
    prelude::*,
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    }, //
};

use mana_gdma::sw::{
    SwAdapter,
    SwConfig, //
};

use crate::{
    port::{
        Port,
        Ports, //
    },
    tests_datapath::{
        frame_skb,
        lasting_buffers,
        IPPROTO_UDP, //
    },
};

/// Packets each run sends.
const PACKETS: u64 = 4000;
/// Packets in flight at most (the sender waits for the receiver beyond that).
const WINDOW: u64 = 256;

/// Sends `PACKETS` UDP frames of `frame_len` bytes from `a` to `b`; returns packets per second.
fn run(a: &Registration<'_, Port>, b: &Registration<'_, Port>, frame_len: usize) -> Result<u64> {
    let payload = frame_len - 14 - 20 - 8;
    let start_rx = b.data().rx_csum_ok();
    let start = Instant::<Monotonic>::now();
    for i in 0..PACKETS {
        while i - (b.data().rx_csum_ok() - start_rx) >= WINDOW {
            fsleep(Delta::from_micros(50));
        }
        let skb = frame_skb(
            b.mac_address(),
            a.mac_address(),
            IPPROTO_UDP,
            (i % 512) as u16 + 1000,
            payload,
        )?;
        a.queue_xmit(skb)?;
    }
    let mut waited = 0;
    while b.data().rx_csum_ok() - start_rx < PACKETS && waited < 10_000 {
        fsleep(Delta::from_millis(1));
        waited += 1;
    }
    let ns = start.elapsed().as_nanos().max(1) as u64;
    let got = b.data().rx_csum_ok() - start_rx;
    Ok(got * 1_000_000_000 / ns)
}

/// Sends `PACKETS` UDP frames of `frame_len` bytes from `a` to `b` while `done()` counts the
/// frames handled at the far end; returns frames per second.
#[cfg(CONFIG_BPF_SYSCALL)]
fn run_counted(
    a: &Registration<'_, Port>,
    b: &Registration<'_, Port>,
    frame_len: usize,
    done: impl Fn() -> u64,
) -> Result<u64> {
    let payload = frame_len - 14 - 20 - 8;
    let start_done = done();
    // The far end may count more than these frames (the stack's own packets).
    let handled = || done().saturating_sub(start_done).min(PACKETS);
    let start = Instant::<Monotonic>::now();
    for i in 0..PACKETS {
        while i.saturating_sub(handled()) >= WINDOW {
            fsleep(Delta::from_micros(50));
        }
        a.queue_xmit(frame_skb(
            b.mac_address(),
            a.mac_address(),
            IPPROTO_UDP,
            (i % 512) as u16 + 1000,
            payload,
        )?)?;
    }
    let mut waited = 0;
    while handled() < PACKETS && waited < 10_000 {
        fsleep(Delta::from_millis(1));
        waited += 1;
    }
    let ns = start.elapsed().as_nanos().max(1) as u64;
    Ok(handled() * 1_000_000_000 / ns)
}

/// The sum over the queues of `port` of the counter `f` picks.
#[cfg(CONFIG_BPF_SYSCALL)]
fn counted(port: &Registration<'_, Port>, f: impl Fn(&crate::datapath::Counts) -> u64) -> u64 {
    port.data()
        .queue_counters()
        .iter()
        .map(|c| f(&c.counts()))
        .sum()
}

/// The receive pages the refill path of `port` allocated so far.
fn page_allocs(port: &Registration<'_, Port>) -> u64 {
    port.data()
        .queue_counters()
        .iter()
        .map(|c| c.counts().rx_page_allocs)
        .sum()
}

#[kunit_tests(mana_rs_eth_bench)]
mod bench {
    use super::*;

    /// Prints figures; asserts only that the packets arrived.
    #[test]
    fn linked_ports_packets_per_second() -> Result {
        let sw = SwAdapter::new(
            SwConfig {
                num_ports: 2,
                max_queues: 4,
                ..SwConfig::default()
            },
            false,
        )?;
        let ports = Ports::new(&sw.adapter())?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        {
            let rtnl = rtnl_lock();
            a.open(&rtnl)?;
            b.open(&rtnl)?;
        }
        // Warm up, then measure: the device buffers the queues use are allocated at open only.
        run(a, b, 64)?;
        let buffers = lasting_buffers(&sw);
        let allocs = page_allocs(a) + page_allocs(b);
        let received = b.data().rx_csum_ok();
        let pps64 = run(a, b, 64)?;
        let pps1500 = run(a, b, 1500)?;
        let grown = lasting_buffers(&sw).saturating_sub(buffers);
        let allocs = page_allocs(a) + page_allocs(b) - allocs;
        let received = b.data().rx_csum_ok() - received;
        pr_info!("bench: mana linked ports frame=64 pps={}\n", pps64);
        pr_info!("bench: mana linked ports frame=1500 pps={}\n", pps1500);
        for (len, mana) in [(64u32, pps64), (1500, pps1500)] {
            let (ns, got) = mana_gdma::bench::bench_veth_pair(PACKETS as u32, len)?;
            let veth = got * 1_000_000_000 / ns.max(1);
            pr_info!(
                "bench: veth pair frame={} pps={} (received {}); mana/veth={}.{:02}\n",
                len,
                veth,
                got,
                mana / veth.max(1),
                mana * 100 / veth.max(1) % 100
            );
        }
        pr_info!(
            "bench: mana device buffers allocated in steady state: {} for {} packets\n",
            grown,
            2 * PACKETS
        );
        pr_info!(
            "bench: mana RX pages allocated per packet in steady state: {}.{:03} ({} for {} packets)\n",
            allocs / received.max(1),
            allocs * 1000 / received.max(1) % 1000,
            allocs,
            received
        );
        {
            let rtnl = rtnl_lock();
            a.close(&rtnl);
            b.close(&rtnl);
        }
        assert!(pps64 > 0 && pps1500 > 0);
        assert_eq!(grown, 0);
        Ok(())
    }

    /// Prints the frames per second an XDP program on the receiving port drops, and sends back
    /// to the sender (counted as the sender receives them); asserts only that they arrived.
    #[cfg(CONFIG_BPF_SYSCALL)]
    #[test]
    fn xdp_drop_and_tx_packets_per_second() -> Result {
        use kernel::netdev::xdp::{
            testing::{
                detach,
                TestProg, //
            },
            Action, //
        };
        let sw = SwAdapter::new(
            SwConfig {
                num_ports: 2,
                max_queues: 4,
                ..SwConfig::default()
            },
            false,
        )?;
        let ports = Ports::new(&sw.adapter())?;
        let (a, b) = (ports.get(0).ok_or(EINVAL)?, ports.get(1).ok_or(EINVAL)?);
        {
            let rtnl = rtnl_lock();
            a.open(&rtnl)?;
            b.open(&rtnl)?;
        }
        let drop_prog = TestProg::returning(Action::Drop)?;
        drop_prog.attach(b).map_err(|(e, _)| e)?;
        let dropped = || counted(b, |c| c.rx_xdp_drop);
        run_counted(a, b, 64, dropped)?;
        let allocs = page_allocs(b);
        let drop64 = run_counted(a, b, 64, dropped)?;
        let drop1500 = run_counted(a, b, 1500, dropped)?;
        let drop_allocs = page_allocs(b) - allocs;
        let tx_prog = TestProg::returning(Action::Tx)?;
        tx_prog.attach(b).map_err(|(e, _)| e)?;
        let back = || a.data().rx_csum_ok();
        let tx64 = run_counted(a, b, 64, back)?;
        let tx1500 = run_counted(a, b, 1500, back)?;
        detach(b)?;
        pr_info!("bench: mana XDP_DROP frame=64 pps={}\n", drop64);
        pr_info!("bench: mana XDP_DROP frame=1500 pps={}\n", drop1500);
        pr_info!(
            "bench: mana XDP_DROP RX pages allocated: {} for {} frames\n",
            drop_allocs,
            2 * PACKETS
        );
        pr_info!(
            "bench: mana XDP_TX frame=64 pps={} (sent back and received)\n",
            tx64
        );
        pr_info!(
            "bench: mana XDP_TX frame=1500 pps={} (sent back and received)\n",
            tx1500
        );
        {
            let rtnl = rtnl_lock();
            a.close(&rtnl);
            b.close(&rtnl);
        }
        assert!(drop64 > 0 && drop1500 > 0 && tx64 > 0 && tx1500 > 0);
        Ok(())
    }
}
