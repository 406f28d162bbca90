package gaudireceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

// scriptedSource answers each Read with the next of its reads, the last one again at the end.
type scriptedSource struct {
	reads []scriptedRead
	n     int
}

type scriptedRead struct {
	devices []hpu.Device
	err     error
}

func (*scriptedSource) Name() string                   { return "scripted" }
func (*scriptedSource) Start(context.Context) error    { return nil }
func (*scriptedSource) Shutdown(context.Context) error { return nil }
func (s *scriptedSource) Read(_ context.Context, _ time.Time, dst []hpu.Device) ([]hpu.Device, error) {
	r := s.reads[min(s.n, len(s.reads)-1)]
	s.n++
	return append(dst, r.devices...), r.err
}

// startScripted starts a scraper on src, configured as configure says, logging to the returned
// observer.
func startScripted(t testing.TB, src hpu.Source, configure ...func(*Config)) (*gaudiScraper, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.WarnLevel)
	cfg := simulatorConfig()
	for _, c := range configure {
		c(cfg)
	}
	set := receiverSettings()
	set.Logger = zap.New(core)
	s := newGaudiScraper(cfg, set, time.Now, &sharedSource{cfg: cfg, now: time.Now, tel: set.TelemetrySettings, open: fixed(src)})
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, s.shutdown(context.Background())) })
	return s, logs
}

// requirePrintable fails on any attribute value of md that is not printable text.
func requirePrintable(t *testing.T, md pmetric.Metrics) {
	t.Helper()
	for _, bad := range unprintable(md) {
		t.Error(bad)
	}
}

// unprintable lists the string attributes of md that are not printable text.
func unprintable(md pmetric.Metrics) []string {
	var bad []string
	check := func(where string, attrs pcommon.Map) {
		for k, v := range attrs.All() {
			if v.Type() == pcommon.ValueTypeStr && hpu.CheckText(v.Str()) != "" {
				bad = append(bad, fmt.Sprintf("%s: attribute %s = %q", where, k, v.Str()))
			}
		}
	}
	for i := range md.ResourceMetrics().Len() {
		check("resource", md.ResourceMetrics().At(i).Resource().Attributes())
	}
	forEachMetric(md, func(m pmetric.Metric) {
		forEachAttributes(m, func(attrs pcommon.Map) { check(m.Name(), attrs) })
	})
	return bad
}

// health is each device's hpu.health series at 1, as "index/uuid": state.
func health(md pmetric.Metrics) map[string]string {
	states := map[string]string{}
	for _, p := range numberPoints(findMetricIn(md, "hpu.health")).All() {
		if p.IntValue() != 1 {
			continue
		}
		attrs := p.Attributes().AsRaw()
		key := fmt.Sprintf("%v/%v", attrs["hpu.index"], attrs["hpu.uuid"])
		if old, dup := states[key]; dup {
			states[key] = old + "+" + attrs["hpu.state"].(string)
		} else {
			states[key] = attrs["hpu.state"].(string)
		}
	}
	return states
}

func findMetricIn(md pmetric.Metrics, name string) pmetric.Metric {
	if m := lookupMetric(md, name); m != nil {
		return *m
	}
	return pmetric.NewMetric()
}

