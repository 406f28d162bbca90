package sysfs

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

// FuzzReadAttribute replaces one attribute of a Gaudi 2's sysfs tree (the values of
// testdata/SYNTHETIC_sysfs_accel0_gaudi2.txt, the seeds) with arbitrary content and reads it.
func FuzzReadAttribute(f *testing.F) {
	const bus = "0000:43:00.0"
	dev := sysfstest.Gaudi2Device(f, 0, bus)
	names := make([]string, 0, len(dev.Attrs))
	for name := range dev.Attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		f.Add(uint8(i), dev.Attrs[name])
	}
	f.Add(uint8(0), "-5\n")
	f.Add(uint8(0), "99999999999999999\n")

	root := f.TempDir()
	sysfstest.WriteTree(f, root, dev)
	pci := filepath.Join(root, "sys", "devices", "pci0000:00", bus)
	s, err := New(Config{Root: root}, hpu.NICOptions{})
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, which uint8, content string) {
		name := names[int(which)%len(names)]
		path := filepath.Join(pci, name)
		write := func(content string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o444); err != nil {
				t.Fatal(err)
			}
		}
		write(content)
		defer write(dev.Attrs[name])

		devs, _ := s.Read(t.Context(), time.Time{}, nil)
		if len(devs) > 1 {
			t.Fatalf("%d devices", len(devs))
		}
		for _, d := range devs {
			checkRead(t, d)
		}
	})
}

// checkRead holds what a Device read from any attribute content must satisfy.
func checkRead(t *testing.T, d hpu.Device) {
	t.Helper()
	if d.Index != 0 {
		t.Fatalf("index %d", d.Index)
	}
	if !strings.HasPrefix(d.UUID, "pci-") && d.UUID != "" {
		t.Fatalf("uuid %q", d.UUID)
	}
	if d.Err != nil {
		return
	}
	if d.Info.ModuleID < hpu.UnknownModuleID {
		t.Fatalf("module id %d", d.Info.ModuleID)
	}
	for name, v := range map[string]hpu.Value[float64]{
		"temperature": d.TemperatureOnChip, "power": d.Power, "power limit": d.PowerLimit,
	} {
		if v.Valid && (math.IsNaN(v.V) || math.IsInf(v.V, 0)) {
			t.Fatalf("%s %v", name, v.V)
		}
	}
	for name, v := range map[string]hpu.Value[int64]{
		"clock": d.ClockSoC, "clock max": d.ClockSoCMax, "link generation": d.PCIeLinkGen, "link width": d.PCIeLinkWidth,
	} {
		if v.Valid && v.V < 0 {
			t.Fatalf("%s %d: negative (or overflowed)", name, v.V)
		}
	}
	if v := d.ClockSoC; v.Valid && v.V%1_000_000 != 0 {
		t.Fatalf("clock %d Hz is not a whole MHz: overflowed", v.V)
	}
}
