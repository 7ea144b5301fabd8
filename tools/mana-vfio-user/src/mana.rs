// SPDX-License-Identifier: GPL-2.0-only

//! The MANA device model (`mana_model::device::SwDevice`, the one the in-kernel software adapter
//! runs) hosted behind the function: [`ManaModel`].
//!
//! The function keeps the mailbox's storage and owner bit and the register file, so register
//! reads never wait for the model. Each event runs on the model's thread:
//! - a mailbox handover replays the eight dwords into the model's SMC aperture (the last one
//!   runs the request) and hands the model's answer back to the function;
//! - a doorbell goes to the model at its BAR0 offset; the hardware-channel requests it made
//!   visible are then answered (after the model's latency, on this thread), and the data path
//!   has processed what it posted;
//! - a function reset replaces the model by a device in its power-on state, as an FLR does to
//!   the hardware;
//! - a frame from a linked function is received on its port;
//! - a service command of the control socket ([`crate::control`]) has the device ask the driver
//!   for a reset, an FPGA reconfiguration or an RDMA suspend/resume, as the software adapter's
//!   `sw_control` does.
//!
//! Two functions can be linked ([`ManaModel::linked`]): every port of each leaves its device,
//! and a frame sent on port `n` of one is received on port `n` of the other, through the
//! other's model thread ([`Link`]), as if a cable joined them.
//!
//! After each event the vectors the model raised are signalled. The model reaches guest memory
//! only through [`DeviceHost`] (the DMA mappings; a miss is a DMA fault, counted by the
//! function) and logs to standard error.

use std::fmt;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mana_model::{
    config::SwConfig,
    device::SwDevice,
    error::{
        Error as ModelError,
        Result as ModelResult, //
    },
    host::{
        DeviceMemory,
        Log,
        NoWire,
        Observer,
        Wire, //
    },
    layout,
    stats::SwStats,
};
use mana_wire::{
    gdma_msgs,
    hwc::ServiceRequest,
    mana_msgs, //
};

use crate::bar0::Mailbox;
use crate::control::{self, ServiceOutcome};
use crate::device::{DeviceEvent, DeviceHost, DeviceModel, ModelReport};
use crate::record::Recorder;

/// The model's log: standard error, one line each.
struct StderrLog;

impl Log for StderrLog {
    fn error(&self, line: fmt::Arguments<'_>) {
        eprintln!("mana-vfio-user: device: {line}");
    }
}

static LOG: StderrLog = StderrLog;

/// Guest memory as the model reaches it: through the function's DMA mappings.
struct GuestMemory<'a>(&'a dyn DeviceHost);

impl DeviceMemory for GuestMemory<'_> {
    fn is_mapped(&self, addr: u64, len: usize) -> bool {
        self.0.is_mapped(addr, len)
    }

    fn dma_read(&self, addr: u64, out: &mut [u8]) -> ModelResult {
        self.0.dma_read(addr, out).map_err(|_| ModelError::Fault)
    }

    fn dma_write(&self, addr: u64, data: &[u8]) -> ModelResult {
        self.0.dma_write(addr, data).map_err(|_| ModelError::Fault)
    }
}

/// Where a linked function's model takes the frames of this one: its event queue once both
/// functions exist ([`Link::connect`]), none again once they stop ([`Link::cut`], which must
/// come before the models are stopped: each holds the other's queue open).
#[derive(Clone, Default)]
pub struct Link(Arc<Mutex<Option<Sender<DeviceEvent>>>>);

impl Link {
    /// Frames go to the model that `peer` feeds from now on.
    pub fn connect(&self, peer: Sender<DeviceEvent>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(peer);
    }

