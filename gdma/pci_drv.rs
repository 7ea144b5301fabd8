// SPDX-License-Identifier: GPL-2.0-only

//! The PCI driver for MANA functions (1414:00ba VF, 1414:00b9 and 1414:00c1 PF).
//!
//! Probe follows `mana_gd_probe()`: enable the function's memory space, bus mastering, request
//! and map BAR0, set the 64-bit DMA mask (and no DMA segment limit, as the C driver does), read
//! the register layout, allocate MSI-X vectors and request their IRQs, then bring the adapter up
//! through the core as a [`Function`], which also registers the clients' auxiliary devices and
//! runs the device's reset cycles. Unbind undoes it in reverse: the function goes first (the
//! clients' devices, then the core takes the adapter down), then the IRQs and the vectors are
//! freed, then the DMA gate closes, and devres unmaps and releases BAR0 last. See
//! `pci_transport.rs` for how the `'static` transport and the `'bound` resources split.
//!
//! PFs are driven in bare-metal host mode (QUERY_DEV_CONFIG `bm_hostmode`), where they work
//! like VFs apart from the destination RQ/CQ of their hardware-channel requests; the core
//! refuses a PF in hypervisor-host mode, which would need REGISTER_HW_PORT and REGISTER_FILTER.
//!
//! System shutdown (reboot, kexec) takes the function down as unbind does, through
//! `pci::Driver::shutdown` (our addition to 7.3's PCI abstraction, rust/patch/pci-shutdown.patch).
//!
//! Missing in the 7.3 Rust PCI API, and so not done: `pci_disable_device()` (and with it
//! clearing bus mastering) on unbind, dynamic MSI-X allocation (all vectors are allocated at
//! probe) and per-vector IRQ names. IRQ affinity is our addition to `kernel::irq`
//! (`set_affinity`): the queue vectors are spread over the CPUs as the C driver does.

use kernel::{
    device::{
        Bound,
        Core, //
    },
    dma::{
        Device as _,
        DmaMask, //
    },
    io::Io,
    pci,
    prelude::*,
    sync::Arc, //
};

use crate::{
    adapter::new_adapter_id,
    function::{
        Function,
        FunctionConfig,
        SERVICE_PERIOD_MS, //
    },
    pci_transport::{
        irq_numbers,
        register_irqs,
        vector_budget,
        Handlers,
        Irqs,
        PciTransport,
        RegView, //
    },
    wire::regs::RegLayout, //
};

/// Which kind of PCI function a device id names; the register offsets differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FunctionKind {
    /// A virtual function, as in an Azure VM.
    Vf,
    /// A physical function.
    Pf,
}

/// MANA virtual function device id.
pub(crate) const DEVICE_ID_VF: u32 = 0x00ba;
/// MANA physical function device id.
pub(crate) const DEVICE_ID_PF: u32 = 0x00b9;
/// MANA physical function device id, second generation.
pub(crate) const DEVICE_ID_PF2: u32 = 0x00c1;

kernel::pci_device_table!(
    PCI_TABLE,
    <GdmaPciDriver as pci::Driver>::IdInfo,
    [
        (
            pci::DeviceId::from_id(pci::Vendor::MICROSOFT, DEVICE_ID_VF),
            FunctionKind::Vf
        ),
        (
            pci::DeviceId::from_id(pci::Vendor::MICROSOFT, DEVICE_ID_PF),
            FunctionKind::Pf
        ),
        (
            pci::DeviceId::from_id(pci::Vendor::MICROSOFT, DEVICE_ID_PF2),
            FunctionKind::Pf
        ),
    ]
);

/// The name BAR0 is requested under (shown in `/proc/iomem`).
const BAR0_NAME: &CStr = c"mana_gdma";

/// Holds the transport of a bound function and closes its DMA gate when dropped: on unbind, or
/// when probe fails after the transport was made.
struct DmaGate(Arc<PciTransport>);

impl Drop for DmaGate {
    fn drop(&mut self) {
        self.0.close_dma();
    }
}

/// A bound MANA PCI function.
///
/// Drop order: `PinnedDrop` drops the [`Function`]: it waits for a running reset cycle,
/// unregisters the clients' auxiliary devices and removes the adapter (which still needs the
/// hardware channel's interrupt), and frees the core's DMA buffers while the device is still
/// bound. Then the fields go in declaration order: the IRQs (`free_irq()` waits for running
/// handlers), the MSI-X vectors, and the transport, whose DMA gate closes. Devres unmaps and
/// releases BAR0 after the driver's data is gone.
#[pin_data(PinnedDrop)]
pub(crate) struct GdmaPci<'bound> {
    pdev: &'bound pci::Device<Bound>,
    function: Option<Function<'bound>>,
    irqs: Irqs<'bound>,
    vectors: pci::IrqVectorRegistration<'bound>,
    transport: DmaGate,
}

