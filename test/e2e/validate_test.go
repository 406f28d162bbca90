package e2e

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// nonCollectorConfigDirs are the directories under configs/ that hold YAML which is not a
// collector config, by name (the first path element below configs/). Every other *.yaml or
// *.yml file under configs/ must pass `otelcol-gaudi validate`.
var nonCollectorConfigDirs = map[string]string{
	"prometheus": "Prometheus' and Alertmanager's configuration and the alert rules",
}

func TestShippedConfigsValidate(t *testing.T) {
	t.Parallel()
	configsDir := filepath.Join(repoRoot, "configs")
	var configs []string
	err := filepath.WalkDir(configsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := filepath.Ext(path)
		if d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		rel, err := filepath.Rel(configsDir, path)
		if err != nil {
			return err
		}
		top, _, nested := strings.Cut(filepath.ToSlash(rel), "/")
		if reason, excluded := nonCollectorConfigDirs[top]; nested && excluded {
			t.Logf("not validated: configs/%s (configs/%s/ holds %s, not collector configs)", filepath.ToSlash(rel), top, reason)
			return nil
		}
		configs = append(configs, rel)
		return nil
	})
	if err != nil {
		t.Fatalf("listing configs/: %v", err)
	}
	if !slices.Contains(configs, "demo.yaml") {
		t.Fatalf("configs/demo.yaml not found among the shipped configs %v", configs)
	}

	for _, rel := range configs {
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runCollectorCommand(t, "validate", "--config", filepath.Join(configsDir, rel))
			if err != nil {
				t.Errorf("otelcol-gaudi validate --config configs/%s: %s, want exit status 0\nstdout:\n%s\nstderr:\n%s",
					filepath.ToSlash(rel), exitDescription(err), stdout, stderr)
			}
		})
	}
}

func TestBrokenConfigsFailValidation(t *testing.T) {
	t.Parallel()
	// testdata/valid.yaml is the control: the broken configs differ from it in one key each,
	// so their failure can only come from that key.
	t.Run("valid.yaml", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, err := runCollectorCommand(t, "validate", "--config", filepath.Join(repoRoot, "test", "e2e", "testdata", "valid.yaml"))
		if err != nil {
			t.Errorf("otelcol-gaudi validate --config testdata/valid.yaml: %s, want exit status 0\nstdout:\n%s\nstderr:\n%s",
				exitDescription(err), stdout, stderr)
		}
	})
	for _, tc := range []struct {
		file   string
		badKey string
	}{
		{file: "invalid_source.yaml", badKey: "source"},             // source: nonsense
		{file: "invalid_simulator_devices.yaml", badKey: "devices"}, // simulator: {devices: 0}
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := runCollectorCommand(t, "validate", "--config", filepath.Join(repoRoot, "test", "e2e", "testdata", tc.file))
			output := stdout + stderr
			if err == nil {
				t.Fatalf("otelcol-gaudi validate --config testdata/%s: exit status 0, want a failure naming %q\noutput:\n%s", tc.file, tc.badKey, output)
			}
			if !strings.Contains(output, "receivers::gaudi") || !strings.Contains(output, tc.badKey) {
				t.Errorf("otelcol-gaudi validate --config testdata/%s failed (%s), but its message does not name both receivers::gaudi and %q:\n%s",
					tc.file, exitDescription(err), tc.badKey, output)
			}
			t.Logf("testdata/%s: %s: %s", tc.file, exitDescription(err), strings.TrimSpace(stderr))
		})
	}
}