    /// Frames are lost from now on, and the peer's queue is no longer held open.
    pub fn cut(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// The [`Wire`] to a linked function: each frame becomes an event of its model. A frame for
/// a function that is gone (or not yet linked) is lost, as on an unplugged cable.
struct PeerWire<'a>(&'a Link);

impl Wire for PeerWire<'_> {
    fn transmit(&mut self, port: u32, frame: &[u8], vlan: Option<u16>) {
        let peer = self.0 .0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(peer) = peer.as_ref() {
            let _ = peer.send(DeviceEvent::Frame {
                port,
                frame: frame.to_vec(),
                vlan,
            });
        }
    }
}

/// A device in its power-on state; with `linked`, every port leaves the device.
fn power_on(config: SwConfig, linked: bool) -> Result<Box<SwDevice>, ModelError> {
    let mut dev = SwDevice::boxed(config, &LOG)?;
    if linked {
        for port in 0..config.num_ports {
            dev.set_external(port, true)?;
        }
    }
    Ok(dev)
}

/// What the devices a reset replaced counted, added up.
#[derive(Default)]
struct Totals {
    protocol_errors: u64,
    tx_packets: u64,
    rx_packets: u64,
    requests: Vec<(u32, u64)>,
    /// Objects a function reset found alive (the driver reset the function under them).
    live_at_reset: u64,
}

impl Totals {
    fn add(&mut self, stats: &SwStats) {
        self.protocol_errors += u64::from(stats.protocol_errors);
        self.tx_packets += stats.datapath.tx_packets;
        self.rx_packets += stats.datapath.rx_packets;
        for &(code, n) in stats.requests.iter().filter(|(_, n)| *n != 0) {
            match self.requests.iter_mut().find(|(c, _)| *c == code) {
                Some(slot) => slot.1 += u64::from(n),
                None => self.requests.push((code, u64::from(n))),
            }
        }
    }
}

/// The objects a device holds for a driver (none once the driver is gone).
fn live_objects(stats: &SwStats) -> u64 {
    [
        stats.live_hwc,
        stats.live_registrations,
        stats.live_regions,
        stats.live_eqs,
        stats.live_wq_objs,
        stats.live_pds,
        stats.live_mrs,
        stats.live_doorbells,
    ]
    .iter()
    .map(|&n| u64::from(n))
    .sum()
}

/// The name of hardware-channel request `code` in the exit report.
pub(crate) fn request_name(code: u32) -> String {
    use gdma_msgs::code as g;
    use mana_msgs::code as m;
    let name = match code {
        g::VERIFY_VF_DRIVER_VERSION => "verify_vf_driver_version",
        g::QUERY_MAX_RESOURCES => "query_max_resources",
        g::LIST_DEVICES => "list_devices",
        g::REGISTER_DEVICE => "register_device",
        g::DEREGISTER_DEVICE => "deregister_device",
        g::GENERATE_TEST_EQE => "generate_test_eqe",
        g::CREATE_QUEUE => "create_queue",
        g::DISABLE_QUEUE => "disable_queue",
        g::ALLOCATE_RESOURCE_RANGE => "allocate_resource_range",
        g::DESTROY_RESOURCE_RANGE => "destroy_resource_range",
        g::CREATE_DMA_REGION => "create_dma_region",
        g::DMA_REGION_ADD_PAGES => "dma_region_add_pages",
        g::DESTROY_DMA_REGION => "destroy_dma_region",
        g::CREATE_PD => "create_pd",
        g::DESTROY_PD => "destroy_pd",
        g::CREATE_MR => "create_mr",
        g::DESTROY_MR => "destroy_mr",
        g::QUERY_HWC_TIMEOUT => "query_hwc_timeout",
        g::ALLOC_DM => "alloc_dm",
        g::DESTROY_DM => "destroy_dm",
        m::QUERY_DEV_CONFIG => "query_dev_config",
        m::QUERY_GF_STAT => "query_gf_stat",
        m::CONFIG_VPORT_TX => "config_vport_tx",
        m::CREATE_WQ_OBJ => "create_wq_obj",
        m::DESTROY_WQ_OBJ => "destroy_wq_obj",
        m::FENCE_RQ => "fence_rq",
        m::CONFIG_VPORT_RX => "config_vport_rx",
        m::QUERY_VPORT_CONFIG => "query_vport_config",
        m::QUERY_LINK_CONFIG => "query_link_config",
        m::SET_BW_CLAMP => "set_bw_clamp",
        m::QUERY_PHY_STAT => "query_phy_stat",
        m::REGISTER_FILTER => "register_filter",
        m::DEREGISTER_FILTER => "deregister_filter",
        m::REGISTER_HW_PORT => "register_hw_port",
        m::DEREGISTER_HW_PORT => "deregister_hw_port",
        other => return format!("0x{other:x}"),
    };
    name.to_string()
}

