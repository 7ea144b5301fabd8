// SPDX-License-Identifier: GPL-2.0-only

//! One network interface per vport.
//!
//! Opening the interface takes the vport's Ethernet lease from the core's arbiter (which
//! programs CONFIG_VPORT_TX with the Ethernet PD and doorbell); stopping it releases the lease
//! (RX steering disabled first). While an RDMA PD holds the vport, `ip link set up` fails with
//! EBUSY and the arbiter logs who holds it and what to do. Reconfiguring an up interface keeps
//! the lease throughout.
//!
//! Opening follows the C driver's order: CONFIG_VPORT_TX (through the lease), then per queue an
//! event queue and a send and a receive WQ object with their completion queues, then
//! CONFIG_VPORT_RX steering to the receive queues. Stopping disables steering first, then
//! destroys the queues, then gives the vport back.
//!
//! The data path (posting packets to the queues, completions, NAPI) is not written yet:
//! transmitted packets are dropped and counted in `tx_dropped`.

use kernel::{
    netdev::{
        self,
        Device,
        Registration,
        Rtnl,
        Stats64,
        TxResult,
        UnregisteredDevice,
        ETH_MIN_MTU, //
    },
    netdev::skb::Skb,
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
};

use mana_gdma::{
    objects::{
        EventQueue,
        WqKind,
        WqObject, //
    },
    shared_vport::{
        EthernetLease,
        VportTx, //
    },
    wire::mana_msgs::{
        Handle,
        HASH_KEY_SIZE, //
    },
    Adapter,
};

/// The Ethernet header the adapter MTU includes.
const ETH_HEADER: u32 = 14;
/// The most queues an interface gets (the C driver's default).
const MAX_QUEUES: u32 = 16;

/// Sizes of each queue's rings, in bytes.
const EQ_BYTES: u32 = 4096;
const WQ_BYTES: u32 = 8192;
const CQ_BYTES: u32 = 4096;

/// The default Toeplitz key (the RSS verification key of Microsoft's specification), used until
/// ethtool sets one.
const DEFAULT_RSS_KEY: [u8; HASH_KEY_SIZE] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f,
    0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
    0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// The device queues of an up interface.
///
/// Drop order (field order): the WQ objects, then the event queues they report to.
struct Queues {
    send: KVec<WqObject>,
    receive: KVec<WqObject>,
    _eqs: KVec<Arc<EventQueue>>,
}

impl Queues {
    fn new(adapter: &Adapter, index: u32, count: u32) -> Result<Self> {
        let ctx = adapter.objects();
        let caps = adapter.caps();
        let vport = adapter.ports().get(index as usize).ok_or(EINVAL)?.handle;
        let mut queues = Self {
            send: KVec::with_capacity(count as usize, GFP_KERNEL)?,
            receive: KVec::with_capacity(count as usize, GFP_KERNEL)?,
            _eqs: KVec::with_capacity(count as usize, GFP_KERNEL)?,
        };
        for q in 0..count {
            // Vector 0 is the hardware channel's.
            let eq = EventQueue::new(&ctx, EQ_BYTES, q + 1, caps.pdid, caps.doorbell)?;
            let sq = WqObject::new(&ctx, vport, WqKind::Send, WQ_BYTES, CQ_BYTES, &eq)?;
            let rq = WqObject::new(&ctx, vport, WqKind::Receive, WQ_BYTES, CQ_BYTES, &eq)?;
            queues.send.push(sq, GFP_KERNEL)?;
            queues.receive.push(rq, GFP_KERNEL)?;
            queues._eqs.push(eq, GFP_KERNEL)?;
        }
        Ok(queues)
    }

    /// The RSS indirection table: `entries` receive queue handles, round robin.
    fn indirection(&self, entries: u32) -> Result<KVec<Handle>> {
        let mut table = KVec::with_capacity(entries as usize, GFP_KERNEL)?;
        for i in 0..entries as usize {
            let rq = self.receive.get(i % self.receive.len().max(1)).ok_or(EINVAL)?;
            table.push(rq.handle(), GFP_KERNEL)?;
        }
        Ok(table)
    }
}

/// What an up interface holds. Taken apart in order by [`Port::stop`].
struct Active {
    lease: EthernetLease,
    queues: Queues,
}

/// The private data of one interface.
#[pin_data]
pub(crate) struct PortData {
    adapter: Arc<Adapter>,
    index: u32,
    /// The vport lease and the queues, while the interface is up.
    #[pin]
    active: Mutex<Option<Active>>,
    tx_dropped: Atomic<u64>,
}

