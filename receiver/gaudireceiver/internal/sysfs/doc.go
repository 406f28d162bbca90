// Package sysfs is an HPU source that reads the habanalabs driver's sysfs and hwmon files: it
// needs neither libhlml nor hl-smi, only the driver, and fills fewer readings than they do.
//
// Every <root>/sys/class/accel/accelN whose device (the PCI device the "device" link points
// to) has the Habana vendor id 0x1da3 is one HPU; other accel drivers' devices are skipped.
// Attributes and what they fill:
//
//	N of accelN                Device.Index
//	pci_addr                   Info.PCIBusID (else the name of the PCI device directory)
//	"pci-" + PCI bus id        Device.UUID (see below)
//	device_type, device        Info.Model (device is the PCI device id; see below)
//	status                     Operational (true when "Operational")
//	module_id                  Info.ModuleID (not upstream; hpu.UnknownModuleID when absent)
//	driver_ver                 Info.DriverVersion
//	cpucp_kernel_ver           Info.FirmwareVersion, first line (hl-smi's FIT version);
//	                           armcp_kernel_ver on older drivers
//	clk_cur_freq_mhz           ClockSoC (MHz -> Hz)
//	clk_max_freq_mhz           ClockSoCMax (MHz -> Hz)
//	max_power                  PowerLimit (mW -> W, as the driver's ABI documents)
//	current_link_speed         PCIeLinkGen (kernel PCI attribute: "16.0 GT/s PCIe" -> 4)
//	current_link_width         PCIeLinkWidth (kernel PCI attribute)
//	hwmon/hwmon*/temp*_input   TemperatureOnChip, TemperatureOnBoard, TemperatureHBM
//	                           (m°C -> °C; package hwmon: the hottest channel of each kind by the
//	                           driver package's sensor labels, temp1 as on-chip without them)
//	hwmon/hwmon*/power1_input  Power (µW -> W)
//	net/<ifname>/              NICPorts of the external ports, the only ones with a netdev:
//	                           dev_port (or the d<N> of the name) the port, 0-127 as HLML's port
//	                           masks, once per device; operstate its link;
//	                           statistics/{rx,tx}_{bytes,packets,errors,dropped} its counters,
//	                           the other statistics files its raw stats (non-negative)
//
// An attribute that cannot be read leaves its value invalid: the driver answers -ENODEV for
// clocks, max_power and all hwmon values while the device is not operational. Content that
// cannot be parsed is reported in the Read error. A device without status, or whose directory
// vanishes while it is read, gets Err.
//
// UUID: sysfs has no UUID and no serial number (the serial is only in the binary eeprom), so
// the UUID is the PCI bus id prefixed with "pci-", e.g. pci-0000:43:00.0. It is stable while
// the board stays in its slot, but differs from the UUID HLML and hl-smi report, so series
// change identity when the receiver switches between sysfs and another source.
//
// Model: the product name hl-smi reports (HL-225, HL-288, HL-325L, HL-338) for the device_type
// and PCI device id pairs the reference documents; else the generation from device_type
// ("Gaudi 2", "Gaudi 3 single die", ...); else device_type as the driver prints it.
//
// hwmon channels: the firmware defines them and there are no label files; the labels come from
// <root>/etc/sensors.d/hl_sensors.conf (see package hwmon). A third-party map of HL-225 says
// power1 is the 54 V rail only, so Power misses the 12 V rail (up to 50 W) that hl-smi adds;
// its µW scale follows the hwmon ABI and was not observed.
//
// sysfs cannot fill: Info.Serial, Utilization, MemoryUsed/Free/Total, TemperatureLimits,
// Energy, PowerLimitDefault, ThrottledPower, ThrottledThermal, ThrottleTime*, PCIeReceive,
// PCIeTransmit, PCIeReplays, ECCEnabled, ECCErrors*, RowsReplaced*, RowsPending, and the
// internal NIC ports. max_power is the cap in force (the driver's attribute is writable),
// PowerLimit.
package sysfs
