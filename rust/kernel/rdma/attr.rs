// SPDX-License-Identifier: GPL-2.0

//! Device and port attributes reported by an RDMA driver.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h).

use crate::bindings;

/// The attributes of a device (`struct ib_device_attr`), filled in by
/// [`Driver::query_device`](super::Driver::query_device).
///
/// The core zeroes the structure before the call; the driver sets what it supports.
#[repr(transparent)]
pub struct DeviceAttr(bindings::ib_device_attr);

/// Generates setters for plain fields of a transparent attribute wrapper.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident => $field:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self, value: $ty) -> &mut Self {
                self.0.$field = value;
                self
            }
        )*
    };
}

impl DeviceAttr {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes, and not accessed by anything else, for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ib_device_attr) -> &'a mut Self {
        // SAFETY: `DeviceAttr` is a transparent wrapper, and the caller guarantees exclusive
        // validity for `'a`.
        unsafe { &mut *ptr.cast() }
    }

    setters! {
        /// Sets the firmware version (`fw_ver`).
        set_fw_ver => fw_ver: u64;
        /// Sets the PCI vendor id (`vendor_id`).
        set_vendor_id => vendor_id: u32;
        /// Sets the vendor's part id (`vendor_part_id`), e.g. the PCI device id.
        set_vendor_part_id => vendor_part_id: u32;
        /// Sets the hardware version (`hw_ver`).
        set_hw_ver => hw_ver: u32;
        /// Sets the largest memory region in bytes (`max_mr_size`).
        set_max_mr_size => max_mr_size: u64;
        /// Sets the bitmap of supported page sizes (`page_size_cap`).
        set_page_size_cap => page_size_cap: u64;
        /// Sets the most queue pairs (`max_qp`).
        set_max_qp => max_qp: u32;
        /// Sets the most work requests per queue (`max_qp_wr`).
        set_max_qp_wr => max_qp_wr: u32;
        /// Sets the `IB_DEVICE_*` capability flags (`device_cap_flags`).
        set_device_cap_flags => device_cap_flags: u64;
        /// Sets the most scatter/gather entries of a send work request (`max_send_sge`).
        set_max_send_sge => max_send_sge: u32;
        /// Sets the most scatter/gather entries of a receive work request (`max_recv_sge`).
        set_max_recv_sge => max_recv_sge: u32;
        /// Sets the most scatter/gather entries of an RDMA read (`max_sge_rd`).
        set_max_sge_rd => max_sge_rd: u32;
        /// Sets the most completion queues (`max_cq`).
        set_max_cq => max_cq: u32;
        /// Sets the most entries of a completion queue (`max_cqe`).
        set_max_cqe => max_cqe: u32;
        /// Sets the most memory regions (`max_mr`).
        set_max_mr => max_mr: u32;
        /// Sets the most protection domains (`max_pd`).
        set_max_pd => max_pd: u32;
        /// Sets the most address handles (`max_ah`).
        set_max_ah => max_ah: u32;
        /// Sets the size of the P_Key table (`max_pkeys`).
        set_max_pkeys => max_pkeys: u16;
        /// Sets the local CA ACK delay (`local_ca_ack_delay`).
        set_local_ca_ack_delay => local_ca_ack_delay: u8;
        /// Sets the `IB_RAW_PACKET_CAP_*` flags (`raw_packet_caps`); rdma-core's DPDK users
        /// skip devices without them.
        set_raw_packet_caps => raw_packet_caps: u32;
        /// Sets the most receive work queues (`max_wq_type_rq`).
        set_max_wq_type_rq => max_wq_type_rq: u32;
    }

    /// Sets the `IBK_*` capability flags for kernel consumers (`kernel_cap_flags`).
    ///
    /// Only the flags [`KernelCaps`] names can be set: `IBK_ALLOW_USER_UNREG` would let
    /// `rdma link del` unregister and free the device under the driver's
    /// [`Registration`](super::Registration), so these abstractions never report it.
    pub fn set_kernel_cap_flags(&mut self, caps: KernelCaps) -> &mut Self {
        self.0.kernel_cap_flags = caps.0;
        self
    }

    /// Returns the `IBK_*` capability flags for kernel consumers (`kernel_cap_flags`).
    pub fn kernel_cap_flags(&self) -> u64 {
        self.0.kernel_cap_flags
    }

    /// Clears the flags a driver of these abstractions must not report (see
    /// [`DeviceAttr::set_kernel_cap_flags`]), whatever wrote the structure.
    pub(crate) fn sanitize(&mut self) {
        self.0.kernel_cap_flags &= !u64::from(bindings::ib_kernel_cap_flags_IBK_ALLOW_USER_UNREG);
    }

    /// Sets the RSS capabilities: the most indirection tables and the largest table
    /// (`rss_caps`).
    pub fn set_rss_caps(&mut self, max_tables: u32, max_table_size: u32) -> &mut Self {
        self.0.rss_caps.max_rwq_indirection_tables = max_tables;
        self.0.rss_caps.max_rwq_indirection_table_size = max_table_size;
        self
    }

    /// Returns the vendor's part id.
    pub fn vendor_part_id(&self) -> u32 {
        self.0.vendor_part_id
    }

    /// Returns the `IB_RAW_PACKET_CAP_*` flags.
    pub fn raw_packet_caps(&self) -> u32 {
        self.0.raw_packet_caps
    }
}

