// Package sysfstest builds fake sysfs trees of habanalabs devices for the sysfs source's tests
// and for tests of other packages that read through it.
package sysfstest

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Unreadable, as an attribute's content, makes the fake tree hold a directory where the file
// should be: reading it fails (EISDIR) even as root, as -ENODEV does on a real device.
const Unreadable = "\x00unreadable"

// Device is one accel device of a fake sysfs tree.
type Device struct {
	Accel int
	Bus   string
	// Attrs are the files of the PCI device directory, by path relative to it.
	Attrs map[string]string
}

var fixtureLine = regexp.MustCompile(`^(\S+)\s*=\s*"([^"]*)"`)

// gaudi2Attrs are the attributes of internal/sysfs/testdata/SYNTHETIC_sysfs_accel0_gaudi2.txt
// for the device at bus, with the PCI attributes and the values the fixture leaves open added.
func gaudi2Attrs(t testing.TB, bus string) map[string]string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "testdata", "SYNTHETIC_sysfs_accel0_gaudi2.txt"))
	require.NoError(t, err)
	attrs := map[string]string{}
	for line := range strings.Lines(string(b)) {
		m := fixtureLine.FindStringSubmatch(line)
		if m == nil || strings.Contains(m[2], "<") {
			continue
		}
		attrs[m[1]] = strings.ReplaceAll(m[2], `\n`, "\n")
	}
	require.Equal(t, "Operational\n", attrs["status"], "fixture parsed")
	attrs["cpucp_kernel_ver"] = attrs["armcp_kernel_ver"]
	attrs["pci_addr"] = bus + "\n"
	attrs["max_power"] = "600000\n"
	attrs["vendor"] = "0x1da3\n"
	attrs["device"] = "0x1020\n"
	attrs["current_link_speed"] = "16.0 GT/s PCIe\n"
	attrs["current_link_width"] = "16\n"
	return attrs
}

// Gaudi2Device is an operational Gaudi 2 (HL-225) as accel device accel at PCI address bus.
func Gaudi2Device(t testing.TB, accel int, bus string) Device {
	return Device{Accel: accel, Bus: bus, Attrs: gaudi2Attrs(t, bus)}
}

// With returns a copy of the device with attributes changed; "" removes one.
func (d Device) With(changes map[string]string) Device {
	d.Attrs = maps.Clone(d.Attrs)
	for k, v := range changes {
		if v == "" {
			delete(d.Attrs, k)
		} else {
			d.Attrs[k] = v
		}
	}
	return d
}

// WithoutHwmon returns a copy of the device without its hwmon directory.
func (d Device) WithoutHwmon() Device {
	d.Attrs = maps.Clone(d.Attrs)
	maps.DeleteFunc(d.Attrs, func(k, _ string) bool { return strings.HasPrefix(k, "hwmon/") })
	return d
}

// WriteTree builds the sysfs layout of devs under root, as the kernel does: the PCI device
// directory holds the attributes and an accel/accelN class device whose "device" link points
// back to it; /sys/class/accel/accelN links to the class device.
func WriteTree(t testing.TB, root string, devs ...Device) {
	t.Helper()
	class := filepath.Join(root, "sys", "class", "accel")
	require.NoError(t, os.MkdirAll(class, 0o755))
	for _, d := range devs {
		pci := filepath.Join(root, "sys", "devices", "pci0000:00", d.Bus)
		name := "accel" + strconv.Itoa(d.Accel)
		classDev := filepath.Join(pci, "accel", name)
		require.NoError(t, os.MkdirAll(classDev, 0o755))
		// The kernel's links climb to the common ancestor and name the target.
		require.NoError(t, os.Symlink(filepath.Join("..", "..", "..", d.Bus), filepath.Join(classDev, "device")))
		require.NoError(t, os.Symlink(filepath.Join("..", "..", "devices", "pci0000:00", d.Bus, "accel", name), filepath.Join(class, name)))
		for rel, content := range d.Attrs {
			p := filepath.Join(pci, rel)
			if content == Unreadable {
				require.NoError(t, os.MkdirAll(p, 0o755))
				continue
			}
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(content), 0o444))
		}
	}
}

// gaudi2Temperatures are the 22 temperatures of hl-smi -q for one Gaudi 2 (°C), in the order of
// its list, which the hwmon channels temp1-temp22 follow (testdata/SYNTHETIC_hl_sensors.conf).
var gaudi2Temperatures = [...]int{29, 29, 30, 30, 29, 32, 30, 29, 29, 29, 29, 30, 29, 29, 30, 30, 31, 30, 31, 33, 34, 39}

// WithSensors returns a copy of the device with all 22 temperature channels of hl-smi -q's list
// (on chip at most 30 °C, HBM at most 32 °C, on board at most 31 °C) and the hwmon name "HL225"
// that the sensor labels match.
func (d Device) WithSensors() Device {
	changes := map[string]string{"hwmon/hwmon3/name": "HL225\n"}
	for i, c := range gaudi2Temperatures {
		changes["hwmon/hwmon3/temp"+strconv.Itoa(i+1)+"_input"] = strconv.Itoa(c*1000) + "\n"
	}
	return d.With(changes)
}

// WriteSensorsConf installs testdata/SYNTHETIC_hl_sensors.conf as the host's sensor labels under root.
func WriteSensorsConf(t testing.TB, root string) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "testdata", "SYNTHETIC_hl_sensors.conf"))
	require.NoError(t, err)
	dir := filepath.Join(root, "etc", "sensors.d")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "hl_sensors.conf"), b, 0o644))
}
