// Code written by hand in the shape mdatagen generates, until mdatagen is available to the project.

package metadata // import "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("threshold_events")
	ScopeName = "github.com/otelcol-gaudi/otelcol-gaudi/connector/thresholdeventsconnector"
)

const (
	MetricsToLogsStability = component.StabilityLevelDevelopment
)