// The strings of a replayed garbled hl-smi row and of a broken library: NUL and DEL, terminal
// escape sequences, invalid UTF-8, a bidirectional override, a string longer than any real one.
func TestIdentityStringsAreChecked(t *testing.T) {
	good := func(index int64) hpu.Device {
		return hpu.Device{Index: index, UUID: fmt.Sprintf("01P0-HL2080A0-15-TF8A8%d", index), Power: hpu.Some(100.0),
			Info: hpu.Info{Model: "HL-225", Serial: "AM5001613" + fmt.Sprint(index), PCIBusID: "0000:43:00.0", DriverVersion: "1.12.1-cb7a7bc", ModuleID: index}}
	}
	clean := []hpu.Device{good(0), good(1), good(2), good(3), good(4)}
	garbled := []hpu.Device{good(0), good(1), good(2), good(3), good(4), good(3), good(2000)}
	garbled[0].UUID = "01P0-HL2\x00\x7fA81"
	garbled[1].Info.Serial = "AM\x1b[2J\x1b]0;pwned\x07"
	garbled[1].Info.Model = "HL-\u202e522"
	garbled[2].UUID = "01P0-\xff\xfe-bad"
	garbled[3].Info.DriverVersion = "1.12\x1b[31mred"
	garbled[4].Info.FirmwareVersion = string(make([]byte, hpu.MaxTextLen+1))
	garbled[4].NICPorts = []hpu.NICPort{{Port: 8, External: true, Up: hpu.Some(true),
		Stats: []hpu.NICStat{{Name: "rx_\x1b[2Jbytes", Value: 1}, {Name: "etherStatsOctets", Value: 2}}}}
	garbled[5].UUID = "shifted" // index 3 listed twice

	src := &scriptedSource{reads: []scriptedRead{{devices: garbled}, {devices: clean}, {devices: garbled}}}
	s, logs := startScripted(t, src, func(cfg *Config) { cfg.Metrics.HpuNicStat.Enabled = true })

	md, err := s.scrape(context.Background())
	requirePrintable(t, md)
	for _, want := range []string{
		`hpu 0 (): unusable identity: uuid "01P0-HL2\x00\x7fA81" is unprintable character U+0000 (byte 8)`,
		`hpu 2 (): unusable identity: uuid "01P0-\xff\xfe-bad" is not valid UTF-8 (byte 5)`,
		`hpu 3 (01P0-HL2080A0-15-TF8A83): the source listed this index more than once in one read (uuid "01P0-HL2080A0-15-TF8A83", then "shifted")`,
		"index 2000",
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.Equal(t, map[string]string{
		"0/": "failed", "1/01P0-HL2080A0-15-TF8A81": "ok", "2/": "failed", "3/01P0-HL2080A0-15-TF8A83": "failed", "4/01P0-HL2080A0-15-TF8A84": "ok",
	}, health(md), "nothing is known of devices 0 and 2 yet, so they are failed without a UUID")
	info := map[string]map[string]any{}
	for _, p := range numberPoints(findMetric(t, md, "hpu.info")).All() {
		attrs := p.Attributes().AsRaw()
		info[fmt.Sprint(attrs["hpu.index"])] = attrs
	}
	require.Len(t, info, 2, "only the readable devices 1 and 4 have hpu.info")
	assert.Equal(t, "", info["1"]["hpu.serial"])
	assert.Equal(t, "", info["1"]["hpu.model"])
	assert.Equal(t, "1.12.1-cb7a7bc", info["1"]["hpu.driver.version"], "the device's other strings stay")
	assert.Equal(t, "", info["4"]["hpu.firmware.version"], "too long")
	assert.Equal(t, map[string]float64{"1/hpu.info": 2, "4/hpu.info": 1, "4/hpu.nic.stat": 1}, values(md, "hpu.readings.rejected", "hpu.metric"),
		"each dropped string is counted")
	assert.Equal(t, map[string]float64{"4/etherStatsOctets": 2}, values(md, "hpu.nic.stat", "hpu.nic.stat.name"),
		"only the printable NIC counter name is passed on")
	assert.Equal(t, 1, logs.FilterMessageSnippet("HPU string that is not printable").FilterField(zap.Int64("hpu.index", 1)).Len(), "logged once per device")

	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	requirePrintable(t, md)
	assert.Len(t, health(md), 5)

	// Now that the devices are known, the garbled ones fail under their last valid UUID, so
	// their series continue.
	md, err = s.scrape(context.Background())
	require.Error(t, err)
	requirePrintable(t, md)
	assert.Equal(t, map[string]string{
		"0/01P0-HL2080A0-15-TF8A80": "failed", "1/01P0-HL2080A0-15-TF8A81": "ok", "2/01P0-HL2080A0-15-TF8A82": "failed",
		"3/01P0-HL2080A0-15-TF8A83": "failed", "4/01P0-HL2080A0-15-TF8A84": "ok",
	}, health(md))
	assert.Equal(t, 1, logs.FilterMessageSnippet("HPU string that is not printable").FilterField(zap.Int64("hpu.index", 1)).Len(), "still logged once")
}

// A whole read that fails leaves no device in its last state: every device seen is unknown at
// once. A device missing from a read that did not fail is unknown too, and an error.
func TestDevicesNotReadAreUnknown(t *testing.T) {
	dev := func(index int64, uuid string) hpu.Device {
		return hpu.Device{Index: index, UUID: uuid, Power: hpu.Some(100.0)}
	}
	src := &scriptedSource{reads: []scriptedRead{
		{devices: []hpu.Device{dev(0, "u0"), dev(1, "u1"), dev(2, "u2")}},
		{err: errors.New("hl-smi: killed: context deadline exceeded")},
		{devices: []hpu.Device{dev(0, "u0"), dev(1, "u1")}},
		{devices: []hpu.Device{dev(0, "u0"), dev(1, "u1-new"), dev(2, "u2")}},
		{devices: []hpu.Device{dev(0, "u0"), dev(1, "u1-new"), dev(2, "u2")}},
	}}
	s, _ := startScripted(t, src)
	errorsTotal := func(md pmetric.Metrics) int64 {
		return findMetric(t, md, "hpu.scrape.errors").Sum().DataPoints().At(0).IntValue()
	}

	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"0/u0": "ok", "1/u1": "ok", "2/u2": "ok"}, health(md))

	md, err = s.scrape(context.Background())
	require.ErrorContains(t, err, "killed")
	assert.Equal(t, map[string]string{"0/u0": "unknown", "1/u1": "unknown", "2/u2": "unknown"}, health(md),
		"the failed read leaves every device unknown, not ok")
	assert.Equal(t, int64(1), errorsTotal(md), "the failed read is one error")
	assert.Equal(t, int64(0), findMetric(t, md, "hpu.devices").Gauge().DataPoints().At(0).IntValue())

	md, err = s.scrape(context.Background())
	requirePartialError(t, err, "hpu 2 (u2): missing from the source's read; its health is unknown")
	assert.Equal(t, map[string]string{"0/u0": "ok", "1/u1": "ok", "2/u2": "unknown"}, health(md))
	assert.Equal(t, int64(2), errorsTotal(md))

	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"0/u0": "ok", "1/u1": "unknown", "1/u1-new": "ok", "2/u2": "ok"}, health(md),
		"a replaced identity is reported unknown once")
	md, err = s.scrape(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"0/u0": "ok", "1/u1-new": "ok", "2/u2": "ok"}, health(md))
}

