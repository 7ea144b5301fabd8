// SPDX-License-Identifier: GPL-2.0-only

//! The shared-memory channel (SMC): the 256-bit mailbox in BAR0 that sets up and tears down the
//! hardware channel, and nothing else.

use kernel::{
    prelude::*,
    time::Delta, //
};

use crate::{
    transport::Transport,
    wire::smc::{
        self,
        EstablishHwc,
        SmcHdr, //
    }, //
};

/// How often the mailbox is polled for the device's answer (the C driver: 20000 x 1-2 ms).
const POLL_TRIES: u32 = 20_000;

/// Waits until the VF owns the mailbox (bit 31 of the last dword clear).
fn wait_for_vf_ownership(t: &dyn Transport, shm: usize, reset_vf: bool) -> Result<u32> {
    let last = shm.checked_add(smc::SMC_LAST_DWORD_OFFSET).ok_or(EINVAL)?;
    for _ in 0..POLL_TRIES {
        let raw = t.read32(last)?;
        if reset_vf && raw == smc::SHMEM_VF_RESET_STATE {
            return Ok(raw);
        }
        if !SmcHdr::pf_owns(raw) {
            return Ok(raw);
        }
        kernel::time::delay::fsleep(Delta::from_millis(1));
    }
    Err(ETIMEDOUT)
}

/// Sends one mailbox message and checks the answer.
fn exchange(t: &dyn Transport, shm: usize, dwords: &[u32; smc::SMC_APERTURE_DWORDS]) -> Result {
    wait_for_vf_ownership(t, shm, false)?;
    // The last dword hands the mailbox to the device, so it goes last.
    for (i, dword) in dwords.iter().enumerate() {
        t.write32(shm + i * 4, *dword)?;
    }
    let raw = wait_for_vf_ownership(t, shm, false)?;
    let sent = SmcHdr::from_raw(dwords[smc::SMC_LAST_DWORD]);
    Ok(SmcHdr::check_response(
        raw,
        sent.msg_type().get() as u8,
        sent.msg_version().get() as u8,
        false,
    )?)
}

/// Asks the device to establish the hardware channel on the given queues.
pub(crate) fn establish_hwc(t: &dyn Transport, shm: usize, req: &EstablishHwc) -> Result {
    exchange(t, shm, &req.encode()?)
}

/// Asks the device to destroy the hardware channel.
pub(crate) fn destroy_hwc(t: &dyn Transport, shm: usize) -> Result {
    let mut dwords = [0u32; smc::SMC_APERTURE_DWORDS];
    dwords[smc::SMC_LAST_DWORD] = smc::destroy_hwc_request(false)?;
    exchange(t, shm, &dwords)
}
