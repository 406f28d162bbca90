// Package ruleengine evaluates Prometheus alerting and recording rules over OTLP metrics, with
// Prometheus' own rule, PromQL and TSDB-head packages. It is the one engine behind the threshold
// connector and cmd/ruletest, which are thin adapters over it: Ingest takes a batch, AdvanceTo and Tick
// advance time, and every evaluation's ALERTS samples and alert transitions reach the Output in
// evaluation order, in the package's own types (no Prometheus type crosses the API).
//
// Time: data time drives evaluation, never past the wall clock (Settings.Clock); points later than the
// wall clock plus limits::max_future_skew, or older than it minus the retention, are refused.
// Limits: series are bounded in all, per sender (a resource identity from one client, or the
// collector's own receivers), per client address, and for OTLP clients together; every drop is counted
// by reason and sender.
// The connector's README (connector/thresholdconnector) documents both for users.
package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"
