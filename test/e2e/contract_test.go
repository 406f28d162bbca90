package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/doctable"
)

// contractMetric is one row of the metrics table of docs/training-metrics.md: what a training job
// sends and the name the Prometheus exporters must give it.
type contractMetric struct {
	name, instrument, unit, prometheus string
}

// readContract reads the metrics table of docs/training-metrics.md (columns: original design, OTel
// name, instrument, unit, Prometheus name); cmd/trainsim's tests check the table itself.
func readContract(t *testing.T) []contractMetric {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "training-metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	table, err := doctable.Read(string(doc), "metrics table", []string{"Original design", "OTel name", "Instrument", "Unit", "Prometheus name"})
	if err != nil {
		t.Fatal(err)
	}
	var out []contractMetric
	for _, c := range table {
		for i := range c {
			c[i] = strings.Trim(c[i], "`")
		}
		out = append(out, contractMetric{name: c[1], instrument: c[2], unit: c[3], prometheus: c[4]})
	}
	return out
}
