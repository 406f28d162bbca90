package gaudireceiver

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// attrHostName is the semantic-conventions attribute naming the host the HPUs are in.
const attrHostName = "host.name"

// hostResource is the resource of everything the receiver emits: the host the HPUs are in, named by
// host_name or else by the OS (hostname). It makes pushed data (OTLP, Loki, remote write) say which node a
// device is in, and is what the hpu_job processor matches the jobs' own host.name against.
func hostResource(cfg *Config, hostname func() (string, error)) (pcommon.Resource, error) {
	name := cfg.HostName
	if name == "" {
		var err error
		if name, err = hostname(); err != nil || name == "" {
			return pcommon.Resource{}, fmt.Errorf("host_name is not set and the OS hostname cannot be read (%v); set host_name", err)
		}
	}
	// The kernel takes any bytes as hostname, and the name becomes a label on every series.
	if reason := hpu.CheckText(name); reason != "" {
		return pcommon.Resource{}, fmt.Errorf("host name %s is %s; set host_name", hpu.QuoteText(name), reason)
	}
	res := pcommon.NewResource()
	res.Attributes().PutStr(attrHostName, name)
	return res, nil
}
