// Type and stability of the component, in the names mdatagen gives them (this project generates metadata
// only for receivers, with internal/tools/mdgen).

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
