// SPDX-License-Identifier: GPL-2.0-only

//! The adapter: what the core knows about one MANA function and shares with its clients.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
};

use crate::shared_vport::VportTable;

/// Source of adapter numbers; each adapter gets the next one (used in device names).
static NEXT_ADAPTER_ID: Atomic<u32> = Atomic::new(0);

/// The most vports (Ethernet ports) one adapter may expose; the C driver's limit.
pub const MAX_PORTS: u32 = 16;

/// One MANA adapter, shared by the core and its clients.
pub struct Adapter {
    id: u32,
    vports: VportTable,
}

impl Adapter {
    /// Creates an adapter with `num_vports` free vports.
    pub(crate) fn new(num_vports: u32) -> Result<Arc<Self>> {
        if num_vports == 0 || num_vports > MAX_PORTS {
            pr_err!(
                "mana_gdma: {} vports requested, the supported range is 1..={}\n",
                num_vports,
                MAX_PORTS
            );
            return Err(EINVAL);
        }
        let id = NEXT_ADAPTER_ID.fetch_add(1, Relaxed);
        Ok(Arc::new(
            Self {
                id,
                vports: VportTable::new(id, num_vports)?,
            },
            GFP_KERNEL,
        )?)
    }

    /// The adapter's number, unique while the module is loaded.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The vport arbiter of this adapter.
    pub fn vports(&self) -> &VportTable {
        &self.vports
    }
}
