package gaudireceiver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml/hlmltest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

// matrixSources are the columns of the README's source matrix, in its order.
var matrixSources = []SourceKind{SourceHLML, SourceHLSMI, SourceSysfs, SourceSimulator}

const (
	matrixBegin = "<!-- BEGIN source-matrix -->"
	matrixEnd   = "<!-- END source-matrix -->"
)

// TestSourceParity scrapes once through each source, each on the richest input its fake has,
// and checks that every metric looks the same whichever source filled it, and that the
// README's table of what each source fills is what the sources really fill.
func TestSourceParity(t *testing.T) {
	shapes := map[string]map[SourceKind]metricShape{}
	// values are the enum attribute values each source gave each metric ("hpu.sensor=on_chip").
	values := map[string]map[SourceKind]map[string]bool{}
	enums := metadataEnums(t)
	for _, kind := range matrixSources {
		ok := t.Run(string(kind), func(t *testing.T) {
			cfg := parityConfig(t, kind)
			outputs := []pmetric.Metrics{scrapeOnce(t, cfg)}
			// hpu.readings.rejected needs an impossible reading: with no temperature possible, a
			// second scrape rejects every temperature the source fills.
			cfg.Sanity.Temperature = Bounds{Min: -40, Max: -39}
			outputs = append(outputs, scrapeOnce(t, cfg))
			for _, md := range outputs {
				forEachMetric(md, func(m pmetric.Metric) {
					shape := shapeOf(t, m)
					if shapes[m.Name()] == nil {
						shapes[m.Name()] = map[SourceKind]metricShape{}
					}
					if prev, ok := shapes[m.Name()][kind]; ok {
						assert.Equal(t, prev, shape, "%s differs between two scrapes", m.Name())
					}
					shapes[m.Name()][kind] = shape
					if values[m.Name()] == nil {
						values[m.Name()] = map[SourceKind]map[string]bool{}
					}
					if values[m.Name()][kind] == nil {
						values[m.Name()][kind] = map[string]bool{}
					}
					for _, p := range numberPoints(m).All() {
						values[m.Name()][kind][enumValues(m.Name(), p.Attributes(), enums)] = true
					}
				})
			}
		})
		if !ok {
			t.Fatalf("no parity without the output of source %s", kind)
		}
	}

	t.Run("same shape from every source", func(t *testing.T) {
		for name, bySource := range shapes {
			var first SourceKind
			for _, kind := range matrixSources {
				shape, ok := bySource[kind]
				switch {
				case !ok:
				case first == "":
					first = kind
				default:
					assert.Equal(t, bySource[first], shape, "%s from %s and from %s", name, first, kind)
				}
			}
		}
	})

	t.Run("README matrix", func(t *testing.T) {
		names := metadataMetrics(t)
		for name := range shapes {
			assert.Contains(t, names, name, "emitted but not in metadata.yaml")
		}
		checkReadmeSection(t, renderMatrix(names, enums, values))
	})
}

// parityConfig configures kind on its fake: the fake library's defaults, the hl-smi fixture with
// every field and the NIC outputs, a sysfs tree of two Gaudi 2, the default simulator.
func parityConfig(t *testing.T, kind SourceKind) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Source = kind
	// Every metric, so that the matrix says what each source can fill.
	cfg.Metrics.HpuNicStat.Enabled = true
	cfg.NICCounters.Ports = NICPortsAll
	switch kind {
	case SourceHLML:
		cfg.HLML.LibraryPath = hlmltest.BuildFakeLibrary(t)
		cfg.Sysfs.Root = t.TempDir() // no hwmon: the temperatures come from the library
		t.Setenv(hlmltest.ScenarioEnv, "")
	case SourceHLSMI:
		cfg.HLSMI.Path = hlsmitest.BuildFakeHLSMI(t)
		useSyntheticHLSMI(t)
	case SourceSysfs:
		cfg.Sysfs.Root = t.TempDir()
		sysfstest.WriteTree(t, cfg.Sysfs.Root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors().With(netdev("enp67s0d8", 8)),
			sysfstest.Gaudi2Device(t, 1, "0000:44:00.0").WithSensors().With(netdev("enp68s0d22", 22)))
		sysfstest.WriteSensorsConf(t, cfg.Sysfs.Root)
	case SourceSimulator:
	default:
		t.Fatalf("no parity setup for source %q", kind)
	}
	return cfg
}

