// Code written by hand in the shape mdatagen generates, until mdatagen is available to the project.

package metadata // import "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("hpu_health")
	ScopeName = "github.com/otelcol-gaudi/otelcol-gaudi/extension/hpuhealthextension"
)

const (
	ExtensionStability = component.StabilityLevelDevelopment
)