func TestEventWithUnprintableTextKeepsItsRecord(t *testing.T) {
	logs := eventLogs([]hpu.Event{
		{Index: 3, UUID: "01P4\x1b[2J", Kind: hpu.EventCritical},
		{Index: 4, UUID: "01P4-HL3090A0-18-U4V193-22-07-04", Kind: hpu.EventDRAM},
		{Index: 5, UUID: "u5", Kind: "\x00\xff"},
	}, pcommon.NewResource())
	records := logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, records.Len(), "no event is dropped")
	for i, want := range []map[string]any{
		{"hpu.index": int64(3), "hpu.uuid": "", "hpu.event": "critical"},
		{"hpu.index": int64(4), "hpu.uuid": "01P4-HL3090A0-18-U4V193-22-07-04", "hpu.event": "dram"},
		{"hpu.index": int64(5), "hpu.uuid": "u5", "hpu.event": "unknown"},
	} {
		assert.Equal(t, want, records.At(i).Attributes().AsRaw())
	}
	assert.Equal(t, plog.SeverityNumberFatal, records.At(0).SeverityNumber())
	assert.Equal(t, "HPU 5: unknown", records.At(2).Body().Str())
}

// FuzzScrapeIdentity feeds a device with arbitrary identity strings, beside a clean one, through
// a scrape: no attribute is ever unprintable, and each device named has one health state.
func FuzzScrapeIdentity(f *testing.F) {
	f.Add(int64(0), "01P4-HL3090A0-18-U4V193-22-07-00", "HL-325L", "AM50016138", "0000:43:00.0", "1.22.1-97ec1a4", "Linux gaudi3 5.10.18")
	f.Add(int64(1), "01P0-HL2\x00\x7fA81", "HL-\u202e522", "AM\x1b[2J\x1b]0;pwned\x07", "--reset", "1.12\x1b[31mred", "\xff\xfe")
	f.Add(int64(-1), "", "", "", "", "", "")
	f.Add(int64(7), "u7", "", "", "", "", "")
	src := &scriptedSource{reads: []scriptedRead{{}}}
	s, _ := startScripted(f, src)
	f.Fuzz(func(t *testing.T, index int64, uuid, model, serial, bus, driver, firmware string) {
		fuzzed := hpu.Device{Index: index, UUID: uuid, Power: hpu.Some(100.0),
			Info: hpu.Info{Model: model, Serial: serial, PCIBusID: bus, DriverVersion: driver, FirmwareVersion: firmware}}
		src.reads[0].devices = []hpu.Device{fuzzed, {Index: 7, UUID: "u7", Power: hpu.Some(100.0)}}
		md, _ := s.scrape(context.Background())
		if bad := unprintable(md); len(bad) > 0 {
			t.Fatal(bad)
		}
		for key, states := range health(md) {
			if strings.Contains(states, "+") {
				t.Fatalf("device %s is %s at once", key, states)
			}
		}
		if len(s.tracker.known) > maxIndex+1 {
			t.Fatalf("%d devices remembered", len(s.tracker.known))
		}
	})
}

