// SPDX-License-Identifier: GPL-2.0-only

//! One network interface per vport.
//!
//! Opening the interface takes the vport's Ethernet lease from the core's arbiter (which
//! programs CONFIG_VPORT_TX with the Ethernet PD and doorbell); stopping it releases the lease
//! (RX steering disabled first). While an RDMA PD holds the vport, `ip link set up` fails with
//! EBUSY and the arbiter logs who holds it and what to do. Reconfiguring an up interface keeps
//! the lease throughout.
//!
//! The data path (queues, TX and RX through the device) is not written yet: transmitted packets
//! are dropped and counted in `tx_dropped`.

use kernel::{
    netdev::{
        self,
        Device,
        Registration,
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
    shared_vport::{
        EthernetLease,
        VportTx, //
    },
    Adapter,
};

/// The Ethernet header the adapter MTU includes.
const ETH_HEADER: u32 = 14;
/// The most queues an interface gets (the C driver's default).
const MAX_QUEUES: u32 = 16;

/// The private data of one interface.
#[pin_data]
pub(crate) struct PortData {
    adapter: Arc<Adapter>,
    index: u32,
    /// The vport lease, held while the interface is up.
    #[pin]
    lease: Mutex<Option<EthernetLease>>,
    tx_dropped: Atomic<u64>,
}

impl PortData {
    /// Whether the interface holds its vport's lease.
    pub(crate) fn holds_lease(&self) -> bool {
        self.lease.lock().is_some()
    }
}

/// The netdev operations of a MANA port.
pub(crate) struct Port;

#[vtable]
impl netdev::Driver for Port {
    type Data = PortData;

    fn open(dev: &Device<Self>) -> Result {
        let data = dev.data();
        let caps = data.adapter.caps();
        let tx = VportTx {
            pd: caps.pdid,
            doorbell: caps.doorbell,
        };
        // The arbiter logs a refusal (owner and remedy) itself.
        let lease = data.adapter.vports().take_ethernet(data.index, dev.name(), tx)?;
        *data.lease.lock() = Some(lease);
        dev.carrier_on();
        dev.tx_start_all_queues();
        Ok(())
    }

    fn stop(dev: &Device<Self>) -> Result {
        let data = dev.data();
        dev.carrier_off();
        let lease = data.lease.lock().take();
        match lease {
            Some(lease) => lease.release(),
            None => Ok(()),
        }
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

    fn change_mtu(dev: &Device<Self>, new_mtu: u32) -> Result {
        let data = dev.data();
        let mut lease = data.lease.lock();
        match &mut *lease {
            // Up: the reconfiguration runs under the held lease, so the vport is never free
            // in between and RDMA cannot take it.
            Some(lease) => lease.reconfigure(|_| dev.set_mtu(new_mtu)),
            None => dev.set_mtu(new_mtu),
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
                    lease <- new_mutex!(None),
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