/// The MANA device model as the function's [`DeviceModel`].
pub struct ManaModel {
    config: SwConfig,
    dev: Box<SwDevice>,
    /// What the devices before the last function reset counted.
    past: Totals,
    /// The model's clock starts here.
    epoch: Instant,
    /// Vectors the model raised that the function does not have.
    bad_vectors: u64,
    /// Service events the device sent the driver, in [`control::SERVICE_WORDS`] order.
    services: [u64; 4],
    /// The linked function, if any.
    link: Option<Link>,
    /// Frames from the linked function the device refused (a port it does not have).
    refused_frames: u64,
    /// Where the hardware-channel and mailbox traffic is recorded (`--record`).
    recorder: Option<Arc<Recorder>>,
}

/// Shows the recorder each hardware-channel request and its response.
struct Recording<'a>(&'a Recorder);

impl Observer for Recording<'_> {
    fn request(&mut self, request: &[u8], response: &[u8]) {
        self.0.hwc(request, response);
    }
}

impl ManaModel {
    /// A model of a device with `config`, in its power-on state.
    pub fn new(config: SwConfig) -> Result<Self, ModelError> {
        Self::with_link(config, None)
    }

    /// A model whose ports are all linked to the same ports of another function, which takes
    /// the frames through `link` (connected once that function's model thread runs).
    pub fn linked(config: SwConfig, link: Link) -> Result<Self, ModelError> {
        Self::with_link(config, Some(link))
    }

    fn with_link(config: SwConfig, link: Option<Link>) -> Result<Self, ModelError> {
        Ok(Self {
            config,
            dev: power_on(config, link.is_some())?,
            past: Totals::default(),
            epoch: Instant::now(),
            bad_vectors: 0,
            services: [0; 4],
            link,
            refused_frames: 0,
            recorder: None,
        })
    }

