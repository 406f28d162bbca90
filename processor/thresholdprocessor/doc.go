// Package thresholdprocessor evaluates Prometheus alerting and recording rules over the metric stream,
// with Prometheus' own rule, PromQL and TSDB-head packages, and adds the resulting ALERTS series to it.
package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"
