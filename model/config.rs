// SPDX-License-Identifier: GPL-2.0-only

//! How a model device is configured ([`SwConfig`]) and how it is told to misbehave
//! ([`Fault`]): the options of both hosts (the software adapter's module parameter and control
//! file, the vfio-user server's command line).

/// Configuration of one software adapter.
#[derive(Clone, Copy, Debug)]
pub struct SwConfig {
    /// Number of Ethernet ports (vports), 1..=16.
    pub num_ports: u32,
    /// The MAC address of port 0; port `n` adds `n` to the last byte.
    pub mac_base: [u8; 6],
    /// Queues per vport offered to the Ethernet driver.
    pub max_queues: u32,
    /// The adapter MTU (QUERY_DEV_CONFIG `adapter_mtu`), including the Ethernet header.
    pub adapter_mtu: u16,
    /// Depth of the hardware channel reported in INIT_DATA, 1..=32 (the most a 4 KiB hardware-channel queue holds).
    pub hwc_depth: u32,
    /// Time the device takes per hardware-channel request, in microseconds.
    pub latency_us: u32,
    /// MSI-X vectors offered.
    pub num_vectors: u32,
    /// How long the driver leaves the device alone in a reset cycle, in milliseconds (the
    /// driver's setting, 10 s on PCI; shorter here so tests and `make run` need not wait).
    pub service_period_ms: u32,
    /// The function is a PF: its init data names the destination RQ/CQ of hardware-channel
    /// requests, and every request must be addressed to them.
    pub pf: bool,
    /// QUERY_DEV_CONFIG reports bare-metal host mode (meaningful for a PF).
    pub bm_hostmode: bool,
}

impl Default for SwConfig {
    fn default() -> Self {
        Self {
            num_ports: 1,
            mac_base: [0x00, 0x15, 0x5d, 0x4d, 0x41, 0x00],
            max_queues: 16,
            adapter_mtu: 9014,
            hwc_depth: 16,
            latency_us: 0,
            num_vectors: 17,
            service_period_ms: 1000,
            pf: false,
            bm_hostmode: false,
        }
    }
}

/// How a request of one kind is answered wrong (fault injection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status instead of success.
    Status(u32),
    /// Consume the request and never answer.
    NoResponse,
    /// Answer after this many milliseconds instead of at once.
    Late(u32),
    /// Answer with a message shorter than the response type.
    ShortResponse,
    /// Answer with another `hwc_msg_id` than the request's.
    WrongMsgId,
    /// Answer with another activity id than the request's.
    WrongActivityId,
    /// Answer with another device id than the request's.
    WrongDevId,
    /// Report the response in a CQE whose RQ WQE offset is out of range.
    BadWqeOffset,
    /// Report the response in a CQE naming a queue that does not exist.
    BadCqeQueueId,
    /// Signal the completion with an EQE naming a CQ that does not exist.
    BadEqeCqId,
    /// Do not answer: go into service instead (RESET_REQUEST, then the device resets), as a
    /// device the host services in the middle of a request does.
    Reset,
}
