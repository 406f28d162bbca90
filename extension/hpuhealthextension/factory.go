package hpuhealthextension // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension/internal/metadata"
)

// NewFactory returns the factory of the hpu_health extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type,
		func() component.Config { return createDefaultConfig() },
		func(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
			return newExtension(cfg.(*Config), set.TelemetrySettings, time.Now), nil
		},
		metadata.ExtensionStability)
}
