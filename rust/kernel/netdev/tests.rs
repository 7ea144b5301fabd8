// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the network device abstractions.
//!
//! They drive a small test driver through the real network core: allocation, registration,
//! `dev_open()`/`dev_close()`, `dev_queue_xmit()`, `dev_set_mtu()`, NAPI polls in softirq
//! context and the ethtool operations table.

use crate::{
    bindings,
    netdev::{
        ethtool::{
            self,
            Channels,
            Coalesce,
            DrvInfo,
            LinkSettings,
            RingParam,
            RxfhGet,
            RxfhSet,
            Strings, //
        },
        napi::{
            Napi,
            NapiPoll,
            Poll,
            NAPI_POLL_WEIGHT, //
        },
        queue_stats::{
            QueueStats,
            RxQueueStats,
            TxQueueStats, //
        },
        skb::Skb,
        Device,
        Driver,
        Features,
        Rtnl,
        Stats64,
        TxResult, //
    },
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    time::{
        delay::fsleep,
        Delta, //
    }, //
};

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];
const INDIR_SIZE: usize = 64;
const KEY_SIZE: usize = 40;

/// Counts what the network core asked of the test driver.
#[pin_data]
struct Shared {
    opened: Atomic<u32>,
    stopped: Atomic<u32>,
    xmits: Atomic<u32>,
    tx_bytes: Atomic<u64>,
    last_len: Atomic<u32>,
    last_queue: Atomic<u32>,
    last_head: [Atomic<u32>; 4],
    busy: Atomic<u32>,
    mtu_changes: Atomic<u32>,
    timeouts: Atomic<u32>,
    last_timeout_queue: Atomic<u32>,
    last_timeout_age_ms: Atomic<u32>,
    /// `start_xmit` stops the packet's queue, as a driver whose ring is full.
    stop_on_xmit: Atomic<u32>,
    works: Atomic<u32>,
    /// `works` when the private data was dropped.
    works_at_drop: Atomic<u32>,
    fixes: Atomic<u32>,
    sets: Atomic<u32>,
    last_set: Atomic<u64>,
    drops: Atomic<u32>,
    with_napi: Atomic<u32>,
    napi_polls: Atomic<u32>,
    #[pin]
    eth: Mutex<EthState>,
}

struct EthState {
    rx_ring: u32,
    tx_ring: u32,
    indir: [u32; INDIR_SIZE],
    key: [u8; KEY_SIZE],
    rx_usecs: u32,
    rx_cqe_frames: u32,
    /// The `RXH_*` fields hashed for TCP over IPv4.
    tcp4_fields: u32,
    /// The private flags (bit 0 only).
    priv_flags: u32,
}

/// The RSS fields of the test driver: addresses, or addresses and ports.
const SD: u32 = ethtool::RXH_IP_SRC | ethtool::RXH_IP_DST;
const SDFN: u32 = SD | ethtool::RXH_L4_B_0_1 | ethtool::RXH_L4_B_2_3;

impl Shared {
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                opened: Atomic::new(0),
                stopped: Atomic::new(0),
                xmits: Atomic::new(0),
                tx_bytes: Atomic::new(0),
                last_len: Atomic::new(0),
                last_queue: Atomic::new(0),
                last_head: [Atomic::new(0), Atomic::new(0), Atomic::new(0), Atomic::new(0)],
                busy: Atomic::new(0),
                mtu_changes: Atomic::new(0),
                timeouts: Atomic::new(0),
                last_timeout_queue: Atomic::new(0),
                last_timeout_age_ms: Atomic::new(0),
                stop_on_xmit: Atomic::new(0),
                works: Atomic::new(0),
                works_at_drop: Atomic::new(0),
                fixes: Atomic::new(0),
                sets: Atomic::new(0),
                last_set: Atomic::new(0),
                drops: Atomic::new(0),
                with_napi: Atomic::new(0),
                napi_polls: Atomic::new(0),
                eth <- new_mutex!(EthState {
                    rx_ring: 512,
                    tx_ring: 256,
                    indir: [0; INDIR_SIZE],
                    key: [0x6d; KEY_SIZE],
                    rx_usecs: 0,
                    rx_cqe_frames: 1,
                    tcp4_fields: SDFN,
                    priv_flags: 0,
                }),
            }),
            GFP_KERNEL,
        )
    }

    fn head(&self) -> [u8; 16] {
        let mut head = [0u8; 16];
        for (chunk, word) in head.chunks_mut(4).zip(self.last_head.iter()) {
            chunk.copy_from_slice(&word.load(Relaxed).to_ne_bytes());
        }
        head
    }
}

/// Increments the drop counter when the private data goes.
struct DropProbe(Arc<Shared>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.0
            .works_at_drop
            .store(self.0.works.load(Relaxed), Relaxed);
        self.0.drops.fetch_add(1u32, Relaxed);
    }
}

/// The NAPI context a test device runs while it is up (if `Shared::with_napi`).
struct UpNapi {
    shared: Arc<Shared>,
}

impl Poll for UpNapi {
    type State = ();

    fn poll(napi: NapiPoll<'_, Self>, _state: &mut (), _budget: i32) -> i32 {
        napi.data().shared.napi_polls.fetch_add(1u32, Relaxed);
        napi.complete_done(0);
        0
    }
}

#[pin_data]
struct TestData {
    shared: Arc<Shared>,
    _probe: DropProbe,
    /// Created by `open`, dropped by `stop`, as a driver does with its queues.
    #[pin]
    napi: Mutex<Option<Pin<KBox<Napi<UpNapi>>>>>,
}

impl TestData {
    fn new(shared: &Arc<Shared>) -> impl PinInit<Self, Error> + '_ {
        try_pin_init!(Self {
            shared: shared.clone(),
            _probe: DropProbe(shared.clone()),
            napi <- new_mutex!(None),
        }? Error)
    }
}

struct TestDriver;

#[vtable]
impl Driver for TestDriver {
    type Data = TestData;

    fn open(dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        let data = dev.data();
        if data.shared.with_napi.load(Relaxed) != 0 {
            let poll = UpNapi {
                shared: data.shared.clone(),
            };
            let napi = KBox::pin_init(Napi::new(dev, NAPI_POLL_WEIGHT, poll, ()), GFP_KERNEL)?;
            napi.enable();
            napi.schedule();
            *data.napi.lock() = Some(napi);
        }
        data.shared.opened.fetch_add(1u32, Relaxed);
        dev.carrier_on();
        dev.tx_start_all_queues();
        Ok(())
    }

    fn stop(dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        // Disables the context and removes it from the device.
        drop(dev.data().napi.lock().take());
        dev.data().shared.stopped.fetch_add(1u32, Relaxed);
        dev.carrier_off();
        dev.tx_stop_all_queues();
        Ok(())
    }

    fn start_xmit(dev: &Device<Self>, skb: Skb) -> TxResult {
        let s = &dev.data().shared;
        if s.busy.load(Relaxed) != 0 {
            return TxResult::Busy(skb);
        }
        // Only record the test's frames, not what the stack sends on its own (IPv6 DAD, MLD).
        if skb.data().get(12..14) != Some(&[0x88, 0xb5][..]) {
            skb.consume();
            return TxResult::Consumed;
        }
        let mut head = [0u8; 16];
        for (d, b) in head.iter_mut().zip(skb.data()) {
            *d = *b;
        }
        for (word, chunk) in s.last_head.iter().zip(head.chunks(4)) {
            let mut bytes = [0u8; 4];
            bytes.copy_from_slice(chunk);
            word.store(u32::from_ne_bytes(bytes), Relaxed);
        }
        s.last_len.store(skb.len(), Relaxed);
        s.last_queue.store(u32::from(skb.queue_mapping()), Relaxed);
        s.tx_bytes.fetch_add(u64::from(skb.len()), Relaxed);
        if s.stop_on_xmit.load(Relaxed) != 0 {
            if let Some(q) = dev.tx_queue(u32::from(skb.queue_mapping())) {
                q.stop();
            }
        }
        s.xmits.fetch_add(1u32, Relaxed);
        skb.consume();
        TxResult::Consumed
    }

    fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
        let s = &dev.data().shared;
        stats.tx_packets = u64::from(s.xmits.load(Relaxed));
        stats.tx_bytes = s.tx_bytes.load(Relaxed);
    }

    fn change_mtu(dev: &Device<Self>, new_mtu: u32, _rtnl: &Rtnl) -> Result {
        if new_mtu == 1234 {
            return Err(EINVAL);
        }
        dev.data().shared.mtu_changes.fetch_add(1u32, Relaxed);
        Ok(())
    }

    fn tx_timeout(dev: &Device<Self>, txqueue: u32) {
        let s = &dev.data().shared;
        s.last_timeout_queue.store(txqueue, Relaxed);
        if let Some(q) = dev.tx_queue(txqueue) {
            s.last_timeout_age_ms
                .store(q.ms_since_last_transmit(), Relaxed);
        }
        s.timeouts.fetch_add(1u32, Relaxed);
        // The recovery runs in process context, under rtnl.
        dev.schedule_rtnl_work();
    }

    fn rtnl_work(dev: &Device<Self>, _rtnl: &crate::netdev::RtnlOuter) {
        let s = &dev.data().shared;
        // The "reset": the queues take packets again.
        s.stop_on_xmit.store(0, Relaxed);
        if dev.is_running() {
            dev.tx_wake_all_queues();
        }
        s.works.fetch_add(1u32, Relaxed);
    }

    fn fix_features(dev: &Device<Self>, features: Features) -> Features {
        dev.data().shared.fixes.fetch_add(1u32, Relaxed);
        features & !Features::RXHASH
    }

    fn set_features(dev: &Device<Self>, features: Features, _rtnl: &Rtnl) -> Result {
        let s = &dev.data().shared;
        s.last_set.store(features.as_raw(), Relaxed);
        s.sets.fetch_add(1u32, Relaxed);
        Ok(())
    }
}

#[vtable]
impl ethtool::Operations for TestDriver {
    const SUPPORTED_COALESCE_PARAMS: u32 =
        ethtool::COALESCE_RX_USECS | ethtool::COALESCE_RX_CQE_FRAMES;

    fn get_drvinfo(_dev: &Device<Self>, info: &mut DrvInfo) {
        info.set_driver(c"rust_netdev_test");
        info.set_fw_version(c"1.2.3");
        info.set_bus_info(c"a-bus-name-much-longer-than-the-thirty-two-bytes");
    }

    fn get_link(dev: &Device<Self>) -> bool {
        dev.carrier_ok()
    }

    fn get_ringparam(dev: &Device<Self>, ring: &mut RingParam) {
        let data = dev.data();
        let st = data.shared.eth.lock();
        ring.rx_max_pending = 8192;
        ring.tx_max_pending = 8192;
        ring.rx_pending = st.rx_ring;
        ring.tx_pending = st.tx_ring;
    }

    fn set_ringparam(dev: &Device<Self>, ring: &RingParam, _rtnl: &Rtnl) -> Result {
        if !ring.rx_pending.is_power_of_two() || !ring.tx_pending.is_power_of_two() {
            return Err(EINVAL);
        }
        let data = dev.data();
        let mut st = data.shared.eth.lock();
        st.rx_ring = ring.rx_pending;
        st.tx_ring = ring.tx_pending;
        Ok(())
    }

    fn get_channels(dev: &Device<Self>, channels: &mut Channels) {
        channels.max_combined = dev.num_tx_queues().min(dev.num_rx_queues());
        channels.combined_count = dev.real_num_rx_queues();
    }

    fn set_channels(dev: &Device<Self>, channels: &Channels, rtnl: &Rtnl) -> Result {
        if channels.combined_count == 0 || channels.rx_count != 0 || channels.tx_count != 0 {
            return Err(EINVAL);
        }
        dev.set_real_num_tx_queues(channels.combined_count, rtnl)?;
        dev.set_real_num_rx_queues(channels.combined_count, rtnl)
    }

    fn get_rx_ring_count(dev: &Device<Self>) -> u32 {
        dev.real_num_rx_queues()
    }

    fn get_rxfh_key_size(_dev: &Device<Self>) -> u32 {
        KEY_SIZE as u32
    }

    fn get_rxfh_indir_size(_dev: &Device<Self>) -> u32 {
        INDIR_SIZE as u32
    }

