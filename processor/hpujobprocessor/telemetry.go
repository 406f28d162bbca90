package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"
)

// telemetry is the processor's own metrics, so that what the bounds drop and what job resources fail to
// say is visible without logs.
type telemetry struct {
	dropped   metric.Int64Counter
	conflicts metric.Int64Counter
	skipped   metric.Int64Counter
	annotated metric.Int64Counter
	refreshes metric.Int64Counter
	invalid   metric.Int64Counter
	reg       metric.Registration

	droppedMappings, droppedDevices, droppedAllocations metric.AddOption
	skipNoHost, skipInvalidDevice                       metric.AddOption
	skipNoDevice                                        metric.AddOption
	bySource                                            [numSources]metric.AddOption
	byResult                                            [numSources]map[string]metric.AddOption

	// unmatched is, per source, how many allocations of its last answer name no HPU of this node.
	unmatched [numSources]atomic.Int64
}

func newTelemetry(set component.TelemetrySettings, t *table, now func() time.Time) (*telemetry, error) {
	m := set.MeterProvider.Meter(metadata.ScopeName)
	tel := telemetry{
		droppedMappings:    metric.WithAttributeSet(attribute.NewSet(attribute.String("table", "mappings"))),
		droppedDevices:     metric.WithAttributeSet(attribute.NewSet(attribute.String("table", "devices"))),
		droppedAllocations: metric.WithAttributeSet(attribute.NewSet(attribute.String("table", "allocations"))),
		skipNoHost:         metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", string(skipNoHost)))),
		skipNoDevice:       metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", string(skipNoDevice)))),
		skipInvalidDevice:  metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", string(skipInvalidDevice)))),
	}
	sourceAttrs := [numSources]attribute.Set{}
	for src := range numSources {
		sourceAttrs[src] = attribute.NewSet(attribute.String("source", src.String()))
		tel.bySource[src] = metric.WithAttributeSet(sourceAttrs[src])
		tel.byResult[src] = make(map[string]metric.AddOption, len(results))
		for _, r := range results {
			tel.byResult[src][r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", src.String()), attribute.String("result", r)))
		}
	}
	var errs []error
	var err error
	tel.dropped, err = m.Int64Counter("otelcol_processor_hpu_job_entries_dropped",
		metric.WithDescription("Job-to-device mappings (table=mappings), device identities (table=devices) and orchestrator allocations (table=allocations) not stored because max_mappings or max_devices was reached."),
		metric.WithUnit("{entry}"))
	errs = append(errs, err)
	tel.conflicts, err = m.Int64Counter("otelcol_processor_hpu_job_conflicts",
		metric.WithDescription("Claims that took a device from another job or rank that still held it; the most recent claim wins."),
		metric.WithUnit("{claim}"))
	errs = append(errs, err)
	tel.skipped, err = m.Int64Counter("otelcol_processor_hpu_job_resources_skipped",
		metric.WithDescription("Resources with training.job.id from which no device mapping could be learned, by reason (no_host, no_device, invalid_device)."),
		metric.WithUnit("{resource}"))
	errs = append(errs, err)
	tel.annotated, err = m.Int64Counter("otelcol_processor_hpu_job_data_points_annotated",
		metric.WithDescription("Device data points to which job attributes were added."),
		metric.WithUnit("{datapoint}"))
	errs = append(errs, err)
	tel.refreshes, err = m.Int64Counter("otelcol_processor_hpu_job_source_refreshes",
		metric.WithDescription("Reads of the kubelet's PodResources API (source=kubelet) and of the Slurm job-mapping directory (source=slurm), by result (ok, absent, permission_denied, unavailable, timeout, malformed, error)."),
		metric.WithUnit("{refresh}"))
	errs = append(errs, err)
	tel.invalid, err = m.Int64Counter("otelcol_processor_hpu_job_allocations_invalid",
		metric.WithDescription("Device allocations skipped because the kubelet's answer or a Slurm mapping file was unusable (invalid names, ids or content), by source."),
		metric.WithUnit("{allocation}"))
	errs = append(errs, err)
	allocations, err := m.Int64ObservableGauge("otelcol_processor_hpu_job_allocations",
		metric.WithDescription("HPU allocations in the source's last answer, while it applies (it expires after expiration without a new one), by source."),
		metric.WithUnit("{allocation}"))
	errs = append(errs, err)
	unmatched, err := m.Int64ObservableGauge("otelcol_processor_hpu_job_allocations_unmatched",
		metric.WithDescription("Allocations of the source's last answer that name no HPU of this node (check kubelet.device_id and host_name), by source."),
		metric.WithUnit("{allocation}"))
	errs = append(errs, err)
	mappings, err := m.Int64ObservableGauge("otelcol_processor_hpu_job_mappings",
		metric.WithDescription("Job-to-device mappings held, live or not yet swept."), metric.WithUnit("{mapping}"))
	errs = append(errs, err)
	devices, err := m.Int64ObservableGauge("otelcol_processor_hpu_job_devices",
		metric.WithDescription("Device identities (index, module id, uuid) learned from hpu.info and held."), metric.WithUnit("{device}"))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	tel.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		nm, nd := t.sizes()
		o.ObserveInt64(mappings, int64(nm))
		o.ObserveInt64(devices, int64(nd))
		views := t.viewSizes(now())
		for src := range numSources {
			o.ObserveInt64(allocations, int64(views[src]), metric.WithAttributeSet(sourceAttrs[src]))
			o.ObserveInt64(unmatched, tel.unmatched[src].Load(), metric.WithAttributeSet(sourceAttrs[src]))
		}
		return nil
	}, mappings, devices, allocations, unmatched)
	if err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	return &tel, nil
}

func (tel *telemetry) record(ctx context.Context, c counts) {
	if c.droppedMappings > 0 {
		tel.dropped.Add(ctx, c.droppedMappings, tel.droppedMappings)
	}
	if c.droppedDevices > 0 {
		tel.dropped.Add(ctx, c.droppedDevices, tel.droppedDevices)
	}
	if c.conflicts > 0 {
		tel.conflicts.Add(ctx, c.conflicts)
	}
}

func (tel *telemetry) recordRefresh(ctx context.Context, src source, result string) {
	tel.refreshes.Add(ctx, 1, tel.byResult[src][result])
}

func (tel *telemetry) recordInvalid(ctx context.Context, src source, n int) {
	if n > 0 {
		tel.invalid.Add(ctx, int64(n), tel.bySource[src])
	}
}

func (tel *telemetry) recordDropped(ctx context.Context, n int) {
	if n > 0 {
		tel.dropped.Add(ctx, int64(n), tel.droppedAllocations)
	}
}

func (tel *telemetry) setUnmatched(src source, n int) { tel.unmatched[src].Store(int64(n)) }

func (tel *telemetry) recordSkipped(ctx context.Context, reason skipReason) {
	switch reason {
	case skipNoHost:
		tel.skipped.Add(ctx, 1, tel.skipNoHost)
	case skipNoDevice:
		tel.skipped.Add(ctx, 1, tel.skipNoDevice)
	default:
		tel.skipped.Add(ctx, 1, tel.skipInvalidDevice)
	}
}

func (tel *telemetry) shutdown() error {
	if tel.reg == nil {
		return nil
	}
	return tel.reg.Unregister()
}
