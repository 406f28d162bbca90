package sysfs

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// unreadable, as an attribute's content, makes the fake tree hold a directory where the file
// should be: reading it fails (EISDIR) even as root, as -ENODEV does on a real device.
const unreadable = "\x00unreadable"

// fakeDevice is one accel device of a fake sysfs tree.
type fakeDevice struct {
	accel int
	bus   string
	// attrs are the files of the PCI device directory, by path relative to it.
	attrs map[string]string
}

var fixtureLine = regexp.MustCompile(`^(\S+)\s*=\s*"([^"]*)"`)

// gaudi2Attrs are the attributes of SYNTHETIC_sysfs_accel0_gaudi2.txt for the device at bus,
// with the PCI attributes and the values the fixture leaves open added.
func gaudi2Attrs(t testing.TB, bus string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "SYNTHETIC_sysfs_accel0_gaudi2.txt"))
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

func gaudi2Device(t testing.TB, accel int, bus string) fakeDevice {
	return fakeDevice{accel: accel, bus: bus, attrs: gaudi2Attrs(t, bus)}
}

// with returns a copy of the device with attributes changed; "" removes one.
func (d fakeDevice) with(changes map[string]string) fakeDevice {
	d.attrs = maps.Clone(d.attrs)
	for k, v := range changes {
		if v == "" {
			delete(d.attrs, k)
		} else {
			d.attrs[k] = v
		}
	}
	return d
}

// withoutHwmon returns a copy of the device without its hwmon directory.
func (d fakeDevice) withoutHwmon() fakeDevice {
	d.attrs = maps.Clone(d.attrs)
	maps.DeleteFunc(d.attrs, func(k, _ string) bool { return strings.HasPrefix(k, "hwmon/") })
	return d
}

// writeTree builds the sysfs layout of devs under root, as the kernel does: the PCI device
// directory holds the attributes and an accel/accelN class device whose "device" link points
// back to it; /sys/class/accel/accelN links to the class device.
func writeTree(t testing.TB, root string, devs ...fakeDevice) {
	t.Helper()
	class := filepath.Join(root, "sys", "class", "accel")
	require.NoError(t, os.MkdirAll(class, 0o755))
	for _, d := range devs {
		pci := filepath.Join(root, "sys", "devices", "pci0000:00", d.bus)
		name := "accel" + strconv.Itoa(d.accel)
		classDev := filepath.Join(pci, "accel", name)
		require.NoError(t, os.MkdirAll(classDev, 0o755))
		// The kernel's links climb to the common ancestor and name the target.
		require.NoError(t, os.Symlink(filepath.Join("..", "..", "..", d.bus), filepath.Join(classDev, "device")))
		require.NoError(t, os.Symlink(filepath.Join("..", "..", "devices", "pci0000:00", d.bus, "accel", name), filepath.Join(class, name)))
		for rel, content := range d.attrs {
			p := filepath.Join(pci, rel)
			if content == unreadable {
				require.NoError(t, os.MkdirAll(p, 0o755))
				continue
			}
			require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
			require.NoError(t, os.WriteFile(p, []byte(content), 0o444))
		}
	}
}