// netdev is the sysfs of an external NIC port's netdev: link up, the standard statistics.
func netdev(name string, port int) map[string]string {
	attrs := map[string]string{
		"net/" + name + "/dev_port":  fmt.Sprintf("%d\n", port),
		"net/" + name + "/operstate": "up\n",
	}
	for _, stat := range []string{"rx_bytes", "tx_bytes", "rx_packets", "tx_packets", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped", "collisions"} {
		attrs["net/"+name+"/statistics/"+stat] = "12345\n"
	}
	return attrs
}

// useSyntheticHLSMI makes the fake hl-smi replay the SYNTHETIC fixture, which has every field
// the source asks for, and answer -q, -n link and -n ports from recorded outputs (-q's is of
// the fixture's device 0).
func useSyntheticHLSMI(t *testing.T) {
	t.Helper()
	nic := t.TempDir()
	for name, fixture := range map[string]string{"link.txt": "gaudi2e_n_link.txt", "ports.txt": "gaudi2_n_ports.txt", "stats.txt": "SYNTHETIC_gaudi2_n_stats.txt"} {
		require.NoError(t, os.Symlink(hlsmitest.Fixture(fixture), filepath.Join(nic, name)))
	}
	t.Setenv(hlsmitest.EnvQuery, hlsmitest.Fixture("SYNTHETIC_gaudi2_Q_all_fields.csv"))
	t.Setenv(hlsmitest.EnvQueryCols, hlsmitest.SyntheticColumns)
	t.Setenv(hlsmitest.EnvNICDir, nic)
	t.Setenv(hlsmitest.EnvDetail, hlsmitest.Fixture("gaudi2_q_single_device.txt"))
}

// scrapeOnce starts a scraper on cfg, scrapes once without error and stops it, so that the
// next one can initialise the same backend.
func scrapeOnce(t *testing.T, cfg *Config) pmetric.Metrics {
	t.Helper()
	clock := &fakeClock{t: testStart}
	s := newTestScraper(cfg, clock.now, openSource)
	require.NoError(t, s.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { assert.NoError(t, s.shutdown(context.Background())) })
	clock.t = testStart.Add(30 * time.Second)
	md, err := s.scrape(context.Background())
	require.NoError(t, err)
	require.NoError(t, s.shutdown(context.Background()))
	return md
}

// metricShape is what must not depend on the source: everything but the values.
type metricShape struct {
	Unit, Type, ValueType string
	Temporality           string
	Monotonic             bool
	AttributeKeys         []string // the distinct key sets of the data points
}

func shapeOf(t *testing.T, m pmetric.Metric) metricShape {
	t.Helper()
	shape := metricShape{Unit: m.Unit(), Type: m.Type().String()}
	if m.Type() == pmetric.MetricTypeSum {
		shape.Temporality = m.Sum().AggregationTemporality().String()
		shape.Monotonic = m.Sum().IsMonotonic()
	}
	points := numberPoints(m)
	require.Positive(t, points.Len(), "%s emitted without number data points", m.Name())
	valueTypes := map[string]bool{}
	keySets := map[string]bool{}
	for i := range points.Len() {
		p := points.At(i)
		valueTypes[p.ValueType().String()] = true
		keySets[strings.Join(attributeKeys(p.Attributes()), ",")] = true
	}
	require.Len(t, valueTypes, 1, "%s mixes value types", m.Name())
	for vt := range valueTypes {
		shape.ValueType = vt
	}
	for keys := range keySets {
		shape.AttributeKeys = append(shape.AttributeKeys, keys)
	}
	slices.Sort(shape.AttributeKeys)
	return shape
}

// numberPoints are the data points of a gauge or a sum; the receiver emits no other types.
func numberPoints(m pmetric.Metric) pmetric.NumberDataPointSlice {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints()
	default:
		return pmetric.NewNumberDataPointSlice()
	}
}

func attributeKeys(attrs pcommon.Map) []string {
	var keys []string
	for k := range attrs.All() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func forEachMetric(md pmetric.Metrics, f func(pmetric.Metric)) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				f(m)
			}
		}
	}
}

