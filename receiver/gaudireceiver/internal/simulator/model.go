package simulator

import "github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"

// model holds the physical facts of one Gaudi generation that the simulator needs. Facts
// marked "observed" come from real hl-smi output (../shared/reference/gaudi-telemetry.md §5);
// thermal thresholds, clocks and PCIe rates were not observed and are plausible choices.
type model struct {
	name            string
	uuidPrefix      string
	serialPrefix    string
	memoryTotal     int64   // bytes; observed 98304 / 131072 MiB
	idleMemoryUsed  int64   // bytes; observed 768 / 672 MiB
	idlePower       float64 // W; observed
	loadedPower     float64 // W at 100 % utilization
	powerLimit      float64 // W; default power management limit
	idleTemperature float64 // °C on chip; observed
	// heatPerWatt is the chip temperature rise per watt above idle.
	heatPerWatt       float64
	limits            hpu.TemperatureLimits
	clockMax          int64 // Hz
	pcieGen           int64
	pcieWidth         int64
	pcieMax           float64 // B/s each way under load
	externalPorts     []int64
	busIDs            []string // observed HLS layouts
	driverVersion     string
	firmwareVersion   string
	perDeviceWattSkew float64 // W between devices at idle; observed spread
}

const (
	mib      = 1 << 20
	nicPorts = 24 // 21 scale-up (internal) + 3 scale-out (external) on both generations
)

var models = map[string]model{
	"gaudi2": {
		name:            "HL-225",
		uuidPrefix:      "01P0-HL2080A0",
		serialPrefix:    "AM",
		memoryTotal:     98304 * mib,
		idleMemoryUsed:  768 * mib,
		idlePower:       90,
		loadedPower:     560,
		powerLimit:      600,
		idleTemperature: 27,
		heatPerWatt:     0.08,
		limits: hpu.TemperatureLimits{
			Slowdown: hpu.Some(90.0), Shutdown: hpu.Some(100.0), MemoryMax: hpu.Some(95.0), AIPMax: hpu.Some(88.0),
		},
		clockMax:          1650e6,
		pcieGen:           4,
		pcieWidth:         16,
		pcieMax:           24e9,
		externalPorts:     []int64{8, 22, 23},
		busIDs:            []string{"0000:33:00.0", "0000:34:00.0", "0000:9a:00.0", "0000:9b:00.0", "0000:4d:00.0", "0000:4e:00.0", "0000:b3:00.0", "0000:b4:00.0"},
		driverVersion:     "1.21.1-cb7a7bc",
		firmwareVersion:   "hl-1.21.1-fw-59.2.3.0",
		perDeviceWattSkew: 4,
	},
	"gaudi3": {
		name:            "HL-325L",
		uuidPrefix:      "01P4-HL3090A0",
		serialPrefix:    "AN",
		memoryTotal:     131072 * mib,
		idleMemoryUsed:  672 * mib,
		idlePower:       226,
		loadedPower:     850,
		powerLimit:      850,
		idleTemperature: 36,
		heatPerWatt:     0.06,
		limits: hpu.TemperatureLimits{
			Slowdown: hpu.Some(93.0), Shutdown: hpu.Some(103.0), MemoryMax: hpu.Some(125.0), AIPMax: hpu.Some(90.0),
		},
		clockMax:          1600e6,
		pcieGen:           5,
		pcieWidth:         16,
		pcieMax:           48e9,
		externalPorts:     []int64{8, 22, 23},
		busIDs:            []string{"0000:e9:00.0", "0000:c1:00.0", "0000:b7:00.0", "0000:ad:00.0", "0000:a3:00.0", "0000:df:00.0", "0000:d5:00.0", "0000:cb:00.0"},
		driverVersion:     "1.22.1-97ec1a4",
		firmwareVersion:   "hl-1.22.1-fw-59.2.3.0",
		perDeviceWattSkew: 1.5,
	},
}

// Models lists the model names the simulator accepts.
func Models() []string { return []string{"gaudi2", "gaudi3"} }