    fn get_rxfh(dev: &Device<Self>, rxfh: &mut RxfhGet<'_>) -> Result {
        let data = dev.data();
        let st = data.shared.eth.lock();
        rxfh.hfunc = ethtool::RSS_HASH_TOP;
        if let Some(indir) = rxfh.indir.as_deref_mut() {
            for (d, s) in indir.iter_mut().zip(st.indir.iter()) {
                *d = *s;
            }
        }
        if let Some(key) = rxfh.key.as_deref_mut() {
            for (d, s) in key.iter_mut().zip(st.key.iter()) {
                *d = *s;
            }
        }
        Ok(())
    }

    fn set_rxfh(dev: &Device<Self>, rxfh: &RxfhSet<'_>, _rtnl: &Rtnl) -> Result {
        if rxfh.hfunc != 0 && rxfh.hfunc != ethtool::RSS_HASH_TOP {
            return Err(EOPNOTSUPP);
        }
        let data = dev.data();
        let mut st = data.shared.eth.lock();
        if let Some(indir) = rxfh.indir {
            if indir.len() != INDIR_SIZE {
                return Err(EINVAL);
            }
            st.indir.copy_from_slice(indir);
        }
        if let Some(key) = rxfh.key {
            if key.len() != KEY_SIZE {
                return Err(EINVAL);
            }
            st.key.copy_from_slice(key);
        }
        Ok(())
    }

    fn get_rxfh_fields(dev: &Device<Self>, flow_type: u32) -> Result<u32> {
        match flow_type {
            ethtool::TCP_V4_FLOW => Ok(dev.data().shared.eth.lock().tcp4_fields),
            ethtool::UDP_V4_FLOW => Ok(SD),
            _ => Err(EOPNOTSUPP),
        }
    }

    fn set_rxfh_fields(dev: &Device<Self>, flow_type: u32, fields: u32, _rtnl: &Rtnl) -> Result {
        if flow_type != ethtool::TCP_V4_FLOW {
            return Err(EOPNOTSUPP);
        }
        if fields != SD && fields != SDFN {
            return Err(EINVAL);
        }
        dev.data().shared.eth.lock().tcp4_fields = fields;
        Ok(())
    }

    fn get_coalesce(dev: &Device<Self>, coalesce: &mut Coalesce) -> Result {
        let data = dev.data();
        let st = data.shared.eth.lock();
        coalesce.rx_usecs = st.rx_usecs;
        coalesce.rx_cqe_frames = st.rx_cqe_frames;
        Ok(())
    }

    fn set_coalesce(dev: &Device<Self>, coalesce: &Coalesce, _rtnl: &Rtnl) -> Result {
        let data = dev.data();
        let mut st = data.shared.eth.lock();
        st.rx_usecs = coalesce.rx_usecs;
        st.rx_cqe_frames = coalesce.rx_cqe_frames;
        Ok(())
    }

    fn get_link_ksettings(_dev: &Device<Self>, settings: &mut LinkSettings) -> Result {
        settings.speed = 100_000;
        settings.duplex = ethtool::DUPLEX_FULL;
        settings.port = ethtool::PORT_OTHER;
        Ok(())
    }

    fn get_priv_flags(dev: &Device<Self>) -> u32 {
        dev.data().shared.eth.lock().priv_flags
    }

    fn set_priv_flags(dev: &Device<Self>, flags: u32, _rtnl: &Rtnl) -> Result {
        if flags & !1 != 0 {
            return Err(EINVAL);
        }
        dev.data().shared.eth.lock().priv_flags = flags;
        Ok(())
    }

    fn get_sset_count(dev: &Device<Self>, sset: u32) -> Result<u32> {
        if sset == ethtool::SS_STATS {
            Ok(2 + dev.real_num_tx_queues())
        } else {
            Err(EOPNOTSUPP)
        }
    }

    fn get_strings(dev: &Device<Self>, sset: u32, strings: &mut Strings<'_>) {
        if sset != ethtool::SS_STATS {
            return;
        }
        let _ = strings.push(format_args!("tx_packets"));
        let _ = strings.push(format_args!("tx_bytes"));
        for q in 0..dev.real_num_tx_queues() {
            let _ = strings.push(format_args!("tx_queue_{q}_stopped_and_a_long_tail"));
        }
    }

    fn get_ethtool_stats(dev: &Device<Self>, data: &mut [u64]) {
        let s = &dev.data().shared;
        let totals = [u64::from(s.xmits.load(Relaxed)), s.tx_bytes.load(Relaxed)];
        let queues = (0..dev.real_num_tx_queues())
            .map(|q| u64::from(dev.tx_queue(q).is_some_and(|txq| txq.is_stopped())));
        let mut values = Iterator::chain(totals.into_iter(), queues);
        for d in data.iter_mut() {
            *d = values.next().unwrap_or(0);
        }
    }
}

/// Queue statistics that follow from the queue index: receive queue `i` counted `10 * (i + 1)`
/// packets of `100 * (i + 1)` bytes, transmit queue `i` `i + 1` packets; the base adds 1000
/// received packets, 7 allocation failures and 500 transmitted packets.
#[vtable]
impl QueueStats for TestDriver {
    fn get_queue_stats_rx(_dev: &Device<Self>, index: u32, stats: &mut RxQueueStats) {
        let n = u64::from(index) + 1;
        stats.packets = Some(10 * n);
        stats.bytes = Some(100 * n);
    }

    fn get_queue_stats_tx(_dev: &Device<Self>, index: u32, stats: &mut TxQueueStats) {
        stats.packets = Some(u64::from(index) + 1);
        stats.bytes = Some(1);
    }

    fn get_base_stats(_dev: &Device<Self>, rx: &mut RxQueueStats, tx: &mut TxQueueStats) {
        rx.packets = Some(1000);
        rx.bytes = Some(0);
        rx.alloc_fail = Some(7);
        tx.packets = Some(500);
    }
}

/// Waits up to 20 s for `cond` (a bound for slow emulation on a loaded machine, not a timing
/// assertion: it returns as soon as `cond` holds).
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..20_000 {
        if cond() {
            return true;
        }
        fsleep(Delta::from_millis(1));
    }
    cond()
}

/// Waits up to `ms` milliseconds for `cond`.
fn wait_for_ms(ms: u32, mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..ms / 10 {
        if cond() {
            return true;
        }
        fsleep(Delta::from_millis(10));
    }
    cond()
}

/// A broadcast Ethernet frame of `N` bytes with EtherType `proto` and a counting payload.
fn frame<const N: usize>(proto: u16) -> [u8; N] {
    core::array::from_fn(|i| match i {
        0..=5 => 0xff,
        6..=11 => MAC[i - 6],
        12 => (proto >> 8) as u8,
        13 => proto as u8,
        _ => i as u8,
    })
}

