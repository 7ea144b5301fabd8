// SPDX-License-Identifier: GPL-2.0-only

//! The vport arbiter's hardware side: CONFIG_VPORT_TX and CONFIG_VPORT_RX over the hardware
//! channel.

use kernel::{
    prelude::*,
    sync::Arc, //
};

use crate::{
    adapter::request,
    hwc::Hwc,
    shared_vport::{
        TxGrant,
        VportHw, //
    },
    wire::{
        hdr::DevId,
        mana_msgs::{
            CfgRxSteerReq,
            ConfigVportReq,
            Handle, //
        }, //
    }, //
};

/// Programs an adapter's vports through its hardware channel.
pub(crate) struct HwcVportHw {
    hwc: Arc<Hwc>,
    mana_dev: DevId,
    handles: KVec<Handle>,
}

impl HwcVportHw {
    /// Programs the vports `handles` (by index) of device `mana_dev` through `hwc`.
    pub(crate) fn new(hwc: Arc<Hwc>, mana_dev: DevId, handles: KVec<Handle>) -> Self {
        Self {
            hwc,
            mana_dev,
            handles,
        }
    }

    fn handle(&self, vport: u32) -> Result<Handle> {
        self.handles.get(vport as usize).copied().ok_or(EINVAL)
    }
}

impl VportHw for HwcVportHw {
    fn config_vport_tx(&self, vport: u32, pd: u32, doorbell: u32) -> Result<TxGrant> {
        let mut req = ConfigVportReq::new(self.handle(vport)?, pd, doorbell);
        req.hdr.dev_id = self.mana_dev;
        let resp = request(&self.hwc, &mut req)
            .inspect_err(|e| pr_err!("vport {}: CONFIG_VPORT_TX failed: {:?}\n", vport, e))?;
        Ok(TxGrant {
            vport_offset: resp.tx_vport_offset,
            short_form_allowed: resp.short_form_allowed != 0,
        })
    }

    fn disable_rx_steering(&self, vport: u32) -> Result {
        let mut req = CfgRxSteerReq::new(self.handle(vport)?, 0, 0, false)?;
        req.hdr.dev_id = self.mana_dev;
        match request(&self.hwc, &mut req) {
            Ok(_) => Ok(()),
            // The device reset: its steering went with it.
            Err(ESHUTDOWN) => Ok(()),
            Err(e) => {
                pr_err!("vport {}: disabling RX steering failed: {:?}\n", vport, e);
                Err(e)
            }
        }
    }
}