    /// Records the hardware-channel requests and the mailbox requests to `recorder`.
    pub fn record_to(&mut self, recorder: Arc<Recorder>) {
        self.recorder = Some(recorder);
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Replays the mailbox into the model's SMC aperture (the last dword runs the request) and
    /// returns what the aperture holds afterwards.
    fn smc(&mut self, mem: &GuestMemory<'_>, request: Mailbox) -> Mailbox {
        for (i, dword) in request.iter().enumerate() {
            self.dev.write32(mem, layout::SHM_OFFSET + 4 * i, *dword);
        }
        let mut response = [0; 8];
        for (i, dword) in response.iter_mut().enumerate() {
            *dword = self.dev.read32(layout::SHM_OFFSET + 4 * i);
        }
        response
    }

    /// Answers the hardware-channel requests that are waiting, each after its latency.
    fn run_requests(&mut self, host: &dyn DeviceHost, mem: &GuestMemory<'_>) {
        loop {
            let now = self.now_us();
            let Some(delay) = self.dev.next_request_delay_us(mem, now) else {
                break;
            };
            if delay > 0 {
                // Raise what is due before waiting.
                self.raise(host);
                std::thread::sleep(std::time::Duration::from_micros(delay));
            }
            let processed = match &self.recorder {
                Some(r) => self.dev.process_one_observed(mem, &mut Recording(r)),
                None => self.dev.process_one(mem),
            };
            if !processed {
                break;
            }
        }
    }

    /// Signals the vectors the model raised.
    fn raise(&mut self, host: &dyn DeviceHost) {
        let mut vectors = self.dev.take_interrupts();
        while vectors != 0 {
            let vector = vectors.trailing_zeros();
            vectors &= vectors - 1;
            if host.raise_msix(vector as u16).is_err() {
                self.bad_vectors += 1;
            }
        }
    }

    /// Has the device ask the driver for `request` (from the control socket), as the in-kernel
    /// software adapter's `sw_control` does: the event on the hardware channel's EQ.
    fn service(&mut self, mem: &GuestMemory<'_>, request: ServiceRequest) -> ServiceOutcome {
        match self.dev.service_event(mem, request) {
            Ok(()) => {
                if let Some(i) = control::SERVICE_WORDS
                    .iter()
                    .position(|(_, r)| *r == request)
                {
                    self.services[i] += 1;
                }
                Ok(())
            }
            Err(ModelError::NotSupported) => Err(format!(
                "the driver did not advertise that it handles {}; not sent",
                control::service_word(request)
            )),
            Err(ModelError::Busy) => Err(
                "busy: the hardware channel is not up (no driver, or a reset in progress)"
                    .to_string(),
            ),
            Err(e) => Err(format!("the device could not post the event: {e}")),
        }
    }

    /// A function reset: the device drops every object and starts afresh.
    fn reset(&mut self) {
        let stats = self.dev.stats();
        self.past.add(&stats);
        self.past.live_at_reset += live_objects(&stats);
        match power_on(self.config, self.link.is_some()) {
            Ok(dev) => self.dev = dev,
            // The configuration was accepted at start: only memory can fail here.
            Err(e) => eprintln!("mana-vfio-user: cannot reset the device model: {e}"),
        }
    }
}

impl DeviceModel for ManaModel {
    fn handle(&mut self, host: &dyn DeviceHost, event: DeviceEvent) {
        let mem = GuestMemory(host);
        match event {
            DeviceEvent::SmcRequest(request) => {
                let response = self.smc(&mem, request);
                if let Some(r) = &self.recorder {
                    r.smc(&request, &response);
                }
                host.smc_respond(response);
            }
            DeviceEvent::Doorbell(db) => {
                let offset = layout::DB_PAGE_OFFSET
                    + db.page as usize * layout::DB_PAGE_SIZE
                    + db.offset as usize;
                let now = self.now_us();
                match &self.link {
                    Some(link) => {
                        self.dev
                            .doorbell(&mem, &mut PeerWire(link), offset, db.value, now)
                    }
                    None => self.dev.doorbell(&mem, &mut NoWire, offset, db.value, now),
                }
            }
            DeviceEvent::Reset => self.reset(),
            DeviceEvent::Service { request, reply } => {
                let outcome = self.service(&mem, request);
                // The event is in the EQ: its interrupt goes out before the answer.
                self.raise(host);
                reply.send(outcome);
            }
            DeviceEvent::Frame { port, frame, vlan } => {
                if self.dev.receive_frame(&mem, port, &frame, vlan).is_err() {
                    self.refused_frames += 1;
                }
            }
        }
        self.run_requests(host, &mem);
        self.raise(host);
    }

