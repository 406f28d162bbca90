package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJSONLinesAsOriginalDesign writes records in the original design's StructuredFormatter format:
// its keys in its order, and its timestamp format.
func TestJSONLinesAsOriginalDesign(t *testing.T) {
	var buf bytes.Buffer
	j := &jsonLines{w: &buf}
	at := time.Date(2026, 5, 4, 9, 12, 31, 481220000, time.FixedZone("CEST", 2*3600))
	require.NoError(t, j.write(logRecord{time: at, level: levelWarning, message: `slow "batch"`, site: site{"trainer", "train_step", 164}, hpuID: 2, batchIdx: 41}))
	require.NoError(t, j.write(logRecord{time: at, level: levelCritical, message: "lost", site: site{"trainer", "train_step", 187}}))

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, `{"timestamp":"2026-05-04T07:12:31.481220","level":"WARNING","logger":"gaudi3_scale","message":"slow \"batch\"",`+
		`"module":"trainer","function":"train_step","line":164,"hpu_id":2,"batch_idx":41}`, lines[0])
	var second map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &second))
	assert.Equal(t, "CRITICAL", second["level"])
}

func TestLevels(t *testing.T) {
	for l, want := range map[level]struct {
		text     string
		severity int
	}{
		levelDebug:    {"DEBUG", 5},
		levelInfo:     {"INFO", 9},
		levelWarning:  {"WARNING", 13},
		levelError:    {"ERROR", 17},
		levelCritical: {"CRITICAL", 21},
	} {
		assert.Equal(t, want.text, l.text())
		assert.Equal(t, want.severity, int(l.severity()), want.text)
	}
}