#[pinned_drop]
impl PinnedDrop for GdmaPci<'_> {
    fn drop(self: Pin<&mut Self>) {
        let this = Pin::into_inner(self);
        // The clients unbind first (their netdevs and IB devices go away), then the core takes
        // the function down: DEREGISTER_DEVICE over the hardware channel, then DESTROY_HWC.
        if let Some(function) = this.function.take() {
            let id = function.adapter().id();
            drop(function);
            dev_dbg!(this.pdev, "adapter {} removed\n", id);
        }
    }
}

/// The PCI driver.
pub(crate) struct GdmaPciDriver;

impl pci::Driver for GdmaPciDriver {
    type IdInfo = FunctionKind;
    type Data<'bound> = GdmaPci<'bound>;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    /// Reboot or kexec: the clients go and the adapter is taken down (DESTROY_HWC), so the
    /// device stops its DMA before the next kernel owns the memory, as `mana_gd_shutdown()`
    /// does. The data stays until the device is unbound, which shutdown does not do.
    fn shutdown<'bound>(pdev: &'bound pci::Device<Core<'_>>, this: Pin<&GdmaPci<'bound>>) {
        dev_info!(pdev, "shutdown: taking the adapter down\n");
        if let Some(function) = this.function.as_ref() {
            function.stop();
        }
    }

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let kind = info.copied().ok_or(ENODEV)?;
            let device_id = pdev.device_id();
            let layout = RegLayout::for_device(device_id).inspect_err(|_| {
                dev_err!(
                    pdev,
                    "device id 0x{:04x} is not a MANA function\n",
                    device_id
                )
            })?;

            pdev.enable_device_mem()
                .inspect_err(|e| dev_err!(pdev, "cannot enable the PCI function: {:?}\n", e))?;
            pdev.set_master();
            let bar = pdev
                .iomap_region(0, BAR0_NAME)
                .inspect_err(|e| dev_err!(pdev, "cannot request and map BAR0: {:?}\n", e))?;
            let bar_size = (&bar).size();

            // SAFETY: This is probe, before the function's first DMA allocation or mapping: the
            // transport that allocates is created below, and nothing else allocates for this
            // device, so nothing runs concurrently with setting the mask.
            unsafe { pdev.dma_set_mask_and_coherent(DmaMask::new::<64>()) }
                .inspect_err(|e| dev_err!(pdev, "cannot set a 64-bit DMA mask: {:?}\n", e))?;
            // SAFETY: As above: probe, before any DMA allocation or mapping for this device.
            unsafe { pdev.dma_set_max_seg_size(u32::MAX) };

            let regs = RegView::read(&bar, layout, bar_size, pdev.as_ref())
                .inspect_err(|e| dev_err!(pdev, "cannot read the register layout: {:?}\n", e))?;
            let bar = bar
                .into_devres()
                .inspect_err(|e| dev_err!(pdev, "cannot hand BAR0 to devres: {:?}\n", e))?;
            let handlers = Handlers::new()?;
            let budget = vector_budget(kernel::cpu::nr_cpu_ids());
            let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);

            // `pdev` is initialized last: once a field is initialized, its name refers to the
            // field in the initializers after it.
            Ok(try_pin_init!(GdmaPci {
                vectors: pdev.alloc_irq_vectors(1, budget, msix).inspect_err(|e| {
                    dev_err!(pdev, "cannot allocate 1..={} MSI-X vectors: {:?}\n", budget, e)
                })?,
                // SAFETY: `vectors` is initialized before this expression is evaluated
                // (`try_pin_init!` initializes fields in the order written here), lives in the
                // pinned driver data until it is dropped, and is dropped after `irqs` (field
                // declaration order; on a failed probe the initialized fields are dropped in
                // reverse order of initialization), so the IRQs never outlive the vectors.
                irqs: register_irqs(unsafe { &*core::ptr::from_ref(vectors) }, &handlers)
                    .inspect_err(|e| dev_err!(pdev, "cannot request the MSI-X IRQs: {:?}\n", e))?,
                transport: DmaGate(PciTransport::new(
                    pdev.as_ref(),
                    bar,
                    pdev.resource_start(0)?,
                    regs,
                    handlers,
                    u32::try_from(vectors.len())?,
                    irq_numbers(vectors)?,
                )?),
                function: Some(
                    Function::new(
                        Some(pdev.as_ref()),
                        transport.0.clone(),
                        crate::debugfs_root().as_ref(),
                        new_adapter_id(),
                        FunctionConfig {
                            bar_size,
                            is_pf: kind == FunctionKind::Pf,
                            with_clients: true,
                            service_period_ms: SERVICE_PERIOD_MS,
                        },
                    )
                    .inspect_err(|e| dev_err!(pdev, "cannot bring the adapter up: {:?}\n", e))?
                ),
                _: {
                    let adapter = function.as_ref().map(|f| f.adapter());
                    if let Some(adapter) = adapter {
                        dev_info!(
                            pdev,
                            "MANA {:?}: adapter {} with {} vport(s), {} MSI-X vector(s)\n",
                            kind,
                            adapter.id(),
                            adapter.ports().len(),
                            vectors.len()
                        );
                    }
                },
                pdev,
            }))
        })
    }
}