/// A set of `IBK_*` capability flags for kernel consumers (`enum ib_kernel_cap_flags`), for
/// [`DeviceAttr::set_kernel_cap_flags`].
///
/// It cannot hold `IBK_ALLOW_USER_UNREG`: with it, `rdma link del` unregisters and frees the
/// device while the driver's [`Registration`](super::Registration) still owns it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelCaps(u64);

impl KernelCaps {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// `IBK_LOCAL_DMA_LKEY`: kernel PDs use the device's local DMA lkey (no DMA MR needed).
    pub const LOCAL_DMA_LKEY: Self = Self(bindings::ib_kernel_cap_flags_IBK_LOCAL_DMA_LKEY as u64);
    /// `IBK_INTEGRITY_HANDOVER`: signature (T10-PI) offload.
    pub const INTEGRITY_HANDOVER: Self =
        Self(bindings::ib_kernel_cap_flags_IBK_INTEGRITY_HANDOVER as u64);
    /// `IBK_ON_DEMAND_PAGING`: on-demand paging for kernel memory regions.
    pub const ON_DEMAND_PAGING: Self =
        Self(bindings::ib_kernel_cap_flags_IBK_ON_DEMAND_PAGING as u64);
    /// `IBK_SG_GAPS_REG`: memory registration with gaps in the scatter list.
    pub const SG_GAPS_REG: Self = Self(bindings::ib_kernel_cap_flags_IBK_SG_GAPS_REG as u64);
    /// `IBK_RDMA_NETDEV_OPA`: the OPA variant of the RDMA netdev.
    pub const RDMA_NETDEV_OPA: Self =
        Self(bindings::ib_kernel_cap_flags_IBK_RDMA_NETDEV_OPA as u64);
    /// `IBK_BLOCK_MULTICAST_LOOPBACK`.
    pub const BLOCK_MULTICAST_LOOPBACK: Self =
        Self(bindings::ib_kernel_cap_flags_IBK_BLOCK_MULTICAST_LOOPBACK as u64);
    /// `IBK_UD_TSO`: TSO on UD QPs.
    pub const UD_TSO: Self = Self(bindings::ib_kernel_cap_flags_IBK_UD_TSO as u64);
    /// `IBK_VIRTUAL_FUNCTION`: the device is a virtual function.
    pub const VIRTUAL_FUNCTION: Self =
        Self(bindings::ib_kernel_cap_flags_IBK_VIRTUAL_FUNCTION as u64);
    /// Returns the raw `IBK_*` bits.
    pub const fn bits(self) -> u64 {
        self.0
    }
}