// metadataMetrics are the metric names of metadata.yaml, in its order.
func metadataMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("metadata.yaml")
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &doc))
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "metrics" {
			continue
		}
		var names []string
		metrics := root.Content[i+1].Content
		for j := 0; j < len(metrics); j += 2 {
			names = append(names, metrics[j].Value)
		}
		return names
	}
	t.Fatal("metadata.yaml has no metrics")
	return nil
}

// renderMatrix is the README section: a row per metric, and per value of its enum attributes,
// a column per source.
func renderMatrix(names []string, enums metricEnums, values map[string]map[SourceKind]map[string]bool) string {
	var b strings.Builder
	b.WriteString("| metric | attribute values |")
	for _, kind := range matrixSources {
		fmt.Fprintf(&b, " `%s` |", kind)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(matrixSources)) + "\n")
	for _, name := range names {
		for _, combo := range enums.combinations(name) {
			label := ""
			if combo != "" {
				label = "`" + strings.ReplaceAll(combo, ",", "`, `") + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s |", name, label)
			for _, kind := range matrixSources {
				cell := "—"
				if values[name][kind][combo] {
					cell = "✓"
				}
				b.WriteString(" " + cell + " |")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\nChecked by `TestSourceParity` against real outputs of each source (the fake libhlml.so, " +
		"recorded hl-smi output, a fake sysfs tree, the simulator); " +
		"`go test ./receiver/gaudireceiver -run Parity -update` rewrites it.\n")
	return b.String()
}

// checkReadmeSection compares the README's source matrix with want, or writes it with -update.
func checkReadmeSection(t *testing.T, want string) {
	t.Helper()
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(b)
	before, rest, ok := strings.Cut(readme, matrixBegin+"\n")
	require.True(t, ok, "README.md lacks %q", matrixBegin)
	got, after, ok := strings.Cut(rest, matrixEnd)
	require.True(t, ok, "README.md lacks %q", matrixEnd)
	if *update {
		readme = before + matrixBegin + "\n" + want + matrixEnd + after
		require.NoError(t, os.WriteFile("README.md", []byte(readme), 0o644))
		return
	}
	assert.Equal(t, want, got, "README.md's source matrix is stale: go test ./receiver/gaudireceiver -run Parity -update")
}

// metricEnums are, per metric, its enum attributes with their values, from metadata.yaml.
type metricEnums struct {
	attrs    map[string][]string // enum attribute -> values
	byMetric map[string][]string // metric -> its enum attributes, in its order
}

// metadataEnums reads the enum attributes of metadata.yaml.
func metadataEnums(t *testing.T) metricEnums {
	t.Helper()
	b, err := os.ReadFile("metadata.yaml")
	require.NoError(t, err)
	var md struct {
		Attributes map[string]struct {
			Enum []string `yaml:"enum"`
		} `yaml:"attributes"`
		Metrics map[string]struct {
			Attributes []string `yaml:"attributes"`
		} `yaml:"metrics"`
	}
	require.NoError(t, yaml.Unmarshal(b, &md))
	e := metricEnums{attrs: map[string][]string{}, byMetric: map[string][]string{}}
	for name, a := range md.Attributes {
		if len(a.Enum) > 0 {
			e.attrs[name] = a.Enum
		}
	}
	for name, m := range md.Metrics {
		for _, a := range m.Attributes {
			if e.attrs[a] != nil {
				e.byMetric[name] = append(e.byMetric[name], a)
			}
		}
	}
	return e
}

// combinations lists every combination of the metric's enum attribute values, in metadata.yaml's
// order, as enumValues renders them; "" for a metric without enum attributes.
func (e metricEnums) combinations(metric string) []string {
	combos := []string{""}
	for _, attr := range e.byMetric[metric] {
		var next []string
		for _, c := range combos {
			for _, v := range e.attrs[attr] {
				next = append(next, strings.TrimPrefix(c+","+attr+"="+v, ","))
			}
		}
		combos = next
	}
	return combos
}

// enumValues renders a data point's enum attribute values as combinations does.
func enumValues(metric string, attrs pcommon.Map, e metricEnums) string {
	var parts []string
	for _, k := range e.byMetric[metric] {
		v, _ := attrs.Get(k)
		parts = append(parts, k+"="+v.Str())
	}
	return strings.Join(parts, ",")
}
