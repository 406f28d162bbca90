// Type and stability of the component, in the names mdatagen gives them (this project generates metadata
// only for receivers, with internal/tools/mdgen).

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