impl core::ops::BitOr for KernelCaps {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The state of a port (`enum ib_port_state`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum PortState {
    /// `IB_PORT_DOWN`: no link.
    Down = bindings::ib_port_state_IB_PORT_DOWN,
    /// `IB_PORT_INIT`.
    Init = bindings::ib_port_state_IB_PORT_INIT,
    /// `IB_PORT_ARMED`.
    Armed = bindings::ib_port_state_IB_PORT_ARMED,
    /// `IB_PORT_ACTIVE`: the link is up.
    Active = bindings::ib_port_state_IB_PORT_ACTIVE,
}

/// The link layer of a port (`enum rdma_link_layer`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum LinkLayer {
    /// `IB_LINK_LAYER_UNSPECIFIED`.
    Unspecified = bindings::rdma_link_layer_IB_LINK_LAYER_UNSPECIFIED,
    /// `IB_LINK_LAYER_INFINIBAND`.
    Infiniband = bindings::rdma_link_layer_IB_LINK_LAYER_INFINIBAND,
    /// `IB_LINK_LAYER_ETHERNET`.
    Ethernet = bindings::rdma_link_layer_IB_LINK_LAYER_ETHERNET,
}

/// The attributes of a port (`struct ib_port_attr`), filled in by
/// [`Driver::query_port`](super::Driver::query_port).
///
/// The core zeroes the structure before the call (`ib_query_port`).
#[repr(transparent)]
pub struct PortAttr(bindings::ib_port_attr);

impl PortAttr {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes, and not accessed by anything else, for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ib_port_attr) -> &'a mut Self {
        // SAFETY: `PortAttr` is a transparent wrapper, and the caller guarantees exclusive
        // validity for `'a`.
        unsafe { &mut *ptr.cast() }
    }

    /// Sets the state of the port and the matching physical state (`LinkUp` when
    /// [`PortState::Active`], `Disabled` otherwise).
    pub fn set_state(&mut self, state: PortState) -> &mut Self {
        self.0.state = state as bindings::ib_port_state;
        self.0.phys_state = if state == PortState::Active {
            bindings::ib_port_phys_state_IB_PORT_PHYS_STATE_LINK_UP as u8
        } else {
            bindings::ib_port_phys_state_IB_PORT_PHYS_STATE_DISABLED as u8
        };
        self
    }

    /// Sets the largest and the active MTU from their sizes in bytes (256 to 4096, rounded
    /// down to a supported `enum ib_mtu`; a smaller size gives 256).
    pub fn set_mtu(&mut self, max: u32, active: u32) -> &mut Self {
        self.0.max_mtu = mtu_enum(max);
        self.0.active_mtu = mtu_enum(active);
        self
    }

    setters! {
        /// Sets the size of the GID table (`gid_tbl_len`).
        set_gid_tbl_len => gid_tbl_len: i32;
        /// Sets the size of the P_Key table (`pkey_tbl_len`).
        set_pkey_tbl_len => pkey_tbl_len: u16;
        /// Sets the `IB_PORT_*` capability flags (`port_cap_flags`).
        set_port_cap_flags => port_cap_flags: u32;
        /// Sets the largest message size (`max_msg_sz`).
        set_max_msg_sz => max_msg_sz: u32;
        /// Sets the active link width (`active_width`, `IB_WIDTH_*`).
        set_active_width => active_width: u8;
        /// Sets the active link speed (`active_speed`, `IB_SPEED_*`).
        set_active_speed => active_speed: u16;
    }

    /// Returns the state of the port.
    pub fn state(&self) -> u32 {
        self.0.state
    }

    /// Returns the active MTU (`enum ib_mtu`).
    pub fn active_mtu(&self) -> u32 {
        self.0.active_mtu
    }

    /// Returns the size of the P_Key table.
    pub fn pkey_tbl_len(&self) -> u16 {
        self.0.pkey_tbl_len
    }
}

/// Converts an MTU in bytes to the largest `enum ib_mtu` not above it.
fn mtu_enum(bytes: u32) -> bindings::ib_mtu {
    match bytes {
        4096.. => bindings::ib_mtu_IB_MTU_4096,
        2048.. => bindings::ib_mtu_IB_MTU_2048,
        1024.. => bindings::ib_mtu_IB_MTU_1024,
        512.. => bindings::ib_mtu_IB_MTU_512,
        _ => bindings::ib_mtu_IB_MTU_256,
    }
}

/// The attributes of a port that never change (`struct ib_port_immutable`), filled in by
/// [`Driver::get_port_immutable`](super::Driver::get_port_immutable) at registration.
#[repr(transparent)]
pub struct PortImmutable(bindings::ib_port_immutable);

impl PortImmutable {
    /// `RDMA_CORE_PORT_RAW_PACKET`: a port that only carries raw Ethernet packets.
    pub const CORE_PORT_RAW_PACKET: u32 = bindings::RDMA_CORE_PORT_RAW_PACKET;

    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes, and not accessed by anything else, for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::ib_port_immutable) -> &'a mut Self {
        // SAFETY: `PortImmutable` is a transparent wrapper, and the caller guarantees
        // exclusive validity for `'a`.
        unsafe { &mut *ptr.cast() }
    }

    setters! {
        /// Sets the size of the P_Key table (`pkey_tbl_len`).
        set_pkey_tbl_len => pkey_tbl_len: i32;
        /// Sets the size of the GID table (`gid_tbl_len`).
        set_gid_tbl_len => gid_tbl_len: i32;
        /// Sets the `RDMA_CORE_*` protocol flags (`core_cap_flags`).
        set_core_cap_flags => core_cap_flags: u32;
        /// Sets the largest MAD (`max_mad_size`), 0 without MAD support.
        set_max_mad_size => max_mad_size: u32;
    }
}

/// A global identifier (`union ib_gid`): 16 bytes, in network byte order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Gid(pub [u8; 16]);
