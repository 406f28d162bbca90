package sysfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hwmon"
)

const (
	habanaVendor = "0x1da3"
	operational  = "Operational"
)

// readDevice reads accel n into d, which holds only its Index. ours is false for a device of
// another vendor (other accel drivers share the class). err is set when the device's directory
// could not be read at all, so it is not even known to be an HPU; once it is, problems go to
// d.Err. Attributes that were read but could not be parsed are added to errs.
func (s *Source) readDevice(n int64, d *hpu.Device, errs *[]error) (ours bool, err error) {
	name := fmt.Sprintf("accel%d", n)
	root, err := os.OpenRoot(filepath.Join(s.classDir, name, "device"))
	if err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	defer root.Close()
	r := &attrReader{root: root, buf: &s.buf, device: name}
	defer func() { *errs = append(*errs, r.errs...) }()

	vendor, err := r.text("vendor")
	if err != nil {
		return false, fmt.Errorf("%s: reading vendor: %w", name, err)
	}
	if vendor != habanaVendor {
		return false, nil
	}
	s.fill(r, name, d)
	return true, nil
}

// fill reads the attributes of a Habana device. The identity comes first, so that a device
// that fails later is still named.
func (s *Source) fill(r *attrReader, name string, d *hpu.Device) {
	bus, err := r.text("pci_addr")
	if err != nil || bus == "" {
		bus = s.linkedBusID(name)
	}
	d.Info.PCIBusID = bus
	if bus != "" {
		d.UUID = "pci-" + bus
	}

	status, err := r.text("status")
	if err != nil {
		// Every habanalabs device has a status; without it the device is gone.
		d.Err = fmt.Errorf("reading status: %w", err)
		return
	}
	d.Operational = hpu.Some(status == operational)

	deviceType, _ := r.text("device_type")
	pciDevice, _ := r.text("device")
	d.Info.Model = modelName(deviceType, pciDevice)
	if v, ok := r.count("module_id"); ok {
		d.Info.ModuleID = v
	}
	d.Info.DriverVersion, _ = r.text("driver_ver")
	// What hl-smi calls the FIT version; older drivers name the attribute armcp.
	for _, attr := range [...]string{"cpucp_kernel_ver", "armcp_kernel_ver"} {
		if v, err := r.firstLine(attr); err == nil && v != "" {
			d.Info.FirmwareVersion = v
			break
		}
	}

	// These read -ENODEV while the device is not operational, and then stay invalid.
	d.ClockSoC = r.scaledInt("clk_cur_freq_mhz", 1e6)
	d.ClockSoCMax = r.scaledInt("clk_max_freq_mhz", 1e6)
	d.PowerLimit = r.scaledFloat("max_power", 1e3)
	// The kernel's own PCI attributes, on the same directory.
	d.PCIeLinkGen = linkGeneration(r)
	if v, ok := r.count("current_link_width"); ok {
		d.PCIeLinkWidth = hpu.Some(v)
	}
	if hw := hwmonDir(r.root); hw != "" {
		// power1 is the 54 V rail (see doc.go).
		d.Power = r.scaledFloat(hw+"/power1_input", 1e6)
	}
	// The temperatures as the HLML source reads them where libhlml's call leaks (package hwmon).
	if sensors, err := hwmon.Open(filepath.Join(s.classDir, name, "device"), s.sensors); err == nil {
		d.TemperatureOnChip = sensors.Temperature(hwmon.OnChip)
		d.TemperatureOnBoard = sensors.Temperature(hwmon.OnBoard)
		d.TemperatureHBM = sensors.Temperature(hwmon.HBM)
		_ = sensors.Close()
	}
	d.NICPorts = s.nicPorts(r)

	// A device removed meanwhile made the reads above fail for that reason, not because its
	// values are unavailable.
	if _, err := r.root.Lstat("status"); err != nil {
		*d = hpu.Device{Index: d.Index, UUID: d.UUID, Err: fmt.Errorf("device vanished while being read: %w", err)}
	}
}

// pcieGenerations maps the link speed the kernel prints ("16.0 GT/s PCIe"; "16 GT/s" before
// Linux 5.x) to the PCIe generation.
var pcieGenerations = map[string]int64{
	"2.5": 1, "5": 2, "5.0": 2, "8": 3, "8.0": 3, "16": 4, "16.0": 4, "32": 5, "32.0": 5, "64": 6, "64.0": 6,
}

func linkGeneration(r *attrReader) hpu.Value[int64] {
	b, err := r.read("current_link_speed")
	if err != nil {
		return hpu.Value[int64]{}
	}
	speed, _, _ := bytes.Cut(b, []byte(" "))
	if gen, ok := pcieGenerations[string(speed)]; ok {
		return hpu.Some(gen)
	}
	// The kernel prints "Unknown" while the link is down.
	if string(b) != "Unknown" {
		r.errs = append(r.errs, fmt.Errorf("%s current_link_speed: not a PCIe speed: %q", r.device, b))
	}
	return hpu.Value[int64]{}
}

// linkedBusID is the PCI address the accel device's "device" link points to, for drivers
// without pci_addr.
func (s *Source) linkedBusID(name string) string {
	target, err := os.Readlink(filepath.Join(s.classDir, name, "device"))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// hwmonDir is the device's hwmon directory, relative to its root, or "" when it has none;
// the driver registers one per device.
func hwmonDir(root *os.Root) string {
	dir, err := root.Open("hwmon")
	if err != nil {
		return ""
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return ""
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasPrefix(n, "hwmon") })
	if len(names) == 0 {
		return ""
	}
	return "hwmon/" + slices.Min(names)
}
