// SPDX-License-Identifier: GPL-2.0-only

//! The API the clients (mana_eth, mana_rdma) use to reach the core.
//!
//! The core registers one auxiliary device per client and adapter: `mana_gdma.eth.<id>` and
//! `mana_gdma.rdma.<id>`. Their registration data is a [`ClientHandle`]; a client's probe calls
//! [`ClientHandle::from_aux`] to get it and keeps an [`Arc`] to the adapter for as long as it is
//! bound.

use kernel::{
    auxiliary,
    device::Bound,
    prelude::*,
    sync::Arc,
    types::CovariantForLt, //
};

use crate::Adapter;

/// Auxiliary device name of the Ethernet client.
pub const ETH_AUX_NAME: &CStr = c"eth";
/// Auxiliary device name of the RDMA client.
pub const RDMA_AUX_NAME: &CStr = c"rdma";

/// Which client an auxiliary device is meant for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// The Ethernet driver (mana_eth).
    Ethernet,
    /// The RDMA driver (mana_rdma).
    Rdma,
}

/// What the core hands to a client through its auxiliary device.
pub struct ClientHandle {
    adapter: Arc<Adapter>,
    kind: ClientKind,
}

/// The [`CovariantForLt`](trait@CovariantForLt) encoding of [`ClientHandle`] used for the auxiliary registration data.
pub(crate) type ClientData = CovariantForLt!(ClientHandle);

impl ClientHandle {
    pub(crate) fn new(adapter: Arc<Adapter>, kind: ClientKind) -> Self {
        Self { adapter, kind }
    }

    /// Returns the handle the core stored in the client's auxiliary device.
    ///
    /// Fails with `EINVAL` if the device was not created by this core.
    pub fn from_aux(adev: &auxiliary::Device<Bound>) -> Result<&Self> {
        let data = adev.registration_data::<ClientData>()?;
        Ok(data.get_ref())
    }

    /// The adapter this handle belongs to.
    pub fn adapter(&self) -> &Arc<Adapter> {
        &self.adapter
    }

    /// The client the handle was made for.
    pub fn kind(&self) -> ClientKind {
        self.kind
    }
}
