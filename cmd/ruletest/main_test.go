package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunPassing(t *testing.T) {
	var out bytes.Buffer
	code := run([]string{"testdata/pass.test.yaml"}, &out)
	assert.Equal(t, 0, code, out.String())
	assert.Equal(t, "Unit Testing:  testdata/pass.test.yaml\n  SUCCESS\n\n", out.String())
}

func TestRunFailing(t *testing.T) {
	var out bytes.Buffer
	code := run([]string{"testdata/pass.test.yaml", "testdata/fail.test.yaml"}, &out)
	assert.Equal(t, 1, code)
	want := `Unit Testing:  testdata/pass.test.yaml
  SUCCESS

Unit Testing:  testdata/fail.test.yaml
  FAILED:
    test 1: expr: "hpu:temperature:max", time: 2m,
        exp: [{__name__="hpu:temperature:max", hpu_index="0"} 85],
        got: [{__name__="hpu:temperature:max", hpu_index="0"} 86]
    test 1: alertname: HPUHighTemperature, time: 2m15s,
        exp: [{labels: {alertname="HPUHighTemperature", hpu_index="0", hpu_sensor="on_chip", severity="critical"}, annotations: {description="HPU 0 at 87°C"}}],
        got: [{labels: {alertname="HPUHighTemperature", hpu_index="0", hpu_sensor="on_chip", severity="critical"}, annotations: {description="HPU 0 at 86°C"}}]
    test 1: alertname: HPUHot, time: 2m30s,
        exp: [],
        got: [{labels: {alertname="HPUHot", hpu="hpu-0", hpu_index="0", hpu_sensor="on_chip", severity="warning"}, annotations: {}}]

`
	assert.Equal(t, want, out.String())
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no arguments", nil, 2, "usage: ruletest FILE.test.yaml...\n"},
		{"missing file", []string{"testdata/none.test.yaml"}, 1, "no such file or directory"},
		{"invalid rule file", []string{"testdata/badrule.test.yaml"}, 1, `group "bad", rule 1, "Broken"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			assert.Equal(t, tt.code, run(tt.args, &out))
			assert.Contains(t, out.String(), tt.want)
		})
	}
}

// TestAgreesWithPromtool runs the same test files through promtool: the shipped rule tests and the
// passing files must pass in both, the failing file must fail in both.
func TestAgreesWithPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool (Debian package prometheus) is needed: `make test` installs it")
	shipped, err := filepath.Glob("../../configs/prometheus/rules/*.test.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, shipped)
	files := append([]string{"testdata/pass.test.yaml", "testdata/counters.test.yaml", "testdata/fail.test.yaml"}, shipped...)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			promOut, promErr := exec.CommandContext(ctx, promtool, "test", "rules", f).CombinedOutput()
			var out bytes.Buffer
			code := run([]string{f}, &out)
			assert.Equal(t, promErr == nil, code == 0, "promtool:\n%s\nruletest:\n%s", promOut, out.String())
		})
	}
}
