package gaudireceiver

import (
	"errors"
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
)

// Bounds is the range of physically possible values of a reading.
type Bounds struct {
	Min float64 `mapstructure:"min"`
	Max float64 `mapstructure:"max"`
	_   struct{}
}

func (b Bounds) contains(v float64) bool { return v >= b.Min && v <= b.Max }

func (b Bounds) validate(name string) error {
	if b.Min >= b.Max {
		return fmt.Errorf("%s: min (%g) must be below max (%g)", name, b.Min, b.Max)
	}
	return nil
}

// PowerBounds adds a bound relative to the device's own power limit: a 600 W card reporting
// 1900 W has been seen in the field, and no absolute bound catches that on every model.
type PowerBounds struct {
	Bounds `mapstructure:",squash"`
	// LimitRatio drops power draws above this multiple of the device's power limit; 0 disables it.
	LimitRatio float64 `mapstructure:"limit_ratio"`
}

// SanityConfig bounds the readings passed on as truth; devices do report impossible values
// (a 505712272 °C temperature has been seen), and one such value ruins a dashboard or an alert.
type SanityConfig struct {
	Temperature Bounds      `mapstructure:"temperature"`
	Power       PowerBounds `mapstructure:"power"`
	Utilization Bounds      `mapstructure:"utilization"`
	_           struct{}
}

func defaultSanityConfig() SanityConfig {
	return SanityConfig{
		Temperature: Bounds{Min: -40, Max: 150},
		Power:       PowerBounds{Bounds: Bounds{Min: 0, Max: 2000}, LimitRatio: 1.5},
		Utilization: Bounds{Min: 0, Max: 100},
	}
}

// Validate implements confmap.Validator.
func (c *SanityConfig) Validate() error {
	errs := []error{
		c.Temperature.validate("temperature"),
		c.Power.validate("power"),
		c.Utilization.validate("utilization"),
	}
	if c.Power.LimitRatio < 0 {
		errs = append(errs, fmt.Errorf("power: limit_ratio must not be negative, got %g", c.Power.LimitRatio))
	}
	return errors.Join(errs...)
}

type rejectKey struct {
	index  int64
	uuid   string
	metric string
}

// sanitizer drops impossible readings from devices and counts them per device and metric.
// Its state is bounded by devices × checked metrics.
type sanitizer struct {
	cfg      SanityConfig
	logger   *zap.Logger
	rejected map[rejectKey]int64
}

func newSanitizer(cfg SanityConfig, logger *zap.Logger) *sanitizer {
	return &sanitizer{cfg: cfg, logger: logger, rejected: map[rejectKey]int64{}}
}

// check invalidates the impossible readings of d and clears its unprintable strings.
func (s *sanitizer) check(d *hpu.Device) {
	s.checkText(d)
	temp := s.cfg.Temperature
	s.float(d, "hpu.temperature", &d.TemperatureOnChip, temp.contains)
	s.float(d, "hpu.temperature", &d.TemperatureOnBoard, temp.contains)
	limits := &d.TemperatureLimits
	for _, l := range []*hpu.Value[float64]{&limits.Slowdown, &limits.Shutdown, &limits.MemoryMax, &limits.AIPMax} {
		s.float(d, "hpu.temperature.limit", l, temp.contains)
	}
	s.float(d, "hpu.memory.temperature", &d.TemperatureHBM, temp.contains)
	s.float(d, "hpu.power.limit", &d.PowerLimit, s.cfg.Power.contains)
	s.float(d, "hpu.power.limit.default", &d.PowerLimitDefault, s.cfg.Power.contains)
	s.float(d, "hpu.power", &d.Power, func(v float64) bool {
		if !s.cfg.Power.contains(v) {
			return false
		}
		// Against the cap in force, or the default limit where the source cannot tell the cap.
		limit := d.PowerLimit
		if !limit.Valid {
			limit = d.PowerLimitDefault
		}
		return s.cfg.Power.LimitRatio == 0 || !limit.Valid || v <= s.cfg.Power.LimitRatio*limit.V
	})
	s.float(d, "hpu.utilization", &d.Utilization, s.cfg.Utilization.contains)
	if d.MemoryUsed.Valid && d.MemoryTotal.Valid && (d.MemoryUsed.V < 0 || d.MemoryUsed.V > d.MemoryTotal.V) {
		s.reject(d, "hpu.memory.used", float64(d.MemoryUsed.V))
		d.MemoryUsed.Valid = false
		d.MemoryFree.Valid = false
	}
}

// checkText clears the descriptive strings of d that are not printable text (hpu.CheckText), so
// that they never reach hpu.info's attributes, and counts them as rejected hpu.info readings.
// They only describe the device: an unprogrammed serial EEPROM (all 0xFF) must not fail it. A
// raw NIC counter whose name is not printable is dropped the same way (the sources check the
// names too; this is where every source's text passes).
func (s *sanitizer) checkText(d *hpu.Device) {
	info := &d.Info
	for _, f := range [...]struct {
		attr string
		v    *string
	}{
		{"hpu.model", &info.Model},
		{"hpu.serial", &info.Serial},
		{"hpu.pci.bus_id", &info.PCIBusID},
		{"hpu.driver.version", &info.DriverVersion},
		{"hpu.firmware.version", &info.FirmwareVersion},
	} {
		if reason := hpu.CheckText(*f.v); reason != "" {
			s.rejectText(d, "hpu.info", f.attr, *f.v, reason)
			*f.v = ""
		}
	}
	for i := range d.NICPorts {
		p := &d.NICPorts[i]
		p.Stats = slices.DeleteFunc(p.Stats, func(st hpu.NICStat) bool {
			reason := hpu.CheckText(st.Name)
			if reason != "" {
				s.rejectText(d, "hpu.nic.stat", "hpu.nic.stat.name", st.Name, reason)
			}
			return reason != ""
		})
	}
}

// rejectText counts a string dropped from metric's attribute attr, and logs it once per device
// and metric.
func (s *sanitizer) rejectText(d *hpu.Device, metric, attr, value, reason string) {
	key := rejectKey{index: d.Index, uuid: d.UUID, metric: metric}
	if s.rejected[key] == 0 {
		s.logger.Warn("Dropping an HPU string that is not printable text; further ones for this device and metric are only counted",
			zap.Int64("hpu.index", d.Index), zap.String("hpu.uuid", d.UUID), zap.String("attribute", attr),
			zap.String("value", hpu.QuoteText(value)), zap.String("reason", reason))
	}
	s.rejected[key]++
}

func (s *sanitizer) float(d *hpu.Device, metric string, v *hpu.Value[float64], ok func(float64) bool) {
	if v.Valid && !ok(v.V) {
		s.reject(d, metric, v.V)
		v.Valid = false
	}
}

func (s *sanitizer) reject(d *hpu.Device, metric string, value float64) {
	key := rejectKey{index: d.Index, uuid: d.UUID, metric: metric}
	if s.rejected[key] == 0 {
		// Once per device and metric: a broken sensor would otherwise log on every scrape.
		s.logger.Warn("Dropping an impossible HPU reading; further ones for this device and metric are only counted",
			zap.Int64("hpu.index", d.Index), zap.String("hpu.uuid", d.UUID), zap.String("metric", metric), zap.Float64("value", value))
	}
	s.rejected[key]++
}

func (s *sanitizer) record(mb *metadata.MetricsBuilder, ts pcommon.Timestamp) {
	for key, n := range s.rejected {
		mb.RecordHpuReadingsRejectedDataPoint(ts, n, key.index, key.uuid, key.metric)
	}
}
