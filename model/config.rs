// SPDX-License-Identifier: GPL-2.0-only

//! How a model device is configured ([`SwConfig`]) and how it is told to misbehave
//! ([`Fault`]): the options of both hosts (the software adapter's module parameter and control
//! file, the vfio-user server's command line).

use crate::{
    error::{
        Error,
        Result, //
    },
    zero::zeroable,
};

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
    /// The bandwidth each vport is allowed, in Mbit/s (QUERY_LINK_CONFIG `qos_speed_mbps`, the
    /// most SET_BW_CLAMP may clamp to).
    pub qos_speed_mbps: u32,
}

zeroable!(SwConfig {
    num_ports,
    mac_base,
    max_queues,
    adapter_mtu,
    hwc_depth,
    latency_us,
    num_vectors,
    service_period_ms,
    pf,
    bm_hostmode,
    qos_speed_mbps
});

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
            qos_speed_mbps: 100_000,
        }
    }
}

impl SwConfig {
    /// Sets option `key` to `value`, the options as both hosts spell them (the software
    /// adapter's `sw_control` file, the vfio-user server's command line): `ports`, `mtu`,
    /// `queues`, `depth`, `latency_us`, `service_ms`, `speed_mbps` (decimal) and `mac`
    /// (`xx:xx:xx:xx:xx:xx`, unicast). [`Error::Invalid`] for an unknown option or a bad value.
    pub fn set_option(&mut self, key: &str, value: &str) -> Result {
        let number = || value.parse::<u32>().map_err(|_| Error::Invalid);
        match key {
            "ports" => self.num_ports = number()?,
            "mtu" => self.adapter_mtu = u16::try_from(number()?).map_err(|_| Error::Invalid)?,
            "queues" => self.max_queues = number()?,
            "depth" => self.hwc_depth = number()?,
            "latency_us" => self.latency_us = number()?,
            "service_ms" => self.service_period_ms = number()?,
            "speed_mbps" => self.qos_speed_mbps = number()?,
            "mac" => self.mac_base = parse_mac(value)?,
            _ => return Err(Error::Invalid),
        }
        Ok(())
    }

    /// Checks what power-on does not: 1..=64 queues per vport, an MTU of at least 82 (the
    /// smallest frame the driver needs) and a vport bandwidth of at least 1 Mbit/s.
    pub fn check(&self) -> Result {
        if self.max_queues == 0
            || self.max_queues > 64
            || self.adapter_mtu < 82
            || self.qos_speed_mbps == 0
        {
            return Err(Error::Invalid);
        }
        Ok(())
    }
}

/// A unicast MAC address written `xx:xx:xx:xx:xx:xx`.
fn parse_mac(value: &str) -> Result<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = value.split(':');
    for byte in mac.iter_mut() {
        let part = parts.next().ok_or(Error::Invalid)?;
        if part.len() != 2 {
            return Err(Error::Invalid);
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| Error::Invalid)?;
    }
    if parts.next().is_some() || mac[0] & 1 != 0 {
        // Too many bytes, or a multicast address.
        return Err(Error::Invalid);
    }
    Ok(mac)
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

impl Fault {
    /// The fault as a kind and an argument (a form the device's zero-valid tables can hold).
    pub fn encode(self) -> (u8, u32) {
        match self {
            Self::Status(s) => (1, s),
            Self::NoResponse => (2, 0),
            Self::Late(ms) => (3, ms),
            Self::ShortResponse => (4, 0),
            Self::WrongMsgId => (5, 0),
            Self::WrongActivityId => (6, 0),
            Self::WrongDevId => (7, 0),
            Self::BadWqeOffset => (8, 0),
            Self::BadCqeQueueId => (9, 0),
            Self::BadEqeCqId => (10, 0),
            Self::Reset => (11, 0),
        }
    }

    /// The fault [`Fault::encode`] made `(kind, arg)` of; `None` for any other kind.
    pub fn decode(kind: u8, arg: u32) -> Option<Self> {
        Some(match kind {
            1 => Self::Status(arg),
            2 => Self::NoResponse,
            3 => Self::Late(arg),
            4 => Self::ShortResponse,
            5 => Self::WrongMsgId,
            6 => Self::WrongActivityId,
            7 => Self::WrongDevId,
            8 => Self::BadWqeOffset,
            9 => Self::BadCqeQueueId,
            10 => Self::BadEqeCqId,
            11 => Self::Reset,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_as_both_hosts_spell_them() {
        let mut c = SwConfig::default();
        for (k, v) in [
            ("ports", "2"),
            ("mtu", "1514"),
            ("queues", "4"),
            ("depth", "8"),
            ("latency_us", "50"),
            ("service_ms", "20"),
            ("speed_mbps", "40000"),
            ("mac", "00:11:22:33:44:55"),
        ] {
            assert_eq!(c.set_option(k, v), Ok(()));
        }
        assert_eq!(
            (c.num_ports, c.adapter_mtu, c.max_queues, c.hwc_depth),
            (2, 1514, 4, 8)
        );
        assert_eq!(
            (c.latency_us, c.service_period_ms, c.qos_speed_mbps),
            (50, 20, 40_000)
        );
        assert_eq!(c.mac_base, [0x00, 0x11, 0x22, 0x33, 0x44, 0x55]);
        assert_eq!(c.check(), Ok(()));
        for (k, v) in [
            ("speed", "10"),
            ("ports", "x"),
            ("mtu", "70000"),
            ("mac", "01:00:00:00:00:00"),
            ("mac", "00:11:22"),
            ("mac", "00:11:22:33:44:55:66"),
            ("mac", "0:11:22:33:44:55"),
        ] {
            assert_eq!(c.set_option(k, v), Err(Error::Invalid), "{k}={v}");
        }
        c.max_queues = 0;
        assert_eq!(c.check(), Err(Error::Invalid));
        c.max_queues = 1;
        c.adapter_mtu = 81;
        assert_eq!(c.check(), Err(Error::Invalid));
        c.adapter_mtu = 1514;
        c.qos_speed_mbps = 0;
        assert_eq!(c.check(), Err(Error::Invalid));
    }

    #[test]
    fn faults_encode_and_decode() {
        for f in [
            Fault::Status(7),
            Fault::NoResponse,
            Fault::Late(30),
            Fault::ShortResponse,
            Fault::WrongMsgId,
            Fault::WrongActivityId,
            Fault::WrongDevId,
            Fault::BadWqeOffset,
            Fault::BadCqeQueueId,
            Fault::BadEqeCqId,
            Fault::Reset,
        ] {
            let (kind, arg) = f.encode();
            assert_eq!(Fault::decode(kind, arg), Some(f));
        }
        // The zeroed slot is no fault.
        assert_eq!(Fault::decode(0, 0), None);
    }
}
