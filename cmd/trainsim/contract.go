package main

import (
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// The training metrics contract of docs/training-metrics.md; contract_test.go checks that the two agree.
const (
	metricLoss              = "training.loss"
	metricAccuracy          = "training.accuracy"
	metricValidationLoss    = "validation.loss"
	metricValidationAcc     = "validation.accuracy"
	metricBatchDuration     = "training.batch.duration"
	metricForwardDuration   = "training.forward.duration"
	metricBackwardDuration  = "training.backward.duration"
	metricOptimizerDuration = "training.optimizer.step.duration"
	metricSamples           = "training.samples"
	metricTokens            = "training.tokens"
	metricSamplesThroughput = "training.samples.throughput"
	metricTokensThroughput  = "training.tokens.throughput"
)

// Resource attributes that identify a rank and the HPU it uses, besides semconv's service.* and host.name.
const (
	attrJobID       = attribute.Key("training.job.id")
	attrRank        = attribute.Key("training.rank")
	attrLocalRank   = attribute.Key("training.local_rank")
	attrWorldSize   = attribute.Key("training.world_size")
	attrHPUModuleID = attribute.Key("hpu.module.id")
	attrHPUIndex    = attribute.Key("hpu.index")
)

// Log record attributes for the original design's fields that have no OTel field of their own.
const (
	attrHPUOrdinal   = attribute.Key("hpu.ordinal")
	attrBatchIndex   = attribute.Key("training.batch.index")
	attrCodeFunction = semconv.CodeFunctionNameKey
	attrCodeLine     = semconv.CodeLineNumberKey
)

// scopeName is the instrumentation scope of the metrics: the library that measures them.
const scopeName = "github.com/otelcol-gaudi/otelcol-gaudi/cmd/trainsim"

// instruments are one rank's instruments of the contract.
type instruments struct {
	loss, accuracy, validationLoss, validationAccuracy metric.Float64Gauge
	batch, forward, backward, optimizer                metric.Float64Gauge
	samplesThroughput, tokensThroughput                metric.Float64Gauge
	samples, tokens                                    metric.Int64Counter
}

func newInstruments(m metric.Meter) (instruments, error) {
	var in instruments
	var err error
	gauge := func(dst *metric.Float64Gauge, name, unit, desc string) {
		if err == nil {
			*dst, err = m.Float64Gauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
			if err != nil {
				err = fmt.Errorf("creating gauge %s: %w", name, err)
			}
		}
	}
	counter := func(dst *metric.Int64Counter, name, unit, desc string) {
		if err == nil {
			*dst, err = m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
			if err != nil {
				err = fmt.Errorf("creating counter %s: %w", name, err)
			}
		}
	}
	gauge(&in.loss, metricLoss, "{loss}", "Training loss of the last batch.")
	gauge(&in.accuracy, metricAccuracy, "1", "Training accuracy of the last batch, as a fraction.")
	gauge(&in.validationLoss, metricValidationLoss, "{loss}", "Loss of the last validation pass.")
	gauge(&in.validationAccuracy, metricValidationAcc, "1", "Accuracy of the last validation pass, as a fraction.")
	gauge(&in.batch, metricBatchDuration, "s", "Wall time of the last batch, data loading included.")
	gauge(&in.forward, metricForwardDuration, "s", "Forward pass time of the last batch.")
	gauge(&in.backward, metricBackwardDuration, "s", "Backward pass time of the last batch.")
	gauge(&in.optimizer, metricOptimizerDuration, "s", "Optimizer step time of the last batch.")
	counter(&in.samples, metricSamples, "{sample}", "Training samples processed.")
	counter(&in.tokens, metricTokens, "{token}", "Training tokens processed.")
	gauge(&in.samplesThroughput, metricSamplesThroughput, "{sample}/s", "Samples per second over the last batch.")
	gauge(&in.tokensThroughput, metricTokensThroughput, "{token}/s", "Tokens per second over the last batch.")
	return in, err
}