/// Returns the bytes of a C string in a fixed array, up to its NUL.
fn c_bytes(arr: &[crate::ffi::c_char]) -> &[u8] {
    // SAFETY: `c_char` and `u8` have the same layout; the slice covers `arr` exactly.
    let bytes = unsafe { core::slice::from_raw_parts(arr.as_ptr().cast::<u8>(), arr.len()) };
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

#[kunit_tests(rust_netdev)]
mod netdev_tests {
    use super::*;
    use crate::netdev::{
        rtnl_lock,
        Registration,
        UnregisteredDevice,
        ETH_MIN_MTU, //
    };

    fn new_device(
        shared: &Arc<Shared>,
        txqs: u32,
        rxqs: u32,
    ) -> Result<UnregisteredDevice<TestDriver>> {
        let mut dev = UnregisteredDevice::<TestDriver>::new(txqs, rxqs, TestData::new(shared))?;
        dev.set_mtu_bounds(ETH_MIN_MTU, 9000)?;
        dev.set_mac_address(&MAC);
        let features = Features::SG | Features::HW_CSUM | Features::RXHASH | Features::RXCSUM;
        dev.set_hw_features(features);
        dev.set_features(features);
        dev.set_queue_stats_ops();
        dev.carrier_off();
        Ok(dev)
    }

    /// A driver that reports its carrier turns it off before registration, so that the
    /// first `carrier_on` is a change and the core derives the operational state from it.
    #[test]
    fn oper_state_follows_the_carrier() -> Result {
        use crate::netdev::OperState;
        let shared = Shared::new()?;
        // Asserts run without the rtnl lock: a failed one ends the test thread, and a lock it
        // held would stay held.
        let synced = |reg: &Registration<'_, TestDriver>| {
            let rtnl = rtnl_lock();
            reg.sync_link_state(&rtnl);
            reg.oper_state()
        };
        let open = |reg: &Registration<'_, TestDriver>| {
            let rtnl = rtnl_lock();
            reg.open(&rtnl)
        };
        let reg = Registration::new_virtual(new_device(&shared, 1, 1)?)?;
        assert_eq!(synced(&reg), OperState::Down);
        // The test driver turns the carrier on in `open` and off in `stop`.
        open(&reg)?;
        assert_eq!(synced(&reg), OperState::Up);
        {
            let rtnl = rtnl_lock();
            reg.close(&rtnl);
        }
        assert_eq!(synced(&reg), OperState::Down);
        open(&reg)?;
        // Without `sync_link_state`, linkwatch gets there on its own.
        assert!(wait_for(|| reg.oper_state() == OperState::Up));
        drop(reg);

        // A device registered with its carrier on never had a change: UNKNOWN, as `ip link`
        // shows for drivers that forget.
        let dev = new_device(&shared, 1, 1)?;
        dev.carrier_on();
        let reg = Registration::new_virtual(dev)?;
        open(&reg)?;
        assert_eq!(synced(&reg), OperState::Unknown);
        drop(reg);
        Ok(())
    }

    /// The device totals of `netdev` netlink are the base plus the active queues, summed by
    /// the core; a counter the base does not set is not reported for the device.
    #[test]
    fn queue_stats_add_up_through_the_core() -> Result {
        let shared = Shared::new()?;
        let reg = Registration::new_virtual(new_device(&shared, 4, 4)?)?;
        // Asserts run without the rtnl lock (see `oper_state_follows_the_carrier`).
        let total = |reg: &Registration<'_, TestDriver>| {
            let rtnl = rtnl_lock();
            reg.queue_stats_total(&rtnl)
        };
        let rx_queue = |reg: &Registration<'_, TestDriver>, q| {
            let rtnl = rtnl_lock();
            reg.queue_stats_rx(q, &rtnl)
        };
        let (rx, tx) = total(&reg).ok_or(EINVAL)?;
        // Queues 0..4: 10 + 20 + 30 + 40 packets, 100 + 200 + 300 + 400 bytes.
        assert_eq!(rx.packets, Some(1000 + 100));
        assert_eq!(rx.bytes, Some(1000));
        assert_eq!(rx.alloc_fail, Some(7));
        assert_eq!(rx.csum_none, None);
        assert_eq!(tx.packets, Some(500 + 10));
        // The queues report bytes, the base does not: no device total.
        assert_eq!(tx.bytes, None);

        let q2 = rx_queue(&reg, 2).ok_or(EINVAL)?;
        assert_eq!(
            (q2.packets, q2.bytes, q2.alloc_fail),
            (Some(30), Some(300), None)
        );
        let q3 = {
            let rtnl = rtnl_lock();
            reg.queue_stats_tx(3, &rtnl).ok_or(EINVAL)?
        };
        assert_eq!(q3.packets, Some(4));
        assert!(rx_queue(&reg, 4).is_none());

        // Fewer active queues: the core sums only those.
        {
            let rtnl = rtnl_lock();
            reg.set_real_num_rx_queues(2, &rtnl)?;
            reg.set_real_num_tx_queues(1, &rtnl)?;
        }
        let (rx, tx) = total(&reg).ok_or(EINVAL)?;
        assert_eq!(rx.packets, Some(1000 + 30));
        assert_eq!(tx.packets, Some(500 + 1));
        assert!(rx_queue(&reg, 2).is_none());
        drop(reg);

        // Without statistics operations, nothing is reported.
        let dev = UnregisteredDevice::<TestDriver>::new(1, 1, TestData::new(&shared))?;
        let reg = Registration::new_virtual(dev)?;
        assert!(total(&reg).is_none());
        assert!(rx_queue(&reg, 0).is_none());
        drop(reg);
        Ok(())
    }

    #[test]
    fn alloc_register_unregister() -> Result {
        let shared = Shared::new()?;
        let dev = new_device(&shared, 4, 3)?;
        assert_eq!(dev.name().to_bytes(), b"eth%d");
        assert_eq!(dev.num_tx_queues(), 4);
        assert_eq!(dev.num_rx_queues(), 3);
        assert_eq!(dev.mtu(), 1500);
        assert_eq!(dev.min_mtu(), ETH_MIN_MTU);
        assert_eq!(dev.max_mtu(), 9000);
        assert_eq!(dev.mac_address(), MAC);
        assert_eq!(dev.ifindex(), 0);

        let reg = Registration::new_virtual(dev)?;
        crate::netdev_info!(reg, "registered with {} TX queues\n", reg.num_tx_queues());
        assert!(reg.name().to_bytes().starts_with(b"eth"));
        assert!(reg.name().to_bytes() != b"eth%d");
        assert!(reg.ifindex() > 0);
        assert_eq!(reg.real_num_tx_queues(), 4);
        assert_eq!(reg.real_num_rx_queues(), 3);
        assert_eq!(reg.mac_address(), MAC);
        assert!(!reg.is_running());
        assert!(core::ptr::eq(&*reg.data().shared, &*shared));
        assert_eq!(shared.drops.load(Relaxed), 0);
        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 1);
        assert_eq!(shared.opened.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn parent_device() -> Result {
        let shared = Shared::new()?;
        let parent = crate::faux::Registration::new(c"rust_netdev_parent", None)?;
        let faux: &crate::faux::Device<crate::device::Bound> = parent.as_ref();
        let pdev: &crate::device::Device<crate::device::Bound> = faux.as_ref();
        let dev = new_device(&shared, 1, 1)?;
        let reg = Registration::new(pdev, dev)?;
        // SAFETY: The device is registered, so valid.
        let raw_parent = unsafe { (*reg.as_raw()).dev.parent };
        assert!(core::ptr::eq(raw_parent, pdev.as_raw()));
        // A handle reaches the device while it is registered, and not once it is gone.
        let handle = reg.handle();
        let ifindex = reg.ifindex();
        {
            let rtnl = crate::netdev::rtnl_lock();
            assert_eq!(handle.with(&rtnl, |d| d.ifindex()), Some(ifindex));
        }
        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 1);
        {
            let rtnl = crate::netdev::rtnl_lock();
            assert_eq!(handle.with(&rtnl, |d| d.ifindex()), None);
        }
        drop(handle);
        drop(parent);
        Ok(())
    }

    #[test]
    fn alloc_failures() -> Result {
        let shared = Shared::new()?;
        // SAFETY: The closure initialises nothing and fails, as an initialiser may.
        let failing =
            unsafe { pin_init::pin_init_from_closure::<TestData, Error>(|_slot| Err(ENOSPC)) };
        let r = UnregisteredDevice::<TestDriver>::new(2, 2, failing);
        assert!(matches!(r, Err(e) if e == ENOSPC));
        let r = UnregisteredDevice::<TestDriver>::new(0, 2, TestData::new(&shared));
        assert!(matches!(r, Err(e) if e == EINVAL));
        // The initialiser of the data never ran.
        assert_eq!(shared.drops.load(Relaxed), 0);

        let dev = new_device(&shared, 1, 1)?;
        drop(dev);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn open_close_carrier() -> Result {
        let shared = Shared::new()?;
        let reg = Registration::new_virtual(new_device(&shared, 2, 2)?)?;
        assert!(!reg.carrier_ok());
        {
            let rtnl = rtnl_lock();
            reg.open(&rtnl)?;
            assert_eq!(shared.opened.load(Relaxed), 1);
            assert!(reg.is_running());
            assert!(reg.carrier_ok());
            // Opening an up interface does not call the driver again.
            reg.open(&rtnl)?;
            assert_eq!(shared.opened.load(Relaxed), 1);
            // Detaching the device stops its queues; attaching it wakes them.
            let txq = reg.tx_queue(1).ok_or(EINVAL)?;
            assert!(reg.device_present());
            assert!(!txq.is_stopped());
            reg.device_detach();
            assert!(!reg.device_present());
            assert!(txq.is_stopped());
            reg.device_attach();
            assert!(reg.device_present());
            assert!(!txq.is_stopped());
            reg.close(&rtnl);
            assert_eq!(shared.stopped.load(Relaxed), 1);
            assert!(!reg.is_running());
            assert!(!reg.carrier_ok());
            reg.open(&rtnl)?;
            assert_eq!(shared.opened.load(Relaxed), 2);
        }
        // Unregistering an up interface closes it first.
        drop(reg);
        assert_eq!(shared.stopped.load(Relaxed), 2);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn napi_while_up() -> Result {
        let shared = Shared::new()?;
        shared.with_napi.store(1, Relaxed);
        let reg = Registration::new_virtual(new_device(&shared, 2, 2)?)?;
        {
            let rtnl = rtnl_lock();
            reg.open(&rtnl)?;
        }
        assert!(wait_for(|| shared.napi_polls.load(Relaxed) == 1));
        {
            let rtnl = rtnl_lock();
            reg.close(&rtnl);
            reg.open(&rtnl)?;
        }
        assert!(wait_for(|| shared.napi_polls.load(Relaxed) == 2));
        // Unregistering the up device stops it, which drops its NAPI context, then the data.
        drop(reg);
        assert_eq!(shared.stopped.load(Relaxed), 2);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn transmit_through_the_stack() -> Result {
        let shared = Shared::new()?;
        let reg = Registration::new_virtual(new_device(&shared, 4, 4)?)?;
        {
            let rtnl = rtnl_lock();
            reg.open(&rtnl)?;
        }
        let f = frame::<60>(0x88b5);
        let mut skb = reg.alloc_skb(128)?;
        skb.put_data(&f)?;
        reg.queue_xmit(skb)?;
        assert!(wait_for(|| shared.xmits.load(Relaxed) == 1));
        assert_eq!(shared.last_len.load(Relaxed), 60);
        assert_eq!(&shared.head()[..], &f[..16]);
        assert!(shared.last_queue.load(Relaxed) < 4);

        // The statistics come from `get_stats64`.
        let mut stats: bindings::rtnl_link_stats64 = pin_init::zeroed();
        // SAFETY: The device is registered and `stats` is valid.
        unsafe { bindings::dev_get_stats(reg.as_raw(), &mut stats) };
        assert_eq!(stats.tx_packets, 1);
        assert_eq!(stats.tx_bytes, 60);

        // A busy driver gives the packet back to the caller of `ndo_start_xmit`.
        shared.busy.store(1, Relaxed);
        let mut skb = reg.alloc_skb(128)?;
        skb.put_data(&f)?;
        let raw = skb.into_raw();
        // SAFETY: The device is registered; its `netdev_ops` are the test driver's.
        let xmit = unsafe { (*(*reg.as_raw()).netdev_ops).ndo_start_xmit };
        let Some(xmit) = xmit else {
            // SAFETY: `raw` is still ours.
            drop(unsafe { Skb::from_raw(raw) });
            return Err(EINVAL);
        };
        // SAFETY: `raw` is a valid packet whose ownership we pass to the driver.
        let ret = unsafe { xmit(raw.as_ptr(), reg.as_raw()) };
        assert_eq!(ret, bindings::netdev_tx_NETDEV_TX_BUSY);
        // SAFETY: With `NETDEV_TX_BUSY`, the packet is ours again.
        let skb = unsafe { Skb::from_raw(raw) };
        assert_eq!(skb.len(), 60);
        drop(skb);
        assert_eq!(shared.xmits.load(Relaxed), 1);
        shared.busy.store(0, Relaxed);
        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn mtu_features_queues_timeout() -> Result {
        let shared = Shared::new()?;
        let reg = Registration::new_virtual(new_device(&shared, 4, 4)?)?;
        // Registration ran `fix_features`, which drops RXHASH, and `set_features`.
        assert!(shared.fixes.load(Relaxed) >= 1);
        assert!(shared.sets.load(Relaxed) >= 1);
        assert!(!reg.features().contains(Features::RXHASH));
        assert!(reg.features().contains(Features::SG | Features::RXCSUM));
        assert_eq!(shared.last_set.load(Relaxed), reg.features().as_raw());
        assert!(reg.hw_features().contains(Features::RXHASH));

        {
            let rtnl = rtnl_lock();
            // SAFETY: The device is registered and the rtnl lock is held.
            assert_eq!(unsafe { bindings::dev_set_mtu(reg.as_raw(), 9000) }, 0);
            assert_eq!(reg.mtu(), 9000);
            assert_eq!(shared.mtu_changes.load(Relaxed), 1);
            // Above the maximum: refused by the core, the driver is not asked.
            // SAFETY: As above.
            let ret = unsafe { bindings::dev_set_mtu(reg.as_raw(), 9001) };
            assert_eq!(ret, EINVAL.to_errno());
            assert_eq!(shared.mtu_changes.load(Relaxed), 1);
            // Refused by the driver: the MTU stays.
            // SAFETY: As above.
            let ret = unsafe { bindings::dev_set_mtu(reg.as_raw(), 1234) };
            assert_eq!(ret, EINVAL.to_errno());
            assert_eq!(reg.mtu(), 9000);

            assert_eq!(reg.set_real_num_tx_queues(2, &rtnl), Ok(()));
            assert_eq!(reg.real_num_tx_queues(), 2);
            assert_eq!(reg.set_real_num_tx_queues(5, &rtnl), Err(EINVAL));
            assert_eq!(reg.real_num_tx_queues(), 2);
            assert_eq!(reg.set_real_num_rx_queues(3, &rtnl), Ok(()));
            assert_eq!(reg.real_num_rx_queues(), 3);
            assert_eq!(reg.set_mtu(67, &rtnl), Err(EINVAL));

            // Nothing changed: `fix_features` runs, `set_features` does not.
            let (fixes, sets) = (shared.fixes.load(Relaxed), shared.sets.load(Relaxed));
            reg.update_features(&rtnl);
            assert_eq!(shared.fixes.load(Relaxed), fixes + 1);
            assert_eq!(shared.sets.load(Relaxed), sets);
        }

        let q1 = reg.tx_queue(1).ok_or(EINVAL)?;
        assert!(!q1.is_stopped());
        q1.stop();
        assert!(q1.is_stopped());
        assert!(!reg.tx_queue(0).ok_or(EINVAL)?.is_stopped());
        q1.wake();
        assert!(!q1.is_stopped());
        reg.tx_stop_all_queues();
        assert!(reg.tx_queue(3).ok_or(EINVAL)?.is_stopped());
        reg.tx_start_all_queues();
        assert!(!reg.tx_queue(3).ok_or(EINVAL)?.is_stopped());
        assert!(reg.tx_queue(4).is_none());

        // Byte queue limits with deferred doorbells: while more packets follow, the driver rings
        // only if the queue is stopped; the last packet of a burst always rings.
        let q2 = reg.tx_queue(2).ok_or(EINVAL)?;
        q2.reset();
        assert!(!q2.sent_more(100, true));
        assert!(q2.sent_more(100, false));
        q2.stop();
        assert!(q2.sent_more(100, true));
        q2.wake();
        q2.completed(3, 300);
        assert!(!q2.is_stopped());
        assert!(!q2.is_xmit_stopped());
        q2.reset();
        // Byte queue limits alone stop a queue the driver did not stop: bytes in flight past the
        // (initially zero) limit; a completion of them lets it go again.
        q2.sent(1500);
        assert!(!q2.is_stopped());
        assert!(q2.is_xmit_stopped());
        q2.completed(1, 1500);
        assert!(!q2.is_xmit_stopped());
        q2.reset();
        // Outside a transmit call, no burst is in progress.
        assert!(!crate::netdev::xmit_more());

        // SAFETY: The device is registered; its `netdev_ops` are the test driver's.
        let timeout = unsafe { (*(*reg.as_raw()).netdev_ops).ndo_tx_timeout }.ok_or(EINVAL)?;
        // SAFETY: The device is registered and 2 is one of its queues.
        unsafe { timeout(reg.as_raw(), 2) };
        assert_eq!(shared.timeouts.load(Relaxed), 1);
        assert_eq!(shared.last_timeout_queue.load(Relaxed), 2);
        // The work it scheduled ran, under rtnl (the device is down: no queue to wake).
        assert!(wait_for_ms(10_000, || shared.works.load(Relaxed) == 1));
        drop(reg);
        assert_eq!(shared.works.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn the_watchdog_reports_a_queue_left_stopped() -> Result {
        let shared = Shared::new()?;
        let mut dev = new_device(&shared, 4, 4)?;
        dev.set_watchdog_timeout_ms(200);
        let reg = Registration::new_virtual(dev)?;
        assert_eq!(reg.watchdog_timeout_ms(), 200);
        {
            let rtnl = rtnl_lock();
            reg.open(&rtnl)?;
        }
        // A packet on queue 2 (the recorded receive queue picks the transmit queue) that
        // fills the driver's ring: the queue stops and nothing wakes it.
        shared.stop_on_xmit.store(1, Relaxed);
        let mut skb = reg.alloc_skb(128)?;
        skb.put_data(&frame::<60>(0x88b5))?;
        skb.record_rx_queue(2);
        reg.queue_xmit(skb)?;
        assert!(wait_for(|| shared.xmits.load(Relaxed) == 1));
        assert_eq!(shared.last_queue.load(Relaxed), 2);
        assert!(reg.tx_queue(2).ok_or(EINVAL)?.is_stopped());
        assert!(!reg.tx_queue(1).ok_or(EINVAL)?.is_stopped());
        // The core's watchdog (a timer checking on whole seconds) finds it and calls
        // `ndo_tx_timeout` for queue 2; the generous bound is for slow emulation.
        assert!(wait_for_ms(60_000, || shared.timeouts.load(Relaxed) >= 1));
        assert_eq!(shared.last_timeout_queue.load(Relaxed), 2);
        assert!(shared.last_timeout_age_ms.load(Relaxed) >= 200);
        // The driver's recovery ran under rtnl and woke the queue; packets flow again.
        assert!(wait_for_ms(60_000, || shared.works.load(Relaxed) >= 1));
        assert!(!reg.tx_queue(2).ok_or(EINVAL)?.is_stopped());
        let mut skb = reg.alloc_skb(128)?;
        skb.put_data(&frame::<60>(0x88b5))?;
        skb.record_rx_queue(2);
        reg.queue_xmit(skb)?;
        assert!(wait_for(|| shared.xmits.load(Relaxed) == 2));
        {
            let rtnl = rtnl_lock();
            reg.set_watchdog_timeout_ms(5000, &rtnl);
            assert_eq!(reg.watchdog_timeout_ms(), 5000);
            reg.close(&rtnl);
        }
        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn the_rtnl_work_runs_only_for_a_registered_device() -> Result {
        let shared = Shared::new()?;
        let dev = new_device(&shared, 1, 1)?;
        // Scheduled before registration: it does not call the driver, and freeing the device
        // waits for it (or cancels it).
        assert!(dev.schedule_rtnl_work());
        drop(dev);
        assert_eq!(shared.works.load(Relaxed), 0);
        assert_eq!(shared.drops.load(Relaxed), 1);

        let reg = Registration::new_virtual(new_device(&shared, 1, 1)?)?;
        let cancelled = {
            // Scheduled, then cancelled unless it already started (it then waits for the rtnl
            // lock held here).
            let _rtnl = rtnl_lock();
            assert!(reg.schedule_rtnl_work());
            let cancelled = reg.cancel_rtnl_work();
            assert!(!reg.cancel_rtnl_work());
            cancelled
        };
        let ran = u32::from(!cancelled);
        assert!(reg.schedule_rtnl_work() || !cancelled);
        assert!(wait_for_ms(10_000, || shared.works.load(Relaxed) > ran));
        // The one scheduled above ran, once.
        assert_eq!(shared.works.load(Relaxed), ran + 1);
        assert!(reg.schedule_rtnl_work());
        assert!(wait_for_ms(10_000, || shared.works.load(Relaxed) > ran + 1));
        assert_eq!(shared.works.load(Relaxed), ran + 2);
        // Scheduled right before unregistration: it runs first or not at all, and
        // unregistration waits for it (or cancels it) before the data goes; nothing runs later.
        assert!(reg.schedule_rtnl_work());
        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 2);
        assert_eq!(
            shared.works.load(Relaxed),
            shared.works_at_drop.load(Relaxed)
        );
        Ok(())
    }
}

#[kunit_tests(rust_netdev_skb)]
mod skb_tests {
    use super::*;
    use crate::{
        netdev::{
            skb::{
                Checksum,
                HashType,
                GSO_TCPV4, //
            },
            UnregisteredDevice, //
        },
        page::Page, //
    };

    #[test]
    fn linear_buffer() -> Result {
        let mut skb = Skb::alloc(256, GFP_KERNEL)?;
        assert_eq!(skb.len(), 0);
        skb.reserve(32)?;
        assert_eq!(skb.headroom(), 32);
        let payload: [u8; 100] = core::array::from_fn(|i| i as u8 + 1);
        skb.put_data(&payload)?;
        assert_eq!(skb.len(), 100);
        assert_eq!(skb.headlen(), 100);
        assert_eq!(skb.data_len(), 0);
        assert_eq!(skb.data(), &payload[..]);
        assert_eq!(skb.reserve(8), Err(EINVAL));

        skb.pull(10)?;
        assert_eq!(skb.len(), 90);
        assert_eq!(skb.data()[0], 11);
        assert_eq!(skb.headroom(), 42);
        assert_eq!(skb.pull(91), Err(EINVAL));

        skb.push(4)?.copy_from_slice(&[0xa, 0xb, 0xc, 0xd]);
        assert_eq!(skb.len(), 94);
        assert_eq!(&skb.data()[..5], &[0xa, 0xb, 0xc, 0xd, 11]);
        assert_eq!(skb.push(1000).err(), Some(EMSGSIZE));

        skb.data_mut()?[0] = 0x42;
        assert_eq!(skb.data()[0], 0x42);

        // A clone shares the data: no appending to it, and writing unshares it first.
        let clone = skb.try_clone(GFP_KERNEL)?;
        assert!(skb.is_cloned() && clone.is_cloned());
        assert_eq!(skb.put(1).err(), Some(EBUSY));
        skb.data_mut()?[0] = 0x43;
        assert!(!skb.is_cloned());
        assert_eq!(clone.data()[0], 0x42);
        assert_eq!(skb.data()[0], 0x43);
        assert_eq!(clone.len(), skb.len());
        drop(clone);

        let room = skb.tailroom();
        assert_eq!(skb.put(room + 1).err(), Some(EMSGSIZE));
        assert_eq!(skb.put(room)?.len(), room as usize);
        assert_eq!(skb.tailroom(), 0);

        let mut out = [0u8; 3];
        skb.copy_bits(1, &mut out)?;
        assert_eq!(out, [0xb, 0xc, 0xd]);
        assert!(skb.copy_bits(skb.len() - 1, &mut out).is_err());
        Ok(())
    }

    #[test]
    fn metadata() -> Result {
        let mut skb = Skb::alloc(256, GFP_KERNEL)?;
        skb.reserve(16)?;
        skb.put_data(&frame::<100>(0x0800))?;

        skb.set_protocol(0x0800);
        assert_eq!(skb.protocol(), 0x0800);
        skb.set_queue_mapping(3);
        assert_eq!(skb.queue_mapping(), 3);

        assert_eq!(skb.hash(), 0);
        skb.set_hash(0xdead_beef, HashType::L4);
        assert_eq!(skb.hash(), 0xdead_beef);

        assert_eq!(skb.ip_summed(), Checksum::None);
        skb.set_csum_unnecessary();
        assert_eq!(skb.ip_summed(), Checksum::Unnecessary);
        skb.set_csum_none();
        assert_eq!(skb.ip_summed(), Checksum::None);
        // TCP checksum of an IPv4 packet after a 14-byte Ethernet and 20-byte IP header.
        skb.set_partial_csum(34, 16)?;
        assert_eq!(skb.ip_summed(), Checksum::Partial);
        assert_eq!(skb.checksum_start_offset(), 34);
        assert_eq!(skb.csum_offset(), 16);
        assert_eq!(u32::from(skb.csum_start()), skb.headroom() + 34);
        assert_eq!(skb.transport_offset(), 34);
        assert_eq!(skb.set_partial_csum(99, 16), Err(EINVAL));

        assert!(!skb.is_gso());
        assert_eq!(skb.tcp_all_headers(), Err(EINVAL));
        skb.set_gso(1448, GSO_TCPV4, 3)?;
        assert!(skb.is_gso());
        assert_eq!(skb.gso_size(), 1448);
        assert_eq!(skb.gso_type(), GSO_TCPV4);
        assert_eq!(skb.gso_segs(), 3);

        assert_eq!(skb.vlan_tag(), None);
        skb.put_vlan_tag(0x8100, 5);
        assert_eq!(skb.vlan_tag(), Some(5));

        skb.set_network_header(14)?;
        assert_eq!(skb.network_offset(), 14);
        assert_eq!(skb.set_network_header(200), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn build_from_page() -> Result {
        let page = Page::alloc_page(GFP_KERNEL)?;
        let pattern: [u8; 200] = core::array::from_fn(|i| (i * 7) as u8);
        // SAFETY: `pattern` is readable for 200 bytes and 64 + 200 lies within the page.
        unsafe { page.write_raw(pattern.as_ptr(), 64, pattern.len())? };
        let mut skb = Skb::build_from_page(page, 64, 200)?;
        assert_eq!(skb.len(), 200);
        assert_eq!(skb.headroom(), 64);
        assert_eq!(skb.nr_frags(), 0);
        assert_eq!(skb.data(), &pattern[..]);
        skb.set_csum_unnecessary();
        skb.set_hash(7, HashType::L3);
        assert_eq!(skb.ip_summed(), Checksum::Unnecessary);
        assert_eq!(skb.hash(), 7);
        // Freeing the buffer frees the page (kmemleak would report it otherwise).
        drop(skb);

        let page = Page::alloc_page(GFP_KERNEL)?;
        assert_eq!(Skb::build_from_page(page, 64, 4096).err(), Some(EMSGSIZE));
        Ok(())
    }

    #[test]
    fn recycled_page_halves() -> Result {
        use crate::netdev::skb::page_ref_count;

        let page = Page::alloc_page(GFP_KERNEL)?;
        assert_eq!(page_ref_count(&page), 1);
        for round in 0..3u8 {
            let pattern: [u8; 100] = core::array::from_fn(|i| i as u8 ^ round);
            // SAFETY: `pattern` is readable for 100 bytes; 2048 + 64 + 100 is within the page,
            // which no buffer uses now.
            unsafe { page.write_raw(pattern.as_ptr(), 2048 + 64, pattern.len())? };
            // SAFETY: No other buffer uses the second half, and it is not written until the
            // buffer is freed below.
            let skb = unsafe { Skb::build_from_page_frag(&page, 2048, 2048, 64, 100)? };
            assert_eq!(page_ref_count(&page), 2);
            assert_eq!(skb.headroom(), 64);
            assert_eq!(skb.data(), &pattern[..]);
            drop(skb);
            // The stack is done with it: the half can be reused.
            assert_eq!(page_ref_count(&page), 1);
        }
        // SAFETY: The checks fail before anything uses the page.
        let bad = unsafe {
            [
                Skb::build_from_page_frag(&page, 100, 2048, 0, 10).err(),
                Skb::build_from_page_frag(&page, 2048, 4096, 0, 10).err(),
                Skb::build_from_page_frag(&page, 0, 1024, 64, 1000).err(),
            ]
        };
        assert_eq!(bad, [Some(EINVAL), Some(EINVAL), Some(EMSGSIZE)]);
        assert_eq!(page_ref_count(&page), 1);
        Ok(())
    }

    #[test]
    fn build_from_shared_page_recycles() -> Result {
        use crate::dma_stream::SharedPage;

        // A compound page, as for one jumbo frame.
        let mut page = SharedPage::alloc(2, GFP_KERNEL)?;
        let len = 9000u32;
        for round in 0..3u8 {
            let pattern: [u8; 64] = core::array::from_fn(|i| i as u8 ^ round);
            page.device_write(128, &pattern)?;
            page.device_write(128 + len as usize - 64, &pattern)?;
            let skb = Skb::build_from_shared_page(&mut page, 0, 4 * 4096, 128, len)?;
            assert_eq!(page.ref_count(), 2);
            assert_eq!((skb.len(), skb.headlen(), skb.headroom()), (len, len, 128));
            assert_eq!(&skb.data()[..64], &pattern[..]);
            assert_eq!(&skb.data()[len as usize - 64..], &pattern[..]);
            // While the buffer lives, the page is not handed out again, and a device model
            // can neither write nor read the bytes the buffer hands out.
            assert_eq!(
                Skb::build_from_shared_page(&mut page, 0, 4096, 0, 10).err(),
                Some(EBUSY)
            );
            assert_eq!(page.device_write(128, &[0]), Err(EBUSY));
            let mut byte = [0u8];
            assert_eq!(page.device_read(128, &mut byte), Err(EBUSY));
            assert_eq!(skb.data()[0], pattern[0]);
            drop(skb);
            assert!(page.is_unshared());
        }
        // Another handle of the page (a clone) keeps it from being written or handed out.
        let other = page.clone();
        assert_eq!(page.device_write(0, &[1]), Err(EBUSY));
        assert_eq!(
            Skb::build_from_shared_page(&mut page, 0, 4096, 0, 10).err(),
            Some(EBUSY)
        );
        drop(other);
        page.device_write(0, &[1])?;
        let mut small = SharedPage::alloc(0, GFP_KERNEL)?;
        assert_eq!(
            [
                Skb::build_from_shared_page(&mut small, 64, 8192, 0, 10).err(),
                Skb::build_from_shared_page(&mut small, 100, 2048, 0, 10).err(),
                Skb::build_from_shared_page(&mut small, 0, 4096, 64, 4000).err(),
            ],
            [Some(EINVAL), Some(EINVAL), Some(EMSGSIZE)]
        );
        assert!(small.is_unshared());
        Ok(())
    }

    #[test]
    fn page_fragments() -> Result {
        let mut skb = Skb::alloc(128, GFP_KERNEL)?;
        skb.put_data(&frame::<14>(0x88b5))?;
        let page = Page::alloc_page(GFP_KERNEL)?;
        let pattern: [u8; 300] = core::array::from_fn(|i| (i * 3 + 1) as u8);
        // SAFETY: `pattern` is readable for 300 bytes and 100 + 300 lies within the page.
        unsafe { page.write_raw(pattern.as_ptr(), 100, pattern.len())? };
        skb.add_rx_frag(page, 100, 300, 4096)?;
        assert_eq!(skb.nr_frags(), 1);
        assert_eq!(skb.len(), 314);
        assert_eq!(skb.data_len(), 300);
        assert_eq!(skb.headlen(), 14);
        let frag = skb.frag(0).ok_or(EINVAL)?;
        assert_eq!(frag.len(), 300);
        assert_eq!(frag.offset(), 100);
        assert!(!frag.page_raw().is_null());
        assert!(skb.frag(1).is_none());
        // No `put` onto a buffer with fragments.
        assert_eq!(skb.put(1).err(), Some(EINVAL));

        let mut out = [0u8; 300];
        skb.copy_bits(14, &mut out)?;
        assert_eq!(out, pattern);

        let bad = Page::alloc_page(GFP_KERNEL)?;
        assert_eq!(skb.add_rx_frag(bad, 4000, 200, 4096), Err(EINVAL));

        skb.linearize()?;
        assert_eq!(skb.nr_frags(), 0);
        assert_eq!(skb.headlen(), 314);
        assert_eq!(&skb.data()[14..], &pattern[..]);
        Ok(())
    }

    #[test]
    fn eth_type_trans() -> Result {
        let shared = Shared::new()?;
        let mut dev = UnregisteredDevice::<TestDriver>::new(1, 1, TestData::new(&shared))?;
        dev.set_mac_address(&MAC);
        let mut skb = dev.alloc_skb(128)?;
        skb.put_data(&frame::<60>(0x0800))?;
        skb.eth_type_trans(&*dev)?;
        assert_eq!(skb.protocol(), 0x0800);
        assert_eq!(skb.len(), 46);
        assert_eq!(u32::from(skb.pkt_type()), bindings::PACKET_BROADCAST);
        assert_eq!(skb.data()[0], 14);

        let mut short = dev.alloc_skb(128)?;
        short.put_data(&[0u8; 10])?;
        assert_eq!(short.eth_type_trans(&*dev), Err(EINVAL));
        Ok(())
    }
}

#[kunit_tests(rust_netdev_napi)]
mod napi_tests {
    use super::*;
    use crate::{
        netdev::{
            napi::{
                Napi,
                NapiPoll,
                Poll,
                NAPI_POLL_WEIGHT, //
            },
            skb::{
                page_ref_count,
                GroResult,
                HashType, //
            },
            Registration,
            UnregisteredDevice, //
        },
        page::Page, //
    };
    use core::ptr::NonNull;

    /// The device the poll builds packets for.
    struct DevRef(NonNull<Device<TestDriver>>);

    // SAFETY: The tests keep the device alive for as long as the `Napi` that holds this, and
    // `Device` is `Sync`.
    unsafe impl Send for DevRef {}
    // SAFETY: As above.
    unsafe impl Sync for DevRef {}

    struct Poller {
        dev: DevRef,
        /// A receive page whose second half is lent to the stack and reused once it is back.
        rx_page: Page,
        recycled: Atomic<u32>,
        pending: Atomic<u32>,
        polls: Atomic<u32>,
        processed: Atomic<u32>,
        completes: Atomic<u32>,
        gro_normal: Atomic<u32>,
        rx_errors: Atomic<u32>,
        last_budget: Atomic<u32>,
    }

    impl Poller {
        fn receive(&self, napi: &NapiPoll<'_, Self>, built: bool) -> Result<GroResult> {
            // SAFETY: See `DevRef`.
            let dev = unsafe { self.dev.0.as_ref() };
            let f = frame::<60>(0x88b5);
            let mut skb = if built && page_ref_count(&self.rx_page) == 1 {
                // The stack released the half: write the next packet into it and lend it again.
                // SAFETY: `f` is readable for 60 bytes; 2048 + 64 + 60 is within the page, whose
                // second half no buffer uses now (reference count 1) and only this poll, which
                // never runs concurrently with itself, writes.
                unsafe { self.rx_page.write_raw(f.as_ptr(), 2048 + 64, f.len())? };
                self.recycled.fetch_add(1u32, Relaxed);
                // SAFETY: As above; the half is not written again until the count drops back.
                unsafe { napi.build_skb_frag(&self.rx_page, 2048, 2048, 64, 60)? }
            } else if built {
                let page = Page::alloc_page(GFP_ATOMIC)?;
                // SAFETY: `f` is readable for 60 bytes and 64 + 60 lies within the page.
                unsafe { page.write_raw(f.as_ptr(), 64, f.len())? };
                napi.build_skb(page, 64, 60)?
            } else {
                let mut skb = napi.alloc_skb(128)?;
                skb.put_data(&f)?;
                skb
            };
            skb.set_hash(1, HashType::L3);
            skb.eth_type_trans(dev)?;
            Ok(napi.gro_receive(skb))
        }
    }

    /// What only the poll of [`Poller`] uses: its own count of polls and of packets, kept
    /// without atomics.
    #[derive(Default)]
    struct PollerState {
        polls: u32,
        processed: u32,
    }

    impl Poll for Poller {
        type State = PollerState;

        fn poll(napi: NapiPoll<'_, Self>, state: &mut PollerState, budget: i32) -> i32 {
            let this = napi.data();
            state.polls += 1;
            this.polls.fetch_add(1u32, Relaxed);
            this.last_budget.store(budget as u32, Relaxed);
            // A transmit completion: the buffer goes back to the per-CPU cache.
            if let Ok(skb) = Skb::alloc(64, GFP_ATOMIC) {
                skb.napi_consume(&napi);
            }
            let pending = this.pending.load(Relaxed);
            let work = pending.min(budget as u32);
            for i in 0..work {
                // The first packets of each poll go up the stack through GRO.
                if i < 2 {
                    match this.receive(&napi, i == 1) {
                        Ok(GroResult::Normal) => {
                            this.gro_normal.fetch_add(1u32, Relaxed);
                        }
                        _ => {
                            this.rx_errors.fetch_add(1u32, Relaxed);
                        }
                    }
                }
            }
            this.pending.store(pending - work, Relaxed);
            state.processed += work;
            this.processed.fetch_add(work, Relaxed);
            if (work as i32) < budget {
                // Count before completing: the test waits for this counter.
                this.completes.fetch_add(1u32, Relaxed);
                napi.complete_done(work as i32);
            }
            work as i32
        }
    }

    #[test]
    fn schedule_poll_complete() -> Result {
        let shared = Shared::new()?;
        let reg = Registration::new_virtual(UnregisteredDevice::<TestDriver>::new(
            1,
            1,
            TestData::new(&shared),
        )?)?;
        let poller = Poller {
            dev: DevRef(NonNull::from(&*reg)),
            rx_page: Page::alloc_page(GFP_KERNEL)?,
            recycled: Atomic::new(0),
            pending: Atomic::new(100),
            polls: Atomic::new(0),
            processed: Atomic::new(0),
            completes: Atomic::new(0),
            gro_normal: Atomic::new(0),
            rx_errors: Atomic::new(0),
            last_budget: Atomic::new(0),
        };
        let napi = KBox::pin_init(
            Napi::new(&*reg, NAPI_POLL_WEIGHT, poller, PollerState::default()),
            GFP_KERNEL,
        )?;
        let p = napi.data();
        // The poll's state is reachable while the context is disabled, and only then.
        napi.with_disabled_state(|s| s.processed = 1000)?;

        // A context starts disabled. (Not scheduling it here: a schedule attempt on a disabled
        // context is remembered by the core and causes one more poll after enabling.)
        napi.enable();
        assert!(!napi.is_scheduled());
        assert!(napi.schedule());
        assert!(wait_for(|| p.completes.load(Relaxed) == 1));
        // 100 packets with a weight of 64: one full poll, then one that completes.
        assert_eq!(p.polls.load(Relaxed), 2);
        assert_eq!(p.processed.load(Relaxed), 100);
        assert_eq!(p.last_budget.load(Relaxed), NAPI_POLL_WEIGHT);
        assert_eq!(p.gro_normal.load(Relaxed), 4);
        assert_eq!(p.rx_errors.load(Relaxed), 0);
        // Each poll lent the recycled half once; the stack dropped the packets, giving it back.
        assert_eq!(p.recycled.load(Relaxed), 2);
        assert_eq!(page_ref_count(&p.rx_page), 1);
        assert!(wait_for(|| !napi.is_scheduled()));

        // Completed, so it can be scheduled again.
        p.pending.store(5, Relaxed);
        assert!(napi.schedule());
        assert!(wait_for(|| p.completes.load(Relaxed) == 2));
        assert_eq!(p.polls.load(Relaxed), 3);
        assert_eq!(p.processed.load(Relaxed), 105);

        assert_eq!(napi.with_disabled_state(|_| ()), Err(EBUSY));
        napi.disable();
        // Each poll had the state to itself: its plain counts agree with the atomic ones.
        assert_eq!(
            napi.with_disabled_state(|s| (s.polls, s.processed))?,
            (3, 1105)
        );
        // Disabled: cannot be scheduled.
        assert!(!napi.schedule());
        fsleep(Delta::from_millis(20));
        assert_eq!(p.polls.load(Relaxed), 3);
        // Enabling and disabling twice is harmless.
        napi.enable();
        napi.enable();
        napi.disable();
        napi.disable();
        napi.enable();
        // Dropped while enabled: disabled and removed from the device.
        drop(napi);
        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }

    /// A poll that uses the context's device without a reference of its own.
    struct DevPoller {
        protocol: Atomic<u32>,
        queues_ok: Atomic<u32>,
        after_complete: Atomic<u32>,
    }

    impl Poll for DevPoller {
        type State = ();

        fn poll(napi: NapiPoll<'_, Self>, _state: &mut (), _budget: i32) -> i32 {
            let this = napi.context().data();
            let f = frame::<60>(0x88b5);
            if let Ok(mut skb) = napi.alloc_skb(128) {
                if skb.put_data(&f).is_ok() && napi.eth_type_trans(&mut skb).is_ok() {
                    // The header was pulled and the protocol set from it.
                    if skb.len() == 46 {
                        this.protocol.store(u32::from(skb.protocol()), Relaxed);
                    }
                }
                skb.napi_consume(&napi);
            }
            if napi.tx_queue(0).is_some() && napi.tx_queue(1).is_none() {
                this.queues_ok.store(1, Relaxed);
            }
            napi.complete_done(0);
            // The context (and its data) outlives the completed poll.
            this.after_complete.fetch_add(1u32, Relaxed);
            0
        }
    }

    /// Poll data whose drop is counted.
    struct Counted(Arc<Atomic<u32>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1u32, Relaxed);
        }
    }

    impl Poll for Counted {
        type State = ();

        fn poll(napi: NapiPoll<'_, Self>, _state: &mut (), _budget: i32) -> i32 {
            napi.complete_done(0);
            0
        }
    }

    /// A context that outlives its device's registration (it escaped the private data) holds
    /// the device's memory: the private data is dropped with the registration, the device
    /// itself is freed when the context goes (neither leaked nor left dangling).
    #[test]
    fn context_outliving_its_device_holds_its_memory() -> Result {
        let shared = Shared::new()?;
        let gone = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let reg = Registration::new_virtual(UnregisteredDevice::<TestDriver>::new(
            1,
            1,
            TestData::new(&shared),
        )?)?;
        let mem = crate::netdev::DeviceMemRef::new(&*reg);
        // The registration's and ours.
        assert_eq!(mem.refs(), 2);
        let napi = Arc::pin_init(
            Napi::new(&*reg, NAPI_POLL_WEIGHT, Counted(gone.clone()), ()),
            GFP_KERNEL,
        )?;
        assert_eq!(mem.refs(), 3);
        napi.enable();
        napi.disable();
        drop(reg);
        // Unregistered, the private data dropped; the memory held by the context and by us.
        assert_eq!(shared.drops.load(Relaxed), 1);
        assert_eq!(mem.refs(), 2);
        assert_eq!(gone.load(Relaxed), 0);
        drop(napi);
        assert_eq!(gone.load(Relaxed), 1);
        assert_eq!(mem.refs(), 1);
        // The last reference frees the device.
        drop(mem);
        Ok(())
    }

    /// The NAPI id and settings of a context created with a configuration index outlive it
    /// (`ethtool -L`); its IRQ is recorded; queues refer to their context, which the device
    /// keeps alive until they no longer do.
    #[test]
    fn config_irq_and_queues() -> Result {
        use crate::netdev::{
            rtnl_lock,
            QueueKind, //
        };
        let shared = Shared::new()?;
        let reg = Registration::new_virtual(UnregisteredDevice::<TestDriver>::new(
            2,
            2,
            TestData::new(&shared),
        )?)?;
        let gone = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let counted = || Counted(gone.clone());
        let rx_napi = |q: usize| {
            // SAFETY: The device is registered and has 2 receive queues; the rtnl lock
            // serialises the writers of `napi`, a plain read suffices in a test.
            unsafe { (*(*reg.as_raw())._rx.add(q)).napi }
        };
        let tx_napi = |q: u32| {
            // SAFETY: As above, for the transmit queues.
            unsafe { (*bindings::netdev_get_tx_queue(reg.as_raw(), q)).napi }
        };

        // There are max(2, 2) configurations.
        let r = Arc::pin_init(Napi::new_with_config(&*reg, 2, counted(), ()), GFP_KERNEL);
        assert_eq!(r.err(), Some(EINVAL));
        // The poll data was dropped with the failed context.
        assert_eq!(gone.load(Relaxed), 1);

        let a = Arc::pin_init(Napi::new_with_config(&*reg, 1, counted(), ()), GFP_KERNEL)?;
        assert_eq!(a.id(), 0);
        a.enable();
        let id = a.id();
        assert!(id != 0);
        a.set_irq(Some(42));
        assert_eq!(a.irq(), Some(42));
        a.set_irq(None);
        assert_eq!(a.irq(), None);
        drop(a);
        assert_eq!(gone.load(Relaxed), 2);
        // The next context of index 1 gets the same id; one without a configuration does not.
        let b = Arc::pin_init(Napi::new_with_config(&*reg, 1, counted(), ()), GFP_KERNEL)?;
        b.enable();
        assert_eq!(b.id(), id);
        let c = Arc::pin_init(
            Napi::new(&*reg, NAPI_POLL_WEIGHT, counted(), ()),
            GFP_KERNEL,
        )?;
        c.enable();
        assert!(c.id() != 0 && c.id() != id);

        // Asserts run without the rtnl lock: a failed one ends the test thread.
        let r = {
            let rtnl = rtnl_lock();
            reg.set_queue_napi(QueueKind::Rx, 1, Some(&b), &rtnl)?;
            reg.set_queue_napi(QueueKind::Tx, 0, Some(&b), &rtnl)?;
            reg.set_queue_napi(QueueKind::Rx, 0, Some(&c), &rtnl)?;
            reg.set_queue_napi(QueueKind::Rx, 2, Some(&b), &rtnl)
        };
        assert_eq!(r.err(), Some(EINVAL));
        assert_eq!(rx_napi(1), b.as_raw());
        assert_eq!(tx_napi(0), b.as_raw());
        assert_eq!(rx_napi(0), c.as_raw());
        assert!(tx_napi(1).is_null());

        // A context of another device is refused.
        let other = Registration::new_virtual(UnregisteredDevice::<TestDriver>::new(
            1,
            1,
            TestData::new(&shared),
        )?)?;
        let foreign = Arc::pin_init(
            Napi::new(&*other, NAPI_POLL_WEIGHT, counted(), ()),
            GFP_KERNEL,
        )?;
        let r = {
            let rtnl = rtnl_lock();
            reg.set_queue_napi(QueueKind::Rx, 1, Some(&foreign), &rtnl)
        };
        assert_eq!(r.err(), Some(EINVAL));
        drop(foreign);
        drop(other);
        assert_eq!(gone.load(Relaxed), 3);

        // The queues keep `b` alive until neither refers to it.
        drop(b);
        assert_eq!(gone.load(Relaxed), 3);
        let unlink = |kind, q| {
            let rtnl = rtnl_lock();
            reg.set_queue_napi::<Counted>(kind, q, None, &rtnl)
        };
        unlink(QueueKind::Rx, 1)?;
        assert_eq!(gone.load(Relaxed), 3);
        unlink(QueueKind::Tx, 0)?;
        assert_eq!(gone.load(Relaxed), 4);
        assert!(rx_napi(1).is_null());
        assert!(tx_napi(0).is_null());

        // Freeing the device lets go of `c`, still referred to by receive queue 0, and the
        // device is freed (its private data dropped, nothing leaked).
        drop(c);
        assert_eq!(gone.load(Relaxed), 4);
        drop(reg);
        assert_eq!(gone.load(Relaxed), 5);
        assert_eq!(shared.drops.load(Relaxed), 2);
        Ok(())
    }

    #[test]
    fn poll_reaches_its_device_through_the_context() -> Result {
        let shared = Shared::new()?;
        let reg = Registration::new_virtual(UnregisteredDevice::<TestDriver>::new(
            1,
            1,
            TestData::new(&shared),
        )?)?;
        let poller = DevPoller {
            protocol: Atomic::new(0),
            queues_ok: Atomic::new(0),
            after_complete: Atomic::new(0),
        };
        let napi = KBox::pin_init(Napi::new(&*reg, NAPI_POLL_WEIGHT, poller, ()), GFP_KERNEL)?;
        let p = napi.data();
        napi.enable();
        assert!(napi.schedule());
        assert!(wait_for(|| p.after_complete.load(Relaxed) == 1));
        assert_eq!(p.protocol.load(Relaxed), 0x88b5);
        assert_eq!(p.queues_ok.load(Relaxed), 1);
        drop(napi);
        drop(reg);
        Ok(())
    }
}

#[kunit_tests(rust_netdev_ethtool)]
mod ethtool_tests {
    use super::*;
    use crate::netdev::{
        rtnl_lock,
        Registration,
        UnregisteredDevice, //
    };

    fn ethtool_ops_of(dev: &Device<TestDriver>) -> Result<&'static bindings::ethtool_ops> {
        // SAFETY: `ethtool_ops` is null or points to the static table of the test driver.
        unsafe { (*dev.as_raw()).ethtool_ops.as_ref() }.ok_or(EINVAL)
    }

    /// The operations as `ethtool(8)` reaches them: through the ethtool core's ioctl
    /// (`dev_ethtool()`), which takes the rtnl lock, checks the request against what the
    /// driver reports, and copies the answers back.
    #[test]
    fn ethtool_through_the_core() -> Result {
        let shared = Shared::new()?;
        let mut dev = UnregisteredDevice::<TestDriver>::new(4, 4, TestData::new(&shared))?;
        dev.set_ethtool_ops();
        // A valid address, or `dev_open()` refuses the interface.
        dev.set_mac_address(&MAC);
        let reg = Registration::new_virtual(dev)?;
        let name = crate::str::CString::try_from_fmt(fmt!("{}", reg.name()))?;
        let buf = test_user_mem(4096)?;

        let mut info: bindings::ethtool_drvinfo = pin_init::zeroed();
        info.cmd = bindings::ETHTOOL_GDRVINFO;
        assert_eq!(ethtool_ioctl(&name, buf, &mut info)?, 0);
        assert_eq!(c_bytes(&info.driver), b"rust_netdev_test");
        assert_eq!(c_bytes(&info.fw_version), b"1.2.3");
        // The core filled in the counts from `get_sset_count` (2 + one per queue).
        assert_eq!(info.n_stats, 6);

        // The core reports the link of an up interface only.
        let mut link: bindings::ethtool_value = pin_init::zeroed();
        link.cmd = bindings::ETHTOOL_GLINK;
        reg.carrier_on();
        assert_eq!(ethtool_ioctl(&name, buf, &mut link)?, 0);
        assert_eq!(link.data, 0);
        reg.open(&rtnl_lock())?;
        reg.carrier_on();
        assert_eq!(ethtool_ioctl(&name, buf, &mut link)?, 0);
        assert_eq!(link.data, 1);
        reg.carrier_off();
        assert_eq!(ethtool_ioctl(&name, buf, &mut link)?, 0);
        assert_eq!(link.data, 0);

        let mut ch: bindings::ethtool_channels = pin_init::zeroed();
        ch.cmd = bindings::ETHTOOL_GCHANNELS;
        assert_eq!(ethtool_ioctl(&name, buf, &mut ch)?, 0);
        assert_eq!((ch.max_combined, ch.combined_count), (4, 4));
        ch.cmd = bindings::ETHTOOL_SCHANNELS;
        ch.combined_count = 2;
        assert_eq!(ethtool_ioctl(&name, buf, &mut ch)?, 0);
        assert_eq!((reg.real_num_tx_queues(), reg.real_num_rx_queues()), (2, 2));
        // Above the maximum the driver reports: the core refuses before the driver sees it.
        ch.combined_count = 5;
        assert_eq!(ethtool_ioctl(&name, buf, &mut ch)?, EINVAL.to_errno());
        assert_eq!(reg.real_num_rx_queues(), 2);

        let mut ring: bindings::ethtool_ringparam = pin_init::zeroed();
        ring.cmd = bindings::ETHTOOL_GRINGPARAM;
        assert_eq!(ethtool_ioctl(&name, buf, &mut ring)?, 0);
        assert_eq!((ring.rx_max_pending, ring.rx_pending), (8192, 512));
        ring.cmd = bindings::ETHTOOL_SRINGPARAM;
        ring.rx_pending = 1024;
        assert_eq!(ethtool_ioctl(&name, buf, &mut ring)?, 0);
        assert_eq!(shared.eth.lock().rx_ring, 1024);
        // The driver's own refusal comes back as the ioctl's errno.
        ring.rx_pending = 1000;
        assert_eq!(ethtool_ioctl(&name, buf, &mut ring)?, EINVAL.to_errno());
        // Above the maximum: refused by the core.
        ring.rx_pending = 16384;
        assert_eq!(ethtool_ioctl(&name, buf, &mut ring)?, EINVAL.to_errno());
        assert_eq!(shared.eth.lock().rx_ring, 1024);

        // An operation the driver does not have.
        let mut wol: bindings::ethtool_wolinfo = pin_init::zeroed();
        wol.cmd = bindings::ETHTOOL_GWOL;
        assert_eq!(ethtool_ioctl(&name, buf, &mut wol)?, EOPNOTSUPP.to_errno());

        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn ethtool_ops_table() -> Result {
        let shared = Shared::new()?;
        let mut dev = UnregisteredDevice::<TestDriver>::new(4, 4, TestData::new(&shared))?;
        // The core's default operations, without driver callbacks.
        assert!(ethtool_ops_of(&dev)?.get_drvinfo.is_none());
        dev.set_ethtool_ops();
        let ops = ethtool_ops_of(&dev)?;
        let raw = dev.as_raw();
        // The core calls the operations with the rtnl lock held; so do the direct calls below.
        let rtnl = rtnl_lock();
        assert_eq!(
            ops.supported_coalesce_params,
            ethtool::COALESCE_RX_USECS | ethtool::COALESCE_RX_CQE_FRAMES
        );
        // Not implemented by the test driver.
        assert!(ops.get_wol.is_none());

        let mut info: bindings::ethtool_drvinfo = pin_init::zeroed();
        // SAFETY: `raw` is a device of the test driver and `info` is valid.
        unsafe { ops.get_drvinfo.ok_or(EINVAL)?(raw, &mut info) };
        assert_eq!(c_bytes(&info.driver), b"rust_netdev_test");
        assert_eq!(c_bytes(&info.fw_version), b"1.2.3");
        assert_eq!(c_bytes(&info.bus_info), b"a-bus-name-much-longer-than-the");

        let get_link = ops.get_link.ok_or(EINVAL)?;
        dev.carrier_off();
        // SAFETY: `raw` is a device of the test driver.
        assert_eq!(unsafe { get_link(raw) }, 0);
        dev.carrier_on();
        // SAFETY: As above.
        assert_eq!(unsafe { get_link(raw) }, 1);

        let mut ch: bindings::ethtool_channels = pin_init::zeroed();
        // SAFETY: `raw` is a device of the test driver and `ch` is valid.
        unsafe { ops.get_channels.ok_or(EINVAL)?(raw, &mut ch) };
        assert_eq!((ch.max_combined, ch.combined_count), (4, 4));
        ch.combined_count = 2;
        // SAFETY: As above.
        assert_eq!(unsafe { ops.set_channels.ok_or(EINVAL)?(raw, &mut ch) }, 0);
        assert_eq!(dev.real_num_tx_queues(), 2);
        assert_eq!(dev.real_num_rx_queues(), 2);
        ch.combined_count = 0;
        // SAFETY: As above.
        let ret = unsafe { ops.set_channels.ok_or(EINVAL)?(raw, &mut ch) };
        assert_eq!(ret, EINVAL.to_errno());

        let mut ring: bindings::ethtool_ringparam = pin_init::zeroed();
        let mut kring: bindings::kernel_ethtool_ringparam = pin_init::zeroed();
        let null = core::ptr::null_mut();
        // SAFETY: `raw` is a device of the test driver and the parameters are valid.
        unsafe { ops.get_ringparam.ok_or(EINVAL)?(raw, &mut ring, &mut kring, null) };
        assert_eq!(
            (ring.rx_max_pending, ring.rx_pending, ring.tx_pending),
            (8192, 512, 256)
        );
        ring.rx_pending = 1024;
        // SAFETY: As above.
        let ret = unsafe { ops.set_ringparam.ok_or(EINVAL)?(raw, &mut ring, &mut kring, null) };
        assert_eq!(ret, 0);
        assert_eq!(shared.eth.lock().rx_ring, 1024);
        ring.rx_pending = 1000;
        // SAFETY: As above.
        let ret = unsafe { ops.set_ringparam.ok_or(EINVAL)?(raw, &mut ring, &mut kring, null) };
        assert_eq!(ret, EINVAL.to_errno());

        // RSS hash fields, per flow type; other RSS contexts are refused.
        let mut fields: bindings::ethtool_rxfh_fields = pin_init::zeroed();
        fields.flow_type = ethtool::TCP_V4_FLOW;
        // SAFETY: `raw` is a device of the test driver and `fields` is valid.
        let ret = unsafe { ops.get_rxfh_fields.ok_or(EINVAL)?(raw, &mut fields) };
        assert_eq!(ret, 0);
        assert_eq!(fields.data, SDFN);
        fields.data = SD;
        // SAFETY: As above.
        let ret = unsafe { ops.set_rxfh_fields.ok_or(EINVAL)?(raw, &fields, null) };
        assert_eq!(ret, 0);
        assert_eq!(shared.eth.lock().tcp4_fields, SD);
        fields.data = ethtool::RXH_IP_SRC;
        // SAFETY: As above.
        let ret = unsafe { ops.set_rxfh_fields.ok_or(EINVAL)?(raw, &fields, null) };
        assert_eq!(ret, EINVAL.to_errno());
        fields.data = 0;
        // SAFETY: As above.
        let ret = unsafe { ops.get_rxfh_fields.ok_or(EINVAL)?(raw, &mut fields) };
        assert_eq!(ret, 0);
        assert_eq!(fields.data, SD);
        fields.rss_context = 1;
        // SAFETY: As above.
        let ret = unsafe { ops.get_rxfh_fields.ok_or(EINVAL)?(raw, &mut fields) };
        assert_eq!(ret, EOPNOTSUPP.to_errno());
        fields.data = SDFN;
        // SAFETY: As above.
        let ret = unsafe { ops.set_rxfh_fields.ok_or(EINVAL)?(raw, &fields, null) };
        assert_eq!(ret, EOPNOTSUPP.to_errno());
        assert_eq!(shared.eth.lock().tcp4_fields, SD);
        fields.rss_context = 0;
        fields.flow_type = ethtool::SCTP_V4_FLOW;
        // SAFETY: As above.
        let ret = unsafe { ops.get_rxfh_fields.ok_or(EINVAL)?(raw, &mut fields) };
        assert_eq!(ret, EOPNOTSUPP.to_errno());

        // Private flags: what the driver keeps, unknown bits refused.
        // SAFETY: `raw` is a device of the test driver.
        assert_eq!(unsafe { ops.get_priv_flags.ok_or(EINVAL)?(raw) }, 0);
        // SAFETY: As above.
        assert_eq!(unsafe { ops.set_priv_flags.ok_or(EINVAL)?(raw, 1) }, 0);
        assert_eq!(shared.eth.lock().priv_flags, 1);
        // SAFETY: As above.
        let ret = unsafe { ops.set_priv_flags.ok_or(EINVAL)?(raw, 3) };
        assert_eq!(ret, EINVAL.to_errno());
        // SAFETY: As above.
        assert_eq!(unsafe { ops.get_priv_flags.ok_or(EINVAL)?(raw) }, 1);

        // SAFETY: `raw` is a device of the test driver.
        let key_size = unsafe { ops.get_rxfh_key_size.ok_or(EINVAL)?(raw) };
        assert_eq!(key_size, KEY_SIZE as u32);
        // SAFETY: As above.
        let indir_size = unsafe { ops.get_rxfh_indir_size.ok_or(EINVAL)?(raw) };
        assert_eq!(indir_size, INDIR_SIZE as u32);
        let mut indir = [0u32; INDIR_SIZE];
        let mut key = [0u8; KEY_SIZE];
        let new_indir: [u32; INDIR_SIZE] = core::array::from_fn(|i| (i % 2) as u32);
        let mut new_key: [u8; KEY_SIZE] = core::array::from_fn(|i| i as u8);
        let mut rxfh: bindings::ethtool_rxfh_param = pin_init::zeroed();
        rxfh.indir_size = INDIR_SIZE as u32;
        rxfh.indir = new_indir.as_ptr().cast_mut();
        rxfh.key_size = KEY_SIZE as u32;
        rxfh.key = new_key.as_mut_ptr();
        // SAFETY: `raw` is a device of the test driver; `rxfh` and its arrays are valid.
        let ret = unsafe { ops.set_rxfh.ok_or(EINVAL)?(raw, &mut rxfh, null) };
        assert_eq!(ret, 0);
        rxfh.rss_context = 1;
        // SAFETY: As above.
        let ret = unsafe { ops.set_rxfh.ok_or(EINVAL)?(raw, &mut rxfh, null) };
        assert_eq!(ret, EOPNOTSUPP.to_errno());
        let mut rxfh: bindings::ethtool_rxfh_param = pin_init::zeroed();
        rxfh.indir = indir.as_mut_ptr();
        rxfh.key = key.as_mut_ptr();
        // SAFETY: As above; the arrays have the sizes the driver reports.
        assert_eq!(unsafe { ops.get_rxfh.ok_or(EINVAL)?(raw, &mut rxfh) }, 0);
        assert_eq!(rxfh.hfunc, ethtool::RSS_HASH_TOP);
        assert_eq!(indir, new_indir);
        assert_eq!(key, new_key);

        let mut ec: bindings::ethtool_coalesce = pin_init::zeroed();
        let mut kec: bindings::kernel_ethtool_coalesce = pin_init::zeroed();
        ec.rx_coalesce_usecs = 33;
        kec.rx_cqe_frames = 4;
        // SAFETY: `raw` is a device of the test driver and the parameters are valid.
        let ret = unsafe { ops.set_coalesce.ok_or(EINVAL)?(raw, &mut ec, &mut kec, null) };
        assert_eq!(ret, 0);
        let mut ec: bindings::ethtool_coalesce = pin_init::zeroed();
        let mut kec: bindings::kernel_ethtool_coalesce = pin_init::zeroed();
        // SAFETY: As above.
        let ret = unsafe { ops.get_coalesce.ok_or(EINVAL)?(raw, &mut ec, &mut kec, null) };
        assert_eq!(ret, 0);
        assert_eq!((ec.rx_coalesce_usecs, kec.rx_cqe_frames), (33, 4));

        let sset = ethtool::SS_STATS as i32;
        // SAFETY: `raw` is a device of the test driver.
        let count = unsafe { ops.get_sset_count.ok_or(EINVAL)?(raw, sset) };
        assert_eq!(count, 4);
        // SAFETY: As above.
        let ret = unsafe { ops.get_sset_count.ok_or(EINVAL)?(raw, 99) };
        assert_eq!(ret, EOPNOTSUPP.to_errno());
        let mut strings = [[0u8; ethtool::GSTRING_LEN]; 4];
        // SAFETY: `strings` holds `count` strings.
        unsafe {
            ops.get_strings.ok_or(EINVAL)?(raw, ethtool::SS_STATS, strings.as_mut_ptr().cast())
        };
        let name = |i: usize| {
            let s = &strings[i];
            &s[..s.iter().position(|b| *b == 0).unwrap_or(s.len())]
        };
        assert_eq!(name(0), b"tx_packets");
        assert_eq!(name(1), b"tx_bytes");
        // Truncated to 31 bytes and a NUL.
        assert_eq!(name(3), b"tx_queue_1_stopped_and_a_long_t");
        dev.tx_queue(1).ok_or(EINVAL)?.stop();
        let mut values = [u64::MAX; 4];
        // SAFETY: All-zeroes is a valid `ethtool_stats` (integers and an empty array).
        let mut stats: bindings::ethtool_stats =
            unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
        stats.n_stats = 4;
        // SAFETY: `values` holds `stats.n_stats` counters.
        unsafe { ops.get_ethtool_stats.ok_or(EINVAL)?(raw, &mut stats, values.as_mut_ptr()) };
        assert_eq!(values, [0, 0, 0, 1]);

        // With 4 queues the driver now counts 6 strings, but the core sized its buffer from the
        // count of 4 it was given: only 4 strings are written.
        let mut ch: bindings::ethtool_channels = pin_init::zeroed();
        ch.combined_count = 4;
        // SAFETY: `raw` is a device of the test driver and `ch` is valid.
        assert_eq!(unsafe { ops.set_channels.ok_or(EINVAL)?(raw, &mut ch) }, 0);
        let mut strings = [[0xaau8; ethtool::GSTRING_LEN]; 6];
        // SAFETY: `strings` holds more than the 4 strings last counted.
        unsafe {
            ops.get_strings.ok_or(EINVAL)?(raw, ethtool::SS_STATS, strings.as_mut_ptr().cast())
        };
        assert_eq!(&strings[3][..10], b"tx_queue_1");
        assert_eq!(strings[4], [0xaa; ethtool::GSTRING_LEN]);
        assert_eq!(strings[5], [0xaa; ethtool::GSTRING_LEN]);
        // SAFETY: `raw` is a device of the test driver.
        assert_eq!(unsafe { ops.get_sset_count.ok_or(EINVAL)?(raw, sset) }, 6);
        // SAFETY: As above.
        let rings = unsafe { ops.get_rx_ring_count.ok_or(EINVAL)?(raw) };
        assert_eq!(rings, 4);

        drop(rtnl);

        // Through the ethtool core, on a registered device, under rtnl.
        dev.carrier_on();
        let reg = Registration::new_virtual(dev)?;
        let mut ks: bindings::ethtool_link_ksettings = pin_init::zeroed();
        {
            let _rtnl = rtnl_lock();
            // SAFETY: The device is registered and the rtnl lock is held.
            let ret = unsafe { bindings::__ethtool_get_link_ksettings(reg.as_raw(), &mut ks) };
            assert_eq!(ret, 0);
        }
        assert_eq!(ks.base.speed, 100_000);
        assert_eq!(ks.base.duplex, ethtool::DUPLEX_FULL);
        assert_eq!(ks.base.port, ethtool::PORT_OTHER);
        drop(reg);
        assert_eq!(shared.drops.load(Relaxed), 1);
        Ok(())
    }
}

/// User memory of the running KUnit test (`kunit_vm_mmap()`, which gives the test thread an
/// address space), unmapped when the test ends; for the ethtool ioctl, which takes its
/// structures from user space.
fn test_user_mem(len: usize) -> Result<usize> {
    // SAFETY: Reading the current test has no preconditions; it is null outside a test.
    let test = unsafe { bindings::kunit_get_current_test() };
    if test.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: `test` is the running test; KUnit unmaps the area when the test ends.
    let addr = unsafe {
        bindings::kunit_vm_mmap(
            test,
            core::ptr::null_mut(),
            0,
            len,
            0x1 | 0x2,  // PROT_READ | PROT_WRITE
            0x20 | 0x2, // MAP_ANONYMOUS | MAP_PRIVATE
            0,
        )
    } as usize;
    if addr == 0 || addr > usize::MAX - 4095 {
        return Err(ENOMEM);
    }
    Ok(addr)
}

/// Runs the ethtool ioctl whose structure is `cmd` (it starts with the command word) on the
/// interface `name` through the ethtool core (`dev_ethtool()`, as `ethtool(8)` does, the core's
/// checks and locking included), with the structure in user memory at `buf`. Returns the
/// errno and writes what the core copied back into `cmd`.
fn ethtool_ioctl<T>(name: &CStr, buf: usize, cmd: &mut T) -> Result<i32> {
    use crate::uaccess::{
        UserPtr,
        UserSlice, //
    };
    let len = core::mem::size_of::<T>();
    // SAFETY: `cmd` is a plain C structure of `len` bytes, read as bytes.
    let bytes = unsafe { core::slice::from_raw_parts(core::ptr::from_ref(cmd).cast::<u8>(), len) };
    UserSlice::new(UserPtr::from_addr(buf), len)
        .writer()
        .write_slice(bytes)?;
    let mut ifr: bindings::ifreq = pin_init::zeroed();
    // SAFETY: `ifrn_name` is the plain byte view of the name union.
    let ifname = unsafe { &mut ifr.ifr_ifrn.ifrn_name };
    let src = name.to_bytes();
    if src.len() >= ifname.len() {
        return Err(EINVAL);
    }
    for (d, s) in ifname.iter_mut().zip(src) {
        *d = *s as crate::ffi::c_char;
    }
    // SAFETY: `init_net` lives forever; `ifr` is a local; `buf` is user memory of this task
    // holding the command, which the core copies in and out with the user copy functions.
    let ret = unsafe {
        bindings::dev_ethtool(
            &raw mut bindings::init_net,
            &mut ifr,
            UserPtr::from_addr(buf).as_mut_ptr(),
        )
    };
    // SAFETY: `cmd` is a plain C structure of `len` bytes, written as bytes.
    let out =
        unsafe { core::slice::from_raw_parts_mut(core::ptr::from_mut(cmd).cast::<u8>(), len) };
    UserSlice::new(UserPtr::from_addr(buf), len)
        .reader()
        .read_slice(out)?;
    Ok(ret)
}

/// A bound device that can map memory for DMA: a faux device, given the 64-bit DMA mask that
/// bus code gives a real device (faux devices have none, and `dma_map_*` refuses such a device).
fn dma_test_device() -> Result<crate::faux::Registration> {
    let faux = crate::faux::Registration::new(c"rust_netdev_dma", None)?;
    let raw = bound(&faux).as_raw();
    // SAFETY: `raw` is the live, bound faux device, which no driver and no other thread uses:
    // its DMA mask fields are ours to set, and `dma_mask` points into the device itself.
    unsafe {
        (*raw).coherent_dma_mask = u64::MAX;
        (*raw).dma_mask = &raw mut (*raw).coherent_dma_mask;
    }
    Ok(faux)
}

/// The device of `faux`, bound while `faux` lives.
fn bound(faux: &crate::faux::Registration) -> &crate::device::Device<crate::device::Bound> {
    let dev: &crate::faux::Device<crate::device::Bound> = faux.as_ref();
    dev.as_ref()
}

#[kunit_tests(rust_netdev_dma)]
mod dma_tests {
    use super::*;
    use crate::{
        dma::DataDirection,
        dma_stream::{
            SharedPage,
            StreamDevice,
            StreamMapping, //
        },
        netdev::skb::{
            MappedSkb,
            MAX_SKB_PARTS, //
        },
        page::Page,
    };

    /// A receive mapping the device may write goes to socket buffers only while the CPU owns
    /// its bytes, and back to the device only once the stack freed them.
    #[test]
    fn stream_mapping_ownership() -> Result {
        let faux = dma_test_device()?;
        let dev = bound(&faux);
        let page = SharedPage::alloc(0, GFP_KERNEL)?;
        let mut map = StreamMapping::new(dev, page, 128, 1024, DataDirection::FromDevice)?;
        assert!(map.is_device_owned());
        assert_ne!(map.dma_address(), 0);
        assert_eq!(map.len(), 1024);
        // Not synced for the CPU yet: the device may be writing.
        assert_eq!(map.cpu_page().err(), Some(EBUSY));
        map.sync_for_cpu(0, 64)?;
        assert!(!map.is_device_owned());
        let skb = map.cpu_page()?.build_skb(0, 4096, 128, 64)?;
        assert_eq!((skb.len(), skb.headroom()), (64, 128));
        // The stack holds the page: neither a second buffer nor the device get it.
        assert!(!map.is_unshared());
        assert!(!map.cpu_page()?.is_unshared());
        assert_eq!(
            map.cpu_page()?.build_skb(0, 4096, 128, 64).err(),
            Some(EBUSY)
        );
        assert_eq!(map.sync_for_device(0, 1024), Err(EBUSY));
        assert!(!map.is_device_owned());
        drop(skb);
        map.sync_for_device(0, 1024)?;
        assert!(map.is_device_owned());
        // Ranges outside the mapping.
        assert_eq!(map.sync_for_cpu(1000, 100), Err(EINVAL));
        assert_eq!(map.sync_for_device(usize::MAX, 2), Err(EINVAL));
        drop(map);

        // A page held elsewhere is not given to the device to write; to read, it may be.
        let page = SharedPage::alloc(0, GFP_KERNEL)?;
        let keep = page.clone();
        assert_eq!(
            StreamMapping::new(dev, page, 0, 64, DataDirection::FromDevice).err(),
            Some(EBUSY)
        );
        assert!(keep.is_unshared());
        let mut tx = StreamMapping::new(dev, keep.clone(), 0, 64, DataDirection::ToDevice)?;
        assert!(tx.is_device_owned());
        assert_eq!(tx.cpu_page().err(), Some(EBUSY));
        tx.sync_for_cpu(0, 64)?;
        assert!(tx.cpu_page().is_ok());
        tx.sync_for_device(0, 64)?;
        assert_eq!(keep.ref_count(), 2);
        drop(tx);
        assert!(keep.is_unshared());
        // Bad ranges and directions.
        assert_eq!(
            StreamMapping::new(dev, keep.clone(), 4000, 200, DataDirection::ToDevice).err(),
            Some(EINVAL)
        );
        assert_eq!(
            StreamMapping::new(dev, keep.clone(), 0, 0, DataDirection::ToDevice).err(),
            Some(EINVAL)
        );
        assert_eq!(
            StreamMapping::new(dev, keep.clone(), 0, 64, DataDirection::None).err(),
            Some(EINVAL)
        );
        assert!(keep.is_unshared());
        Ok(())
    }

    /// A `StreamDevice` maps while its device is bound, from a plain shared reference to its
    /// `Devres`, and refuses once the device is unbound: devres revoked it.
    #[test]
    fn stream_device_is_revoked_at_unbind() -> Result {
        let faux = dma_test_device()?;
        let stream = StreamDevice::new(bound(&faux))?;
        {
            let access = stream.try_access().ok_or(EINVAL)?;
            assert_eq!(access.device().as_raw(), bound(&faux).as_raw());
            let page = SharedPage::alloc(0, GFP_KERNEL)?;
            let map = StreamMapping::new(access.device(), page, 0, 64, DataDirection::ToDevice)?;
            assert_ne!(map.dma_address(), 0);
            let mut skb = Skb::alloc(64, GFP_KERNEL)?;
            skb.put_data(&[3; 40])?;
            let mapped = MappedSkb::new(access.device(), skb)?;
            assert_eq!(mapped.parts().len(), 1);
        }
        // With the right device, `access` needs no RCU section; with another it is refused.
        assert!(stream.access(bound(&faux)).is_ok());
        let other = crate::faux::Registration::new(c"rust_netdev_dma_other", None)?;
        assert_eq!(stream.access(bound(&other)).err(), Some(EINVAL));
        // Unregistering the faux device unbinds it; devres drops the capability.
        drop(faux);
        assert!(stream.try_access().is_none());
        drop(stream);
        Ok(())
    }

    /// A transmit buffer is mapped part by part, holds the buffer while mapped, and gives it
    /// back unmapped.
    #[test]
    fn mapped_skb_parts() -> Result {
        let faux = dma_test_device()?;
        let dev = bound(&faux);
        let mut skb = Skb::alloc(256, GFP_KERNEL)?;
        skb.put_data(&[0x5a; 100])?;
        let page = Page::alloc_page(GFP_KERNEL)?;
        skb.add_rx_frag(page, 512, 300, 4096)?;
        let page = Page::alloc_page(GFP_KERNEL)?;
        skb.add_rx_frag(page, 0, 0, 4096)?;
        assert_eq!((skb.headlen(), skb.len(), skb.nr_frags()), (100, 400, 2));
        let mapped = MappedSkb::new(dev, skb)?;
        // The empty fragment is left out.
        let lens: KVec<u32> = {
            let mut v = KVec::new();
            for &(addr, len) in mapped.parts() {
                assert_ne!(addr, 0);
                v.push(len, GFP_KERNEL)?;
            }
            v
        };
        assert_eq!(&lens[..], &[100, 300]);
        assert_eq!(mapped.skb().map(|s| s.len()), Some(400));
        let skb = mapped.into_skb().ok_or(EINVAL)?;
        assert_eq!(skb.len(), 400);

        // A buffer with the most parts; dropping the mapping frees it.
        let mut skb = Skb::alloc(64, GFP_KERNEL)?;
        skb.put_data(&[1; 10])?;
        for _ in 1..MAX_SKB_PARTS {
            let page = Page::alloc_page(GFP_KERNEL)?;
            skb.add_rx_frag(page, 0, 8, 4096)?;
        }
        let mapped = MappedSkb::new(dev, skb)?;
        assert_eq!(mapped.parts().len(), MAX_SKB_PARTS);
        drop(mapped);

        // Mapped in place into a ring slot, which must be empty.
        let mut ring: [Option<MappedSkb>; 2] = [None, None];
        let mut skb = Skb::alloc(64, GFP_KERNEL)?;
        skb.put_data(&[2; 60])?;
        let parts = MappedSkb::map_into(&mut ring[1], dev, skb)?.parts().len();
        assert_eq!(parts, 1);
        assert!(ring[0].is_none());
        let skb = Skb::alloc(64, GFP_KERNEL)?;
        assert_eq!(
            MappedSkb::map_into(&mut ring[1], dev, skb).err(),
            Some(EBUSY)
        );
        assert_eq!(ring[1].as_ref().map(|m| m.parts()[0].1), Some(60));
        let skb = ring[1].take().and_then(MappedSkb::into_skb).ok_or(EINVAL)?;
        assert_eq!(skb.len(), 60);
        Ok(())
    }
}
