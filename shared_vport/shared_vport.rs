// SPDX-License-Identifier: GPL-2.0-only

//! The vport arbiter: one owner per vport.
//!
//! A vport is programmed in hardware with one protection domain and doorbell, so the Ethernet
//! driver and RDMA raw-packet QPs cannot use it at the same time. Ownership is a value: taking
//! it returns a lease guard and dropping the guard gives the vport back.
//!
//! | state | enters when | leaves when |
//! |---|---|---|
//! | `Free` | adapter probe; last lease dropped | a lease is granted |
//! | `Ethernet` | the netdev opens | the netdev stops |
//! | `Rdma` | first RAW/RSS QP of a PD | last QP of that PD is destroyed |
//!
//! Refusals are `EBUSY` both ways and log one line naming the vport, the owner and the remedy.

use kernel::{
    new_mutex,
    prelude::*,
    str::CString,
    sync::{
        Arc,
        Mutex, //
    },
};

/// Who owns a vport.
#[derive(Debug)]
pub enum Owner {
    /// Nobody: either client may take it.
    Free,
    /// The Ethernet driver, for the interface `ifname`, while it is up.
    Ethernet {
        /// The interface name at the time the lease was taken.
        ifname: CString,
    },
    /// The RDMA driver, for protection domain `pd`, while it has `qps` RAW/RSS QPs.
    Rdma {
        /// The protection domain number.
        pd: u32,
        /// The number of QPs holding the lease (always at least one).
        qps: u32,
    },
}

/// One vport and its owner.
#[pin_data]
pub struct Vport {
    adapter_id: u32,
    index: u32,
    #[pin]
    owner: Mutex<Owner>,
}

impl Vport {
    /// The vport's index on its adapter.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Calls `f` with the current owner (under the vport lock).
    pub fn with_owner<R>(&self, f: impl FnOnce(&Owner) -> R) -> R {
        f(&self.owner.lock())
    }
}

/// The vports of one adapter.
pub struct VportTable {
    vports: KVec<Arc<Vport>>,
}

impl VportTable {
    /// Creates `count` free vports for adapter `adapter_id`.
    pub(crate) fn new(adapter_id: u32, count: u32) -> Result<Self> {
        let mut vports = KVec::with_capacity(count as usize, GFP_KERNEL)?;
        for index in 0..count {
            let vport = Arc::pin_init(
                pin_init!(Vport {
                    adapter_id,
                    index,
                    owner <- new_mutex!(Owner::Free),
                }),
                GFP_KERNEL,
            )?;
            vports.push(vport, GFP_KERNEL)?;
        }
        Ok(Self { vports })
    }

    /// Creates a table of `count` free vports that belongs to no adapter, for tests.
    pub fn new_for_test(count: u32) -> Result<Self> {
        Self::new(u32::MAX, count)
    }

    /// The number of vports.
    pub fn len(&self) -> u32 {
        // CAST: the table was built from a `u32` count.
        self.vports.len() as u32
    }

    /// Returns whether the table has no vports.
    pub fn is_empty(&self) -> bool {
        self.vports.is_empty()
    }

    /// Returns vport `index`, or `EINVAL` if there is no such vport.
    pub fn get(&self, index: u32) -> Result<&Arc<Vport>> {
        self.vports.get(index as usize).ok_or(EINVAL)
    }

    /// Takes vport `index` for the Ethernet interface `ifname`.
    ///
    /// Fails with `EBUSY` while a PD owns the vport.
    pub fn take_ethernet(&self, index: u32, ifname: &CStr) -> Result<EthernetLease> {
        let vport = self.get(index)?;
        let mut owner = vport.owner.lock();
        match &*owner {
            Owner::Free => {
                *owner = Owner::Ethernet {
                    ifname: CString::try_from(ifname)?,
                };
                drop(owner);
                Ok(EthernetLease {
                    vport: vport.clone(),
                })
            }
            Owner::Rdma { pd, qps } => {
                pr_warn!(
                    "mana{}: vport {} is held by RDMA (pd {}, {} QPs): destroy the raw QPs before ip link set {} up\n",
                    vport.adapter_id,
                    index,
                    pd,
                    qps,
                    ifname.to_str().unwrap_or("<interface>")
                );
                Err(EBUSY)
            }
            Owner::Ethernet { ifname: holder } => {
                pr_warn!(
                    "mana{}: vport {} is already held by netdev {}\n",
                    vport.adapter_id,
                    index,
                    holder.to_str().unwrap_or("<interface>")
                );
                Err(EBUSY)
            }
        }
    }

