// Written by hand in the shape mdatagen generates, until mdatagen is available to the project.

package metadata // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("threshold")
	ScopeName = "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdconnector"
)

const (
	MetricsToMetricsStability = component.StabilityLevelDevelopment
	MetricsToLogsStability    = component.StabilityLevelDevelopment
)
