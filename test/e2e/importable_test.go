package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// builderSnippet is the block of the receiver README that users paste into their ocb manifest.
var builderSnippet = regexp.MustCompile("(?s)<!-- BEGIN builder-snippet -->\\s*```yaml\\n(.*?)```\\s*<!-- END builder-snippet -->")

type builderComponent struct {
	GoMod  string `yaml:"gomod"`
	Import string `yaml:"import"`
}

// TestImportableIntoOwnDistribution builds an ocb distribution of someone else's from exactly the
// lines the receiver README shows (plus a replace, since this checkout is not a published release)
// and validates a config that uses the gaudi receiver with it.
func TestImportableIntoOwnDistribution(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "receiver", "gaudireceiver", "README.md"))
	require.NoError(t, err)
	m := builderSnippet.FindSubmatch(readme)
	require.NotNil(t, m, "the receiver README has no builder-snippet block")
	var snippet struct {
		Receivers []builderComponent `yaml:"receivers"`
	}
	require.NoError(t, yaml.Unmarshal(m[1], &snippet))
	require.Len(t, snippet.Receivers, 1)
	gomod := strings.Fields(snippet.Receivers[0].GoMod)
	require.Len(t, gomod, 2, "gomod is `<module> <version>`")
	module := gomod[0]
	assert.Equal(t, "github.com/otelcol-gaudi/otelcol-gaudi", module, "the snippet names our module")
	assert.True(t, strings.HasPrefix(snippet.Receivers[0].Import, module+"/"), "the import is inside the module")

	builder := os.Getenv("OCB_BIN")
	if builder == "" {
		builder = filepath.Join(repoRoot, ".tools", "builder")
	} else if !filepath.IsAbs(builder) {
		builder = filepath.Join(repoRoot, builder)
	}
	_, err = os.Stat(builder)
	require.NoError(t, err, "ocb not found: run `make tools` (or set OCB_BIN)")

	dir := t.TempDir()
	manifest := map[string]any{
		"dist": map[string]any{
			"module":      "example.com/mydist",
			"name":        "mydist",
			"output_path": filepath.Join(dir, "build"),
		},
		"receivers": snippet.Receivers,
		"exporters": []builderComponent{{GoMod: "go.opentelemetry.io/collector/exporter/debugexporter v0.165.0"}},
		"providers": []builderComponent{
			{GoMod: "go.opentelemetry.io/collector/confmap/provider/envprovider v1.71.0"},
			{GoMod: "go.opentelemetry.io/collector/confmap/provider/fileprovider v1.71.0"},
		},
		"replaces": []string{module + " => " + repoRoot},
	}
	manifestBytes, err := yaml.Marshal(manifest)
	require.NoError(t, err)
	manifestPath := filepath.Join(dir, "builder-config.yaml")
	require.NoError(t, os.WriteFile(manifestPath, manifestBytes, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, builder, "--config", manifestPath).CombinedOutput()
	require.NoError(t, err, "ocb failed:\n%s", out)
	t.Logf("ocb built the distribution in %s", time.Since(start).Round(time.Second))

	bin := filepath.Join(dir, "build", "mydist")
	configPath := filepath.Join(dir, "config.yaml")
	validate := func(simulator string) ([]byte, error) {
		config := `
receivers:
  gaudi:
    source: simulator
    simulator: ` + simulator + `
exporters:
  debug: {}
service:
  pipelines:
    metrics: {receivers: [gaudi], exporters: [debug]}
`
		require.NoError(t, os.WriteFile(configPath, []byte(config), 0o600))
		return exec.CommandContext(ctx, bin, "validate", "--config", configPath).CombinedOutput()
	}
	out, err = validate("{devices: 2, model: gaudi2}")
	require.NoError(t, err, "validate failed:\n%s", out)
	out, err = validate("{devices: 0}")
	require.Error(t, err, "the receiver's own validation runs in the other distribution too")
	assert.Contains(t, string(out), "devices must be between 1 and 64")
}
