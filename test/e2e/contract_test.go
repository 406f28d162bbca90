package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// contractMetric is one row of the metrics table of docs/training-metrics.md: what a training job
// sends and the name the Prometheus exporters must give it.
type contractMetric struct {
	name, instrument, unit, prometheus string
}

var contractTable = regexp.MustCompile(`(?s)<!-- BEGIN metrics table[^>]*-->\n(.*?)<!-- END metrics table -->`)

// readContract reads the metrics table of docs/training-metrics.md (columns: original design, OTel
// name, instrument, unit, Prometheus name); cmd/trainsim's tests check the table itself.
func readContract(t *testing.T) []contractMetric {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "training-metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := contractTable.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/training-metrics.md has no metrics table")
	}
	var out []contractMetric
	for _, line := range strings.Split(strings.TrimSpace(string(m[1])), "\n")[2:] {
		cells := strings.Split(strings.Trim(line, "| "), "|")
		if len(cells) != 5 {
			t.Fatalf("metrics table row %q has %d cells, want 5", line, len(cells))
		}
		for i, c := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(c), "`")
		}
		out = append(out, contractMetric{name: cells[1], instrument: cells[2], unit: cells[3], prometheus: cells[4]})
	}
	return out
}
