package main

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Two runs give byte-identical files, and every dashboard has its JSON file and docs page.
func TestRenderIsDeterministic(t *testing.T) {
	a, err := render(true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := render(true)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(a, b, bytes.Equal) {
		t.Error("two renders differ")
	}
	want := []string{"README.md"}
	for _, bd := range all() {
		want = append(want, bd.file+".json", bd.file+".md")
	}
	slices.Sort(want)
	if got := slices.Sorted(maps.Keys(a)); !slices.Equal(got, want) {
		t.Errorf("render writes %q, want %q", got, want)
	}
}

func TestGenerateWritesFiles(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir, filepath.Join(dir, "docs")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hpu-monitoring.json", "training-performance.json", "infrastructure.json", "alerts.json", "docs/README.md", "docs/alerts.md"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestCursorWraps(t *testing.T) {
	var c cursor
	var got []dashboard.GridPos
	for _, w := range []uint32{12, 8, 8, 24, 6} {
		g := dashboard.GridPos{W: w, H: w / 2}
		c.place(&g)
		got = append(got, g)
	}
	want := []dashboard.GridPos{{X: 0, Y: 0, W: 12, H: 6}, {X: 12, Y: 0, W: 8, H: 4}, {X: 0, Y: 6, W: 8, H: 4}, {X: 0, Y: 10, W: 24, H: 12}, {X: 0, Y: 22, W: 6, H: 3}}
	if !slices.Equal(got, want) {
		t.Errorf("positions %+v, want %+v", got, want)
	}
}

// A panel that fails to build, or two panels with one title, fail the board instead of writing it.
func TestBuildReportsErrors(t *testing.T) {
	b := board{uid: "test-board", title: "t", rows: []row{{title: "r", panels: []panel{
		timeSeries(spec{title: "same", desc: "d", unit: "s", queries: []query{prom("up", "")}}),
		timeSeries(spec{title: "same", desc: "d", unit: "s", queries: []query{prom("up", "")}}),
		{err: errors.New("broken")},
	}}}}
	if _, err := b.build(); err == nil {
		t.Error("a board with a broken panel and a duplicate title builds")
	}
}

func TestAnchor(t *testing.T) {
	for in, want := range map[string]string{
		"Utilization map (host × HPU)":                "utilization-map-host--hpu",
		"Headroom to the device's thermal thresholds": "headroom-to-the-devices-thermal-thresholds",
		"HBM used, fraction of total":                 "hbm-used-fraction-of-total",
	} {
		if got := anchor(in); got != want {
			t.Errorf("anchor(%q) = %q, want %q", in, got, want)
		}
	}
}
