// Package hpujobprocessor attributes HPU metrics to the jobs that use the devices: it learns which training
// job and rank use which device from the resource attributes of the jobs' own OTLP metrics, which pod and
// container hold it from the kubelet's PodResources API, and which Slurm job holds it from a job-mapping
// directory, and adds them to the data points of the gaudi receiver's metrics of that device.
package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"
