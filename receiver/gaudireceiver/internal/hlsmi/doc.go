// Package hlsmi is an HPU source that runs Intel's hl-smi tool, for nodes where libhlml cannot
// be loaded but the tool is installed.
//
// Each Read runs `hl-smi -Q <fields> -f csv,noheader,nounits` and parses the columns in the
// order asked for. hl-smi's output varies between releases, so the parser also accepts a
// header line (then the header's order is followed), values with units ("98304 MiB", "226 W",
// "36 C", "0 %") and N/A, which leaves the value invalid rather than 0.
//
// Fields and what they fill (units converted to the Device's SI units):
//
//	index                     Device.Index
//	uuid                      Device.UUID
//	name                      Info.Model
//	serial                    Info.Serial
//	module_id                 Info.ModuleID (hpu.UnknownModuleID when N/A)
//	bus_id                    Info.PCIBusID, and the -i of the NIC queries
//	driver_version            Info.DriverVersion
//	utilization.aip           Utilization (%)
//	memory.used/free/total    MemoryUsed/MemoryFree/MemoryTotal (MiB -> bytes)
//	temperature.aip           TemperatureOnChip (°C)
//	power.draw                Power (W)
//	power.max*                PowerLimit (W): the limit `hl-smi -p/--power-max` sets
//	clocks.current.soc*       ClockSoC (MHz -> Hz)
//	clocks.max.soc*           ClockSoCMax (MHz -> Hz)
//	pcie.link.gen.current*    PCIeLinkGen ("Gen4" or 4)
//	pcie.link.width.current*  PCIeLinkWidth ("x16" or 16)
//	ecc.mode.current          ECCEnabled (Enabled/Disabled)
//	ecc.errors.{corrected,uncorrected}.{volatile,aggregate}.total*
//	                          ECCErrors (counts)
//	ecc.errors.{dram-corrected,dram}.{volatile,aggregate}.total*
//	                          ECCErrorsDRAM: corrected, and uncorrected ("dram") counts
//	stats.violation.{power,thermal}*
//	                          ThrottleTimePower, ThrottleTimeThermal (a bare number is taken as
//	                          ns, as the HLML source reads HLML's violation time; a unit suffix
//	                          is honoured)
//
// Fields marked * are optional: known only from copies of `hl-smi -h` in public code, or from a
// field list that changed between releases; if hl-smi fails naming one of them, the source drops
// it and says so once in the Read error.
//
// With Options.NICLinks, NICPorts come from `hl-smi -n link -i <bus_id>` per device, each
// port's type from `hl-smi -n ports -i <bus_id>`, asked once per device. With Options.NIC, the
// ports' counters come from `hl-smi -n stats -i <bus_id>` (the driver's counters by name, as
// hlml_nic_get_statistics gives them); a port only the counters know is reported with its link
// state unknown.
//
// What no -Q field gives comes from the full report, `hl-smi -q`, one run for all devices (its
// "[N] AIP (accelN) <bus id>" blocks are matched to the -Q rows by AIP UUID, or by bus id when
// either has no UUID):
//
//	Temperature "HBM n Temp"          TemperatureHBM: the hottest stack, as HLML and hwmon report it
//	Temperature "On Board ..."        TemperatureOnBoard: the hottest of them
//	Power Readings (54V PSU)
//	  Power Limit                     PowerLimitDefault (W)
//	Replaced Rows Single/Double Bit ECC, Pending
//	                                  RowsReplacedSingle, RowsReplacedDouble, RowsPending
//
// A rail's block prints both "Power Max" and "Power Limit". -Q's power.max, which `hl-smi -p
// (--power-max)` sets, is the cap in force (PowerLimit), so Power Limit is taken as the default
// limit; the HLML header of that era (gohlml's) has no call for the cap in force, only
// hlml_device_get_power_management_default_limit. This is inferred: on the recorded idle
// device, whose cap was never set, both read 550 W. The 54 V rail's is the device's limit
// (power.max reads 850 W on a Gaudi 3, whose table shows 900 W for both rails); the 12 V rail's
// own 50 W is not reported.
//
// The expensive runs, `-n stats` and `-q`, make the slow tier: they run on one Read in
// Options.SlowEvery (the first Read that lists devices, then every SlowEvery-th), beside
// each other, and their last readings are reported in between; a run that fails leaves its
// readings invalid until the next slow turn.
//
// hl-smi cannot fill: TemperatureLimits, Energy, ThrottledPower and ThrottledThermal
// (stats.violation.* is the time throttled, not the current state), PCIeReceive, PCIeTransmit
// and PCIeReplays. They stay invalid (empty). -q also prints "Module status" and the firmware
// versions, which are not taken: a device's state must not lag a slow period behind, and the
// info metric's labels must not change whenever a -q run fails, so Operational and
// Info.FirmwareVersion stay invalid too.
//
// hl-smi runs as a child in its own process group, with a mark in its environment that its
// descendants inherit: when the scrape's context ends the group and every marked process are
// killed, and once the child exited, whatever it left behind too, also processes that left the
// group with setsid. It is always reaped; its output is capped. Its exit status and its output
// are judged apart: what a child that exited non-zero printed is parsed all the same, and the
// status reported.
package hlsmi
