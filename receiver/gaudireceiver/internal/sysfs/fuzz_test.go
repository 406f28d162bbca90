package sysfs

import (
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

// FuzzReadAttribute replaces one attribute of a Gaudi 2's sysfs tree (the values of
// testdata/SYNTHETIC_sysfs_accel0_gaudi2.txt and an external port's netdev, the seeds) with
// arbitrary content and reads it, NIC counters and raw stats included.
func FuzzReadAttribute(f *testing.F) {
	const bus = "0000:43:00.0"
	gaudi2 := sysfstest.Gaudi2Device(f, 0, bus)
	// The netdev's files come after the others, so that the number of a crasher of testdata/fuzz
	// keeps naming the same file of the Gaudi 2's.
	names := slices.Sorted(maps.Keys(gaudi2.Attrs))
	netdev := netdevAttrs("enp67s0d8", "8", "up", 1000)
	names = append(names, slices.Sorted(maps.Keys(netdev))...)
	dev := gaudi2.With(netdev)
	for i, name := range names {
		f.Add(uint8(i), dev.Attrs[name])
	}
	f.Add(uint8(0), "-5\n")
	f.Add(uint8(0), "99999999999999999\n")

	root := f.TempDir()
	sysfstest.WriteTree(f, root, dev)
	pci := filepath.Join(root, "sys", "devices", "pci0000:00", bus)
	s, err := New(Config{Root: root}, hpu.NICOptions{Counters: true, Stats: true})
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
	checkPorts(t, d.NICPorts)
}

// checkPorts holds what the NIC ports read from any netdev content must satisfy: a port HLML's
// masks can hold, once, and counters that only count.
func checkPorts(t *testing.T, ports []hpu.NICPort) {
	t.Helper()
	var seen [hpu.MaxNICPorts]bool
	for _, p := range ports {
		if p.Port < 0 || p.Port >= hpu.MaxNICPorts || seen[p.Port] {
			t.Fatalf("port %d (ports %v)", p.Port, ports)
		}
		seen[p.Port] = true
		c := p.Counters
		for _, v := range []hpu.Value[int64]{c.ReceiveBytes, c.TransmitBytes, c.ReceivePackets, c.TransmitPackets,
			c.ReceiveErrors, c.TransmitErrors, c.ReceiveDropped, c.TransmitDropped} {
			if v.Valid && v.V < 0 {
				t.Fatalf("port %d counters %+v: negative", p.Port, c)
			}
		}
		for _, st := range p.Stats {
			if !hpu.PrintableName(st.Name) || st.Value < 0 {
				t.Fatalf("port %d stat %q = %d", p.Port, st.Name, st.Value)
			}
		}
	}
}