    fn shutdown(&mut self, _host: &dyn DeviceHost) -> ModelReport {
        let stats = self.dev.stats();
        let mut totals = std::mem::take(&mut self.past);
        totals.add(&stats);
        let mut report = vec![
            ("device_protocol_errors".to_string(), totals.protocol_errors),
            ("live_objects".to_string(), live_objects(&stats)),
            ("live_at_reset".to_string(), totals.live_at_reset),
            ("bad_vectors".to_string(), self.bad_vectors),
            ("refused_frames".to_string(), self.refused_frames),
            ("tx_packets".to_string(), totals.tx_packets),
            ("rx_packets".to_string(), totals.rx_packets),
            (
                "requests".to_string(),
                totals.requests.iter().map(|(_, n)| n).sum(),
            ),
        ];
        report.push(("service_events".to_string(), self.services.iter().sum()));
        for ((word, _), n) in control::SERVICE_WORDS.iter().zip(self.services) {
            if n != 0 {
                report.push((format!("service_{}", word.replace('-', "_")), n));
            }
        }
        for (code, n) in totals.requests {
            report.push((format!("req_{}", request_name(code)), n));
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::io::Read;

    use mana_wire::smc::{EstablishHwc, SmcHdr};
    use vfio_bindings::bindings::vfio::{
        VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX,
    };
    use vfio_user::{DmaMapFlags, ServerBackend};

    use super::*;
    use crate::bar0::{Bar0Layout, SHM_OFFSET};
    use crate::function::Function;
    use crate::test_support::{eventfd, memfd};

    #[test]
    fn a_link_carries_frames_to_the_peer_until_it_is_cut() {
        let link = Link::default();
        let (tx, rx) = std::sync::mpsc::channel();
        PeerWire(&link).transmit(0, b"lost", None);
        link.connect(tx);
        PeerWire(&link).transmit(1, b"frame", Some(7));
        assert_eq!(
            rx.try_recv(),
            Ok(DeviceEvent::Frame {
                port: 1,
                frame: b"frame".to_vec(),
                vlan: Some(7)
            })
        );
        link.cut();
        PeerWire(&link).transmit(1, b"cut", None);
        // Nothing more came, and the queue is no longer held open.
        assert_eq!(
            rx.try_recv(),
            Err(std::sync::mpsc::TryRecvError::Disconnected)
        );
    }

    #[test]
    fn a_linked_model_takes_frames_for_its_ports_only() {
        let config = SwConfig {
            num_ports: 2,
            num_vectors: 64,
            ..SwConfig::default()
        };
        let model = ManaModel::linked(config, Link::default()).unwrap();
        let mut f = Function::new(Bar0Layout { db_pages: 16 }, Box::new(model)).unwrap();
        let peer = f.model_sender().unwrap();
        for port in [1, 2] {
            peer.send(DeviceEvent::Frame {
                port,
                frame: vec![0xff; 60],
                vlan: None,
            })
            .unwrap();
        }
        drop(peer);
        assert!(f.stop_model());
        let report = f.report();
        // Port 1 exists (the frame is dropped: nobody steers it yet); port 2 does not.
        assert!(report.contains(" refused_frames=1 "), "{report}");
        assert!(report.contains(" device_protocol_errors=0 "), "{report}");
    }

    /// A function hosting a MANA model of two vports with 64 KiB of guest RAM at DMA address
    /// 1 MiB and an eventfd on vector 2; returns it with the RAM and the eventfd.
    fn function_with_ram() -> (Function, File, File) {
        let config = SwConfig {
            num_vectors: 64,
            ..SwConfig::default()
        };
        let model = ManaModel::new(config).unwrap();
        let mut f = Function::new(Bar0Layout { db_pages: 16 }, Box::new(model)).unwrap();
        let ram = memfd(0x1_0000);
        f.dma_map(
            DmaMapFlags::READ_WRITE,
            0,
            0x10_0000,
            0x1_0000,
            Some(ram.try_clone().unwrap()),
        )
        .unwrap();
        let vector = eventfd();
        let trigger = VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD;
        f.set_irqs(
            VFIO_PCI_MSIX_IRQ_INDEX,
            trigger,
            2,
            1,
            vec![vector.try_clone().unwrap()],
        )
        .unwrap();
        (f, ram, vector)
    }

    /// Hands the driver's ESTABLISH_HWC (queues in the RAM, vector 2) to the mailbox, the
    /// header dword last.
    fn establish_hwc(f: &mut Function) {
        let request = EstablishHwc {
            eq_addr: 0x10_0000,
            cq_addr: 0x10_1000,
            rq_addr: 0x10_2000,
            sq_addr: 0x10_3000,
            msix_index: 2,
            reset_vf: false,
        }
        .encode()
        .unwrap();
        for (i, dword) in request.iter().enumerate() {
            f.region_write(0, SHM_OFFSET + 4 * i as u64, &dword.to_le_bytes())
                .unwrap();
        }
    }

    /// Whether the report line has the `name=value` pair `field`.
    fn has_field(report: &str, field: &str) -> bool {
        report.split_whitespace().any(|f| f == field)
    }

    /// Has `f`'s model raise `request`, as the control socket does; returns its answer.
    fn service(f: &Function, request: ServiceRequest) -> ServiceOutcome {
        let (reply, answer) = control::Reply::new();
        f.model_sender()
            .unwrap()
            .send(DeviceEvent::Service { request, reply })
            .unwrap();
        answer.recv().unwrap()
    }

    #[test]
    fn the_model_answers_the_mailbox_writes_guest_memory_and_raises_the_vector() {
        let (mut f, mut ram, mut vector) = function_with_ram();
        establish_hwc(&mut f);
        // Stopping the model lets it finish what was queued.
        assert!(f.stop_model());

        let mut b = [0; 4];
        f.region_read(0, SHM_OFFSET + 28, &mut b).unwrap();
        let hdr = SmcHdr::from_raw(u32::from_le_bytes(b));
        assert_eq!(hdr.status().get(), 0, "ESTABLISH_HWC succeeded");
        assert_eq!(
            u32::from_le_bytes(b) & crate::bar0::SMC_OWNER_IS_DEVICE,
            0,
            "the mailbox is the driver's again"
        );
        // The init events are in the EQ, in guest memory; vector 2 fired.
        let mut eq = [0u8; 16];
        ram.read_exact(&mut eq).unwrap();
        assert_ne!(eq, [0; 16]);
        let mut count = [0u8; 8];
        assert_eq!(vector.read(&mut count).unwrap(), 8);
        let report = f.report();
        for field in [
            " dma_faults=0 ",
            " device_protocol_errors=0 ",
            " live_objects=1 ",
            " bad_vectors=0 ",
        ] {
            assert!(report.contains(field), "{field} in {report}");
        }
        assert!(has_field(&report, "service_events=0"), "{report}");
    }

    #[test]
    fn a_service_command_raises_the_event_the_driver_handles_on_its_channel() {
        let (mut f, _ram, mut vector) = function_with_ram();
        let mut count = [0u8; 8];
        // No hardware channel yet: nothing to post the event on.
        let busy = service(&f, ServiceRequest::Reset).unwrap_err();
        assert!(busy.starts_with("busy: "), "{busy}");

        establish_hwc(&mut f);
        // A reset needs the driver to have said it handles one (VERIFY_VF_DRIVER_VERSION's
        // capabilities); this driver said nothing yet. The mailbox ran first: its init
        // events' interrupt is out.
        assert_eq!(
            service(&f, ServiceRequest::Reset),
            Err("the driver did not advertise that it handles reset; not sent".to_string())
        );
        assert_eq!(vector.read(&mut count).unwrap(), 8);
        assert!(vector.read(&mut count).is_err(), "no second interrupt yet");

        // RDMA suspend needs no capability: the event goes out, with its interrupt.
        assert_eq!(service(&f, ServiceRequest::RdmaSuspend), Ok(()));
        assert_eq!(vector.read(&mut count).unwrap(), 8);
        assert_eq!(service(&f, ServiceRequest::RdmaResume), Ok(()));

        assert!(f.stop_model());
        let report = f.report();
        for field in [
            "device_protocol_errors=0",
            "service_events=2",
            "service_rdma_suspend=1",
            "service_rdma_resume=1",
        ] {
            assert!(has_field(&report, field), "{field} in {report}");
        }
        assert!(!report.contains("service_reset"), "{report}");
    }
}