impl PortData {
    /// Whether the interface holds its vport's lease.
    pub(crate) fn holds_lease(&self) -> bool {
        self.active.lock().is_some()
    }

    /// The number of send queues the interface has on the device (0 while down).
    pub(crate) fn device_queues(&self) -> usize {
        self.active.lock().as_ref().map_or(0, |a| a.queues.send.len())
    }
}

/// The netdev operations of a MANA port.
pub(crate) struct Port;

#[vtable]
impl netdev::Driver for Port {
    type Data = PortData;

    fn open(dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        let data = dev.data();
        let caps = data.adapter.caps();
        let tx = VportTx {
            pd: caps.pdid,
            doorbell: caps.doorbell,
        };
        // The arbiter logs a refusal (owner and remedy) itself. From here on, every error path
        // drops what it built, and dropping the lease frees the vport.
        let lease = data.adapter.vports().take_ethernet(data.index, dev.name(), tx)?;
        let queues = Queues::new(&data.adapter, data.index, dev.real_num_tx_queues())
            .inspect_err(|e| pr_err!("{}: cannot create the device queues: {:?}\n", dev.name(), e))?;
        let entries = data
            .adapter
            .ports()
            .get(data.index as usize)
            .map_or(0, |p| p.indirection_entries)
            .clamp(1, 512);
        data.adapter
            .enable_rx_steering(data.index, &queues.indirection(entries)?, &DEFAULT_RSS_KEY)?;
        *data.active.lock() = Some(Active { lease, queues });
        dev.carrier_on();
        dev.tx_start_all_queues();
        Ok(())
    }

    fn stop(dev: &Device<Self>, _rtnl: &Rtnl) -> Result {
        let data = dev.data();
        dev.carrier_off();
        let Some(Active { mut lease, queues }) = data.active.lock().take() else {
            return Ok(());
        };
        // Steering off before the receive queues go (no stale steering), queues destroyed
        // while the vport is still ours, then the vport is given back.
        let quiesced = lease.reconfigure(|r| r.quiesce_rx());
        drop(queues);
        quiesced.and(lease.release())
    }

    fn start_xmit(dev: &Device<Self>, skb: Skb) -> TxResult {
        // No data path yet: the packet is dropped and counted.
        dev.data().tx_dropped.fetch_add(1, Relaxed);
        drop(skb);
        TxResult::Consumed
    }

    fn get_stats64(dev: &Device<Self>, stats: &mut Stats64) {
        stats.tx_dropped = dev.data().tx_dropped.load(Relaxed);
    }

    fn change_mtu(dev: &Device<Self>, new_mtu: u32, rtnl: &Rtnl) -> Result {
        let data = dev.data();
        let mut active = data.active.lock();
        match &mut *active {
            // Up: the reconfiguration runs under the held lease, so the vport is never free
            // in between and RDMA cannot take it.
            Some(active) => active.lease.reconfigure(|_| dev.set_mtu(new_mtu, rtnl)),
            None => dev.set_mtu(new_mtu, rtnl),
        }
    }
}

/// The interfaces of one adapter.
pub(crate) struct Ports {
    ports: KVec<Registration<Port>>,
}

impl Ports {
    /// Creates and registers one interface per vport of `adapter`.
    pub(crate) fn new(adapter: &Arc<Adapter>) -> Result<Self> {
        let max_mtu = u32::from(adapter.caps().adapter_mtu)
            .checked_sub(ETH_HEADER)
            .filter(|m| *m >= ETH_MIN_MTU)
            .ok_or_else(|| {
                pr_err!("adapter {}: adapter MTU {} is too small\n", adapter.id(), adapter.caps().adapter_mtu);
                EINVAL
            })?;
        let mut ports = KVec::with_capacity(adapter.ports().len(), GFP_KERNEL)?;
        for (index, info) in adapter.ports().iter().enumerate() {
            let queues = info.max_sq.min(info.max_rq).clamp(1, MAX_QUEUES);
            let mut dev = UnregisteredDevice::<Port>::new(
                queues,
                queues,
                pin_init!(PortData {
                    adapter: adapter.clone(),
                    index: index as u32,
                    active <- new_mutex!(None),
                    tx_dropped: Atomic::new(0),
                }),
            )?;
            dev.set_mac_address(&info.mac);
            dev.set_mtu_bounds(ETH_MIN_MTU, max_mtu)?;
            ports.push(Registration::new(dev)?, GFP_KERNEL)?;
        }
        Ok(Self { ports })
    }

    /// The interfaces, by vport index.
    pub(crate) fn get(&self, index: usize) -> Option<&Registration<Port>> {
        self.ports.get(index)
    }
}