    /// Takes vport `index` for one RAW or RSS QP of protection domain `pd`.
    ///
    /// QPs of the PD that already owns the vport share its lease. Fails with `EBUSY` while the
    /// netdev or another PD owns the vport.
    pub fn take_rdma(&self, index: u32, pd: u32) -> Result<RdmaLease> {
        let vport = self.get(index)?;
        let mut owner = vport.owner.lock();
        match &mut *owner {
            Owner::Free => *owner = Owner::Rdma { pd, qps: 1 },
            Owner::Rdma { pd: holder, qps } if *holder == pd => {
                *qps = qps.checked_add(1).ok_or(EOVERFLOW)?;
            }
            Owner::Rdma { pd: holder, qps } => {
                pr_warn!(
                    "mana{}: vport {} is held by RDMA (pd {}, {} QPs): destroy those QPs before using pd {} on it\n",
                    vport.adapter_id,
                    index,
                    *holder,
                    *qps,
                    pd
                );
                return Err(EBUSY);
            }
            Owner::Ethernet { ifname } => {
                let ifname = ifname.to_str().unwrap_or("<interface>");
                pr_warn!(
                    "mana{}: vport {} is held by netdev {} (up): run 'ip link set {} down' before creating raw QPs\n",
                    vport.adapter_id,
                    index,
                    ifname,
                    ifname
                );
                return Err(EBUSY);
            }
        }
        drop(owner);
        Ok(RdmaLease {
            vport: vport.clone(),
            pd,
        })
    }
}

/// The Ethernet driver's ownership of a vport; dropping it frees the vport.
pub struct EthernetLease {
    vport: Arc<Vport>,
}

impl EthernetLease {
    /// The leased vport.
    pub fn vport(&self) -> &Vport {
        &self.vport
    }
}

impl Drop for EthernetLease {
    fn drop(&mut self) {
        *self.vport.owner.lock() = Owner::Free;
    }
}

/// One QP's share of a PD's ownership of a vport; the last one dropped frees the vport.
pub struct RdmaLease {
    vport: Arc<Vport>,
    pd: u32,
}

impl RdmaLease {
    /// The leased vport.
    pub fn vport(&self) -> &Vport {
        &self.vport
    }

    /// The protection domain holding the lease.
    pub fn pd(&self) -> u32 {
        self.pd
    }
}

impl Drop for RdmaLease {
    fn drop(&mut self) {
        let mut owner = self.vport.owner.lock();
        if let Owner::Rdma { qps, .. } = &mut *owner {
            if *qps > 1 {
                *qps -= 1;
                return;
            }
        }
        *owner = Owner::Free;
    }
}

#[kunit_tests(mana_rs_shared_vport)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_then_rdma_is_busy() -> Result {
        let table = VportTable::new(0, 2)?;
        let eth = table.take_ethernet(0, c"eth0")?;
        assert_eq!(table.take_rdma(0, 7).err(), Some(EBUSY));
        // The other vport is independent.
        let _rdma = table.take_rdma(1, 7)?;
        drop(eth);
        let _rdma0 = table.take_rdma(0, 8)?;
        Ok(())
    }

    #[test]
    fn rdma_lease_is_shared_by_the_pd_and_freed_by_the_last_qp() -> Result {
        let table = VportTable::new(0, 1)?;
        let qp1 = table.take_rdma(0, 3)?;
        let qp2 = table.take_rdma(0, 3)?;
        assert_eq!(table.take_rdma(0, 4).err(), Some(EBUSY));
        assert_eq!(table.take_ethernet(0, c"eth0").err(), Some(EBUSY));
        drop(qp1);
        table.get(0)?.with_owner(|o| assert!(matches!(*o, Owner::Rdma { pd: 3, qps: 1 })));
        assert_eq!(table.take_ethernet(0, c"eth0").err(), Some(EBUSY));
        drop(qp2);
        table.get(0)?.with_owner(|o| assert!(matches!(*o, Owner::Free)));
        let _eth = table.take_ethernet(0, c"eth0")?;
        Ok(())
    }

    #[test]
    fn out_of_range_vport_is_einval() -> Result {
        let table = VportTable::new(0, 1)?;
        assert_eq!(table.take_rdma(1, 3).err(), Some(EINVAL));
        assert_eq!(table.take_ethernet(5, c"eth0").err(), Some(EINVAL));
        Ok(())
    }
}
