/// A PCI driver that also takes its devices down at system shutdown (reboot, kexec).
///
/// Register it through [`ShutdownAdapter`] instead of [`Adapter`]: the PCI core then calls
/// [`DriverShutdown::shutdown`] for every bound device before the machine reboots or the next
/// kernel starts, so a device stops its DMA into memory the next kernel will use.
pub trait DriverShutdown: Driver {
    /// Called at system shutdown for a bound device (`pci_driver.shutdown`).
    ///
    /// The driver stops the device's DMA and interrupts. The device stays bound: neither
    /// [`Driver::unbind`] nor the drop of the driver's data follows.
    fn shutdown<'bound>(dev: &'bound Device<device::Core<'_>>, this: Pin<&Self::Data<'bound>>);
}

/// The registration of a [`DriverShutdown`] driver: an [`Adapter`] with `shutdown` set.
pub struct ShutdownAdapter<T: DriverShutdown>(T);

// SAFETY: As for `Adapter<T>`: the layout is `struct pci_driver`, whose embedded `struct
// device_driver` is at `DEVICE_DRIVER_OFFSET`, and the driver data is `T::Data`.
unsafe impl<T: DriverShutdown> driver::DriverLayout for ShutdownAdapter<T> {
    type DriverType = bindings::pci_driver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize = core::mem::offset_of!(Self::DriverType, driver);
}

// SAFETY: A call to `unregister` for a given instance of `DriverType` is guaranteed to be valid if
// a preceding call to `register` has been successful.
unsafe impl<T: DriverShutdown> driver::RegistrationOps for ShutdownAdapter<T> {
    unsafe fn register(
        pdrv: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: It's safe to set the fields of `struct pci_driver` on initialization. The probe
        // and remove callbacks are `Adapter<T>`'s, which match `DriverLayout` above.
        unsafe {
            (*pdrv.get()).name = name.as_char_ptr();
            (*pdrv.get()).probe = Some(Adapter::<T>::probe_callback);
            (*pdrv.get()).remove = Some(Adapter::<T>::remove_callback);
            (*pdrv.get()).shutdown = Some(Self::shutdown_callback);
            (*pdrv.get()).id_table = T::ID_TABLE.as_ptr();
        }

        // SAFETY: `pdrv` is guaranteed to be a valid `DriverType`.
        to_result(unsafe {
            bindings::__pci_register_driver(pdrv.get(), module.as_ptr(), name.as_char_ptr())
        })
    }

    unsafe fn unregister(pdrv: &Opaque<Self::DriverType>) {
        // SAFETY: `pdrv` is guaranteed to be a valid `DriverType`.
        unsafe { bindings::pci_unregister_driver(pdrv.get()) }
    }
}

impl<T: DriverShutdown> ShutdownAdapter<T> {
    extern "C" fn shutdown_callback(pdev: *mut bindings::pci_dev) {
        // SAFETY: The PCI bus only ever calls the shutdown callback with a valid pointer to a
        // `struct pci_dev`.
        //
        // INVARIANT: `pdev` is valid for the duration of `shutdown_callback()`.
        let pdev = unsafe { &*pdev.cast::<Device<device::CoreInternal<'_>>>() };

        // SAFETY: `pci_device_shutdown()` calls the callback only for a device bound to this
        // driver, that is after a successful `probe_callback`, which stored a
        // `Pin<KBox<T::Data<'_>>>` with `Device::set_drvdata()`; the device lock the core holds
        // keeps `remove_callback` from running concurrently.
        let data = unsafe { pdev.as_ref().drvdata_borrow::<T::Data<'_>>() };

        T::shutdown(pdev, data);
    }
}
