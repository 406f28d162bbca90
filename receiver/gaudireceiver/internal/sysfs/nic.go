package sysfs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// netdevCounters are the standard netdev statistics that hpu.NICCounters holds; the other files
// of a netdev's statistics directory are raw NICStats.
var netdevCounters = map[string]func(*hpu.NICCounters) *hpu.Value[int64]{
	"rx_bytes":   func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.ReceiveBytes },
	"tx_bytes":   func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.TransmitBytes },
	"rx_packets": func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.ReceivePackets },
	"tx_packets": func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.TransmitPackets },
	"rx_errors":  func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.ReceiveErrors },
	"tx_errors":  func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.TransmitErrors },
	"rx_dropped": func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.ReceiveDropped },
	"tx_dropped": func(c *hpu.NICCounters) *hpu.Value[int64] { return &c.TransmitDropped },
}

// nicPorts reads the external (scale-out) NIC ports, the only ones the driver makes netdevs of:
// net/<ifname> under the PCI device. The port is the netdev's dev_port (which the "d<N>" of its
// predictable name, e.g. enp179s0d8, is made from), its link state operstate, its counters the
// netdev's statistics. The internal ports have no netdev and stay unknown to this source. A
// dev_port beyond the port masks is reported and the name's d<N> used instead; a port that a
// second netdev claims again is reported and skipped, so that no port has two series.
func (s *Source) nicPorts(r *attrReader) []hpu.NICPort {
	dir, err := r.root.Open("net")
	if err != nil {
		return nil
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil
	}
	slices.Sort(names)
	var ports []hpu.NICPort
	var seen [hpu.MaxNICPorts]bool
	for _, ifname := range names {
		port, ok := r.int("net/" + ifname + "/dev_port")
		if ok && (port < 0 || port >= hpu.MaxNICPorts) {
			r.errs = append(r.errs, fmt.Errorf("%s net/%s/dev_port: port %d is not in 0-%d", r.device, ifname, port, hpu.MaxNICPorts-1))
			ok = false
		}
		if !ok {
			port, ok = portFromName(ifname)
		}
		if !ok {
			continue
		}
		if seen[port] {
			r.errs = append(r.errs, fmt.Errorf("%s net/%s: port %d is another netdev's already", r.device, ifname, port))
			continue
		}
		seen[port] = true
		p := hpu.NICPort{Port: port, External: true}
		switch state, _ := r.text("net/" + ifname + "/operstate"); state {
		case "up":
			p.Up = hpu.Some(true)
		case "down", "lowerlayerdown", "dormant":
			p.Up = hpu.Some(false)
		}
		if s.nic.Wanted(true) {
			s.netdevStatistics(r, "net/"+ifname+"/statistics", &p)
		}
		ports = append(ports, p)
	}
	slices.SortFunc(ports, func(a, b hpu.NICPort) int { return int(a.Port - b.Port) })
	return ports
}

// portFromName is N of an interface name ending in "d<N>".
func portFromName(ifname string) (int64, bool) {
	i := strings.LastIndexByte(ifname, 'd')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(ifname[i+1:], 10, 64)
	return n, err == nil && n >= 0 && n < hpu.MaxNICPorts
}

func (s *Source) netdevStatistics(r *attrReader, dir string, p *hpu.NICPort) {
	d, err := r.root.Open(dir)
	if err != nil {
		return
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return
	}
	slices.Sort(names)
	for _, name := range names {
		field, counter := netdevCounters[name]
		if !counter && (!hpu.PrintableName(name) || !s.nic.KeepStat(name)) {
			continue
		}
		v, ok := r.count(dir + "/" + name)
		if !ok {
			continue
		}
		if counter {
			*field(&p.Counters) = hpu.Some(v)
		} else {
			p.Stats = append(p.Stats, hpu.NICStat{Name: name, Value: v})
		}
	}
}
