package hlsmitest

import "path/filepath"

// Columns of the fixtures without a header line, comma-separated as EnvQueryCols wants them:
// the fake needs them to answer a -Q in any field order.
const (
	// Gaudi3Columns are those of gaudi3_Q_noheader_units.csv, as all-smi asks for them.
	Gaudi3Columns = "index,uuid,name,driver_version,memory.total,memory.used,memory.free,power.draw,power.max,temperature.aip,utilization.aip"
	// SyntheticColumns are those of SYNTHETIC_gaudi2_Q_all_fields.csv: every field the hlsmi
	// source asks for, in its order.
	SyntheticColumns = "index,uuid,name,serial,module_id,bus_id,driver_version,utilization.aip,memory.used,memory.free," +
		"memory.total,temperature.aip,power.draw,power.max,clocks.current.soc,clocks.max.soc,pcie.link.gen.current," +
		"pcie.link.width.current,ecc.mode.current,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total," +
		"ecc.errors.corrected.aggregate.total,ecc.errors.uncorrected.aggregate.total,ecc.errors.dram-corrected.volatile.total," +
		"ecc.errors.dram.volatile.total,ecc.errors.dram-corrected.aggregate.total,ecc.errors.dram.aggregate.total," +
		"stats.violation.power,stats.violation.thermal"
)

// Fixture is the absolute path of a recorded hl-smi output in internal/hlsmi/testdata (its
// README.md lists them).
func Fixture(name string) string {
	return filepath.Join(sourceDir(), "..", "testdata", name)
}