// Garbage from each real source, through its fake, reaches no attribute: a garbage UUID fails its
// device, a garbage descriptive string is left out of hpu.info.
func TestGarbageFromEverySource(t *testing.T) {
	for _, tt := range []struct {
		kind  SourceKind
		setup func(t *testing.T, cfg *Config)
		// failed is the device whose UUID is garbage; blank is the hpu.info attribute left empty
		// on device described.
		failed, described int64
		blank             string
	}{
		{SourceHLML, func(t *testing.T, _ *Config) {
			t.Setenv(hlmltest.ScenarioEnv, hlmltest.WriteScenario(t,
				"device 2 uuid 01P4-\x1b[2J\xff", "device 3 serial AM\x7f\x1b]0;x\x07", "device 5 name HL-\u202e523"))
		}, 2, 3, "hpu.serial"},
		{SourceHLSMI, func(t *testing.T, _ *Config) {
			b, err := os.ReadFile(hlsmitest.Fixture("SYNTHETIC_gaudi2_Q_all_fields.csv"))
			require.NoError(t, err)
			garbled := strings.NewReplacer("01P0-HL2080A0-15-TF8A81-09-07-06", "01P0-HL2\x00\x7fA81",
				"AM50016163, 3, 0000:19:00.0, 1.12.1-cb7a7bc", "AM50016163, 3, 0000:19:00.0, 1.12\x1b[31m").Replace(string(b))
			path := filepath.Join(t.TempDir(), "garbled.csv")
			require.NoError(t, os.WriteFile(path, []byte(garbled), 0o600))
			t.Setenv(hlsmitest.EnvQuery, path)
		}, 0, 3, "hpu.driver.version"},
		{SourceSysfs, func(t *testing.T, cfg *Config) {
			cfg.Sysfs.Root = t.TempDir()
			sysfstest.WriteTree(t, cfg.Sysfs.Root,
				sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").With(map[string]string{"driver_ver": "1.12\xff\xfe\n"}),
				sysfstest.Gaudi2Device(t, 1, "0000:44:00.0").With(map[string]string{"pci_addr": "0000:44:00.0\x1b[1m\n"}))
		}, 1, 0, "hpu.driver.version"},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			cfg := parityConfig(t, tt.kind)
			tt.setup(t, cfg)
			s := newTestScraper(cfg, time.Now, openSource)
			require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(t, s.shutdown(context.Background())) }()

			md, err := s.scrape(context.Background())
			assert.ErrorContains(t, err, fmt.Sprintf("hpu %d (): unusable identity: uuid ", tt.failed))
			requirePrintable(t, md)
			assert.Equal(t, "failed", health(md)[fmt.Sprintf("%d/", tt.failed)])
			var found bool
			for _, p := range numberPoints(findMetric(t, md, "hpu.info")).All() {
				if index, _ := p.Attributes().Get("hpu.index"); index.Int() == tt.described {
					found = true
					blank, _ := p.Attributes().Get(tt.blank)
					assert.Empty(t, blank.Str())
					model, _ := p.Attributes().Get("hpu.model")
					assert.NotEmpty(t, model.Str(), "the device's other strings stay")
				}
			}
			assert.True(t, found, "hpu.info of device %d", tt.described)
		})
	}
}
