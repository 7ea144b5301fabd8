// SPDX-License-Identifier: GPL-2.0-only

//! What a model device counted ([`SwStats`], [`DpStats`], [`QueueStats`]) and how the driver
//! programmed its vports ([`VportProgramming`]): what tests assert on and what the vfio-user
//! server reports at exit (protocol errors, DMA faults, live objects, requests per type).

use crate::zero::zeroable;

/// The most requests of one kind counted separately ([`SwStats::requests`]).
const MAX_REQUEST_KINDS: usize = 32;

/// What the device saw, for tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct SwStats {
    /// (request code, count) for every kind of request received, in order of first sight.
    pub requests: [(u32, u32); MAX_REQUEST_KINDS],
    /// Requests received in total.
    pub total_requests: u32,
    /// Responses sent.
    pub responses: u32,
    /// Protocol violations by the driver (must stay 0 in every test that does not inject one).
    pub protocol_errors: u32,
    /// Device accesses to memory the driver had not mapped (or had already freed).
    pub dma_faults: u32,
    /// Hardware channels established minus destroyed.
    pub live_hwc: u32,
    /// Devices registered with REGISTER_DEVICE and not yet deregistered.
    pub live_registrations: u32,
    /// Faults injected so far.
    pub faults_injected: u32,
    /// DMA regions created and neither destroyed nor handed to a queue or MR (which then owns
    /// and destroys it).
    pub live_regions: u32,
    /// Event queues created and not disabled.
    pub live_eqs: u32,
    /// Work-queue objects created and not destroyed.
    pub live_wq_objs: u32,
    /// Protection domains created and not destroyed.
    pub live_pds: u32,
    /// Memory regions created and not destroyed.
    pub live_mrs: u32,
    /// Doorbell pages allocated (ALLOCATE_RESOURCE_RANGE) and not destroyed.
    pub live_doorbells: u32,
    /// Resets the device went through (RESET_REQUEST or FPGA_RECONFIG sent, then the driver
    /// destroyed the hardware channel).
    pub resets: u32,
    /// Hardware-channel requests the driver posted while the device was resetting (nobody
    /// answers them; a driver that honours the reset event posts none).
    pub requests_during_reset: u32,
    /// What the data path counted (filled in when the device reports its statistics).
    pub datapath: DpStats,
}

zeroable!(SwStats {
    requests,
    total_requests,
    responses,
    protocol_errors,
    dma_faults,
    live_hwc,
    live_registrations,
    faults_injected,
    live_regions,
    live_eqs,
    live_wq_objs,
    live_pds,
    live_mrs,
    live_doorbells,
    resets,
    requests_during_reset,
    datapath
});
zeroable!(QueueStats {
    packets,
    bytes,
    drops,
    faults
});
zeroable!(DpStats {
    tx_packets,
    tx_bytes,
    tso_packets,
    rx_packets,
    rx_bytes,
    rx_no_buffer,
    rx_no_steering,
    wqe_faults,
    dma_faults,
    unknown_doorbells,
    foreign_doorbells,
    key_faults,
    cqes,
    eqes
});

impl SwStats {
    /// How many requests with `code` the device received.
    pub fn count(&self, code: u32) -> u32 {
        self.requests
            .iter()
            .find(|(c, n)| *c == code && *n != 0)
            .map_or(0, |(_, n)| *n)
    }

    /// Counts a request with `code` (the device calls this for every request it takes).
    pub fn record(&mut self, code: u32) {
        self.total_requests = self.total_requests.wrapping_add(1);
        for slot in self.requests.iter_mut() {
            if slot.1 != 0 && slot.0 == code {
                slot.1 = slot.1.saturating_add(1);
                return;
            }
            if slot.1 == 0 {
                *slot = (code, 1);
                return;
            }
        }
    }
}

/// How the device has programmed one vport (CONFIG_VPORT_TX / CONFIG_VPORT_RX).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VportProgramming {
    /// The PD and doorbell page of the last CONFIG_VPORT_TX, if any.
    pub tx: Option<(u32, u32)>,
    /// Whether RX steering is enabled.
    pub rx_enabled: bool,
    /// The hash types (`mana_msgs::hash_type`) of the last CONFIG_VPORT_RX.
    pub rss_hash_types: u16,
    /// CONFIG_VPORT_TX requests for this vport.
    pub tx_configs: u32,
    /// The bandwidth clamp SET_BW_CLAMP set, in Mbit/s, if any.
    pub bw_clamp_mbps: Option<u32>,
}

/// What the device counted on one queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Packets sent (SQ) or received (RQ); a TSO packet counts once per segment.
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// RQ: frames dropped because no buffer was posted or the buffer was too small.
    pub drops: u64,
    /// Malformed WQEs and DMA faults.
    pub faults: u64,
}

/// What the device's data path counted, over all queues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DpStats {
    /// Frames sent (after segmentation).
    pub tx_packets: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Send WQEs that carried a TSO packet.
    pub tso_packets: u64,
    /// Frames written to receive buffers.
    pub rx_packets: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Frames dropped because the receive queue had no buffer posted (or it was too small).
    pub rx_no_buffer: u64,
    /// Frames dropped because the receiving port's steering was off.
    pub rx_no_steering: u64,
    /// Malformed WQEs (answered with an error CQE).
    pub wqe_faults: u64,
    /// Refused DMA accesses of the data path.
    pub dma_faults: u64,
    /// Doorbells for queues the device does not know.
    pub unknown_doorbells: u64,
    /// Doorbells refused because they were rung on a doorbell page other than the one of the
    /// queue's owner (the page CONFIG_VPORT_TX programmed for the queue's vport, an EQ's own).
    pub foreign_doorbells: u64,
    /// SGEs refused for their memory key: unknown, of another PD than the vport's owner, out
    /// of the memory region's bounds or without the access the transfer needs (each also
    /// counts as a malformed WQE).
    pub key_faults: u64,
    /// Completions written.
    pub cqes: u64,
    /// Completion events posted.
    pub eqes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_kind_in_order_of_first_sight() {
        let mut s = SwStats::default();
        for code in [7, 3, 7, 7, 0x2000_0001] {
            s.record(code);
        }
        assert_eq!(s.total_requests, 5);
        assert_eq!(
            (s.count(7), s.count(3), s.count(0x2000_0001), s.count(9)),
            (3, 1, 1, 0)
        );
        assert_eq!(&s.requests[..3], &[(7, 3), (3, 1), (0x2000_0001, 1)]);
        // More kinds than slots: the total still counts, nothing panics.
        for code in 100..200 {
            s.record(code);
        }
        assert_eq!(s.total_requests, 105);
        assert_eq!(s.count(100 + MAX_REQUEST_KINDS as u32), 0);
        // Counters at their limit do not overflow: a kind's count saturates (its slot stays
        // its), the total wraps.
        s.requests[0].1 = u32::MAX;
        s.total_requests = u32::MAX;
        s.record(7);
        assert_eq!((s.count(7), s.total_requests), (u32::MAX, 0));
    }
}
