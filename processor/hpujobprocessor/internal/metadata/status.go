// Code written by hand in the shape mdatagen generates, until mdatagen is available to the project.

package metadata // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("hpu_job")
	ScopeName = "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"
)

const (
	MetricsStability = component.StabilityLevelDevelopment
)
