// SPDX-License-Identifier: GPL-2.0-only

//! The software MANA device: adapters that exist without hardware, for tests and `make run`.
//!
//! Each software adapter is a faux device (`mana_sw<N>`) carrying the auxiliary devices of the
//! two clients, exactly as a PCI adapter does.

use kernel::{
    auxiliary,
    device::{
        self,
        Bound, //
    },
    faux,
    fmt,
    prelude::*,
    str::CString,
};

use crate::{
    client::{
        ClientData,
        ClientHandle,
        ClientKind,
        ETH_AUX_NAME,
        RDMA_AUX_NAME, //
    },
    Adapter,
    MAX_SW_ADAPTERS_AT_LOAD,
    MODULE_NAME,
};

/// Vports of a software adapter created at load time.
const DEFAULT_SW_VPORTS: u32 = 1;

/// One software adapter.
///
/// Drop order (field order): the clients' auxiliary devices are unregistered first, then the
/// faux device they hang from is destroyed.
pub(crate) struct SwAdapter {
    _eth: auxiliary::Registration<'static, ClientData>,
    _rdma: auxiliary::Registration<'static, ClientData>,
    _faux: faux::Registration,
}

/// Returns the device of `faux` with a lifetime chosen by the caller.
///
/// # Safety
///
/// The caller must stop using the returned reference (and drop every registration made with it
/// as parent) before `faux` is dropped.
unsafe fn faux_parent<'a>(faux: &faux::Registration) -> &'a device::Device<Bound> {
    let dev: &device::Device<Bound> = faux.as_ref().as_ref();
    // SAFETY: The faux device stays registered, and therefore bound, until `faux` is dropped;
    // the caller guarantees the reference does not outlive that.
    unsafe { &*core::ptr::from_ref(dev) }
}

impl SwAdapter {
    /// Creates a software adapter with `num_vports` vports and registers its client devices.
    pub(crate) fn new(num_vports: u32) -> Result<Self> {
        let adapter = Adapter::new(num_vports)?;
        let name = CString::try_from_fmt(fmt!("mana_sw{}", adapter.id()))?;
        let faux = faux::Registration::new(&name, None)?;
        // SAFETY: `faux` is moved into the returned `SwAdapter`, whose field order drops both
        // auxiliary registrations before it.
        let parent = unsafe { faux_parent(&faux) };
        let eth = auxiliary::Registration::new(
            parent,
            ETH_AUX_NAME,
            adapter.id(),
            MODULE_NAME,
            ClientHandle::new(adapter.clone(), ClientKind::Ethernet),
        )?;
        let rdma = auxiliary::Registration::new(
            parent,
            RDMA_AUX_NAME,
            adapter.id(),
            MODULE_NAME,
            ClientHandle::new(adapter.clone(), ClientKind::Rdma),
        )?;
        dev_info!(parent, "software MANA adapter with {} vport(s)\n", num_vports);
        Ok(Self {
            _eth: eth,
            _rdma: rdma,
            _faux: faux,
        })
    }
}

/// Creates the software adapters asked for by the `sw_adapters` module parameter.
pub(crate) fn create_at_load(count: u32) -> Result<KVec<SwAdapter>> {
    if count > MAX_SW_ADAPTERS_AT_LOAD {
        pr_err!(
            "mana_gdma: sw_adapters={} is too many; use at most {}\n",
            count,
            MAX_SW_ADAPTERS_AT_LOAD
        );
        return Err(EINVAL);
    }
    let mut adapters = KVec::with_capacity(count as usize, GFP_KERNEL)?;
    for _ in 0..count {
        adapters.push(SwAdapter::new(DEFAULT_SW_VPORTS)?, GFP_KERNEL)?;
    }
    Ok(adapters)
}
