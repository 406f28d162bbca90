// Package hpujobprocessor attributes HPU metrics to training jobs: it learns which job and rank use which
// device from the resource attributes of the jobs' own OTLP metrics, and adds the job's id and rank to the
// data points of the gaudi receiver's metrics of that device while the job keeps sending.
package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"
