package hpujobprocessor

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap/zapcore"
)

// step advances the clock, sends the job batches, then (unless noScrape) one gaudi receiver scrape.
type step struct {
	advance  time.Duration
	jobs     []map[string]any
	noScrape bool
}

func job(id string, rank int, extra ...any) map[string]any {
	r := map[string]any{attrJobID: id, attrRank: int64(rank), attrHostName: testHost}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == nil {
			delete(r, extra[i].(string))
			continue
		}
		r[extra[i].(string)] = extra[i+1]
	}
	return r
}

// wholeNode is a job's eight ranks on testHost, global ranks base..base+7, launched with
// HABANA_VISIBLE_MODULES=modules and each rank reporting the module it uses.
func wholeNode(id string, base int, modules ...int64) []map[string]any {
	var out []map[string]any
	for i, m := range modules {
		out = append(out, rankRes(id, base+i, i, testHost, m))
	}
	return out
}

func TestAttribution(t *testing.T) {
	exp := createDefaultConfig().(*Config).Expiration
	tests := []struct {
		name       string
		cfg        func(*Config)
		scrapeHost string // host.name on the gaudi resource; empty as the receiver sends it
		steps      []step
		want       []string // "index=job/rank" of the last scrape's annotated devices
	}{
		{
			name:  "no job: nothing is added",
			steps: []step{{}},
		},
		{
			name:  "learn by index",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}}},
			want:  []string{"3=A/0"},
		},
		{
			name:  "learn by module id through hpu.info",
			steps: []step{{}, {jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}}},
			want:  []string{fmt.Sprintf("%d=A/0", indexOfModule(2))},
		},
		{
			name:  "module id before the first hpu.info: resolved in the scrape that brings it",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}}},
			want:  []string{fmt.Sprintf("%d=A/0", indexOfModule(2))},
		},
		{
			name: "HABANA_VISIBLE_MODULES list as a string: local rank picks the module",
			steps: []step{{jobs: []map[string]any{
				job("A", 10, attrModuleID, "4,5,6,7", attrLocalRank, int64(2)),
			}}},
			want: []string{fmt.Sprintf("%d=A/10", indexOfModule(6))},
		},
		{
			name: "HABANA_VISIBLE_MODULES list as a slice attribute",
			steps: []step{{jobs: []map[string]any{
				job("A", 1, attrModuleID, []any{int64(4), int64(5), int64(6), int64(7)}, attrLocalRank, int64(1)),
			}}},
			want: []string{fmt.Sprintf("%d=A/1", indexOfModule(5))},
		},
		{
			name:  "one-entry list needs no local rank",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrModuleID, []any{int64(6)})}}},
			want:  []string{fmt.Sprintf("%d=A/0", indexOfModule(6))},
		},
		{
			name: "string values, as OTEL_RESOURCE_ATTRIBUTES gives them",
			steps: []step{{jobs: []map[string]any{
				job("A", 0, attrRank, "3", attrLocalRank, "3", attrIndex, "5"),
			}}},
			want: []string{"5=A/3"},
		},
		{
			name:  "learn by uuid",
			steps: []step{{}, {jobs: []map[string]any{job("A", 0, attrUUID, testDevices(8)[6].uuid)}}},
			want:  []string{"6=A/0"},
		},
		{
			name:  "hpu.index wins over hpu.module.id on the same resource",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(1), attrModuleID, int64(1))}}},
			want:  []string{"1=A/0"},
		},
		{
			name:  "whole node: eight ranks by module id",
			steps: []step{{jobs: wholeNode("llama", 8, 0, 1, 2, 3, 4, 5, 6, 7)}},
			want: func() []string {
				var w []string
				for m := range int64(8) {
					w = append(w, fmt.Sprintf("%d=llama/%d", indexOfModule(m), 8+m))
				}
				return sortedCopy(w)
			}(),
		},
		{
			name:  "half node: only the devices the job uses get labels",
			steps: []step{{jobs: wholeNode("A", 0, 4, 5, 6, 7)}},
			want: sortedCopy([]string{
				fmt.Sprintf("%d=A/0", indexOfModule(4)), fmt.Sprintf("%d=A/1", indexOfModule(5)),
				fmt.Sprintf("%d=A/2", indexOfModule(6)), fmt.Sprintf("%d=A/3", indexOfModule(7)),
			}),
		},
		{
			name:  "two jobs share a node",
			steps: []step{{jobs: append(wholeNode("A", 0, 0, 1), wholeNode("B", 0, 2, 3)...)}},
			want: sortedCopy([]string{
				fmt.Sprintf("%d=A/0", indexOfModule(0)), fmt.Sprintf("%d=A/1", indexOfModule(1)),
				fmt.Sprintf("%d=B/0", indexOfModule(2)), fmt.Sprintf("%d=B/1", indexOfModule(3)),
			}),
		},
		{
			name:  "a job on another host does not label this node's devices",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(3), attrHostName, "node-2")}}},
		},
		{
			name:  "host names compare case-insensitively",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(3), attrHostName, "NODE-1")}}},
			want:  []string{"3=A/0"},
		},
		{
			name:  "host_name configured in upper case",
			cfg:   func(c *Config) { c.HostName = "Node-1" },
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}}},
			want:  []string{"3=A/0"},
		},
		{
			name:       "device metrics with host.name (a gateway after resource detection) use it",
			scrapeHost: "node-7",
			steps: []step{{jobs: []map[string]any{
				job("A", 0, attrIndex, int64(3), attrHostName, "node-7"),
				job("B", 0, attrIndex, int64(4)), // on node-1, the processor's own host
			}}},
			want: []string{"3=A/0"},
		},
		{
			name:  "job without host.name",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(3), attrHostName, nil)}}},
		},
		{
			name:  "job without a device key (a launcher)",
			steps: []step{{jobs: []map[string]any{job("A", 0)}}},
		},
		{
			name: "invalid device values",
			steps: []step{{jobs: []map[string]any{
				job("A", 0, attrIndex, int64(-1)),
				job("B", 0, attrIndex, "three"),
				job("C", 0, attrModuleID, "0,1,2,3"), // no local rank
				job("D", 0, attrModuleID, "0,1", attrLocalRank, int64(2)),
				job("E", 0, attrUUID, int64(5)),
			}}},
		},
		{
			name:  "job with an empty id is not a job",
			steps: []step{{jobs: []map[string]any{job("", 0, attrIndex, int64(3))}}},
		},
		{
			name: "mapping holds until the window ends",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}},
				{advance: exp - time.Nanosecond},
			},
			want: []string{"3=A/0"},
		},
		{
			name: "mapping expires when the job stops sending for the window",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}},
				{advance: exp},
			},
		},
		{
			name: "each batch refreshes the mapping",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}},
				{advance: exp - time.Second, jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}},
				{advance: exp - time.Second},
			},
			want: []string{"3=A/0"},
		},
		{
			name: "a module claim resolves through the identity the same scrape re-teaches after the old one expired",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}},
				{advance: exp / 2, jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}, noScrape: true},
				{advance: exp / 2, jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}},
			},
			want: []string{fmt.Sprintf("%d=A/0", indexOfModule(2))},
		},
		{
			name:  "custom expiration",
			cfg:   func(c *Config) { c.Expiration = 30 * time.Second },
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}}, {advance: 30 * time.Second}},
		},
		{
			name: "one job stops, the other keeps sending",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrIndex, int64(3)), job("B", 0, attrIndex, int64(4))}},
				{advance: exp / 2, jobs: []map[string]any{job("B", 0, attrIndex, int64(4))}},
				{advance: exp / 2},
			},
			want: []string{"4=B/0"},
		},
		{
			name: "conflict on one key: the most recent claim wins",
			steps: []step{{jobs: []map[string]any{
				job("A", 0, attrIndex, int64(3)), job("B", 5, attrIndex, int64(3)),
			}}},
			want: []string{"3=B/5"},
		},
		{
			name: "conflict across keys: index after module id",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}},
				{jobs: []map[string]any{job("B", 1, attrIndex, indexOfModule(2))}},
			},
			want: []string{fmt.Sprintf("%d=B/1", indexOfModule(2))},
		},
		{
			name: "conflict across keys: the previous owner claims again and wins back",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}},
				{jobs: []map[string]any{job("B", 1, attrIndex, indexOfModule(2))}},
				{jobs: []map[string]any{job("A", 0, attrModuleID, int64(2))}},
			},
			want: []string{fmt.Sprintf("%d=A/0", indexOfModule(2))},
		},
		{
			name: "conflict with a module claim made before hpu.info was seen",
			steps: []step{
				{jobs: []map[string]any{job("A", 0, attrModuleID, int64(2)), job("B", 1, attrIndex, indexOfModule(2))}},
			},
			want: []string{fmt.Sprintf("%d=B/1", indexOfModule(2))},
		},
		{
			name: "elastic restart renumbers ranks: the new rank takes the device",
			steps: []step{
				{jobs: []map[string]any{job("A", 3, attrIndex, int64(2))}},
				{advance: 10 * time.Second, jobs: []map[string]any{job("A", 5, attrIndex, int64(2))}},
			},
			want: []string{"2=A/5"},
		},
		{
			name:  "a job's expired claim is no conflict",
			steps: []step{{jobs: []map[string]any{job("A", 0, attrIndex, int64(3))}}, {advance: exp, jobs: []map[string]any{job("B", 0, attrIndex, int64(3))}}},
			want:  []string{"3=B/0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			tp := newTestProcessor(t, cfg)
			for _, s := range tt.steps {
				tp.clock.advance(s.advance)
				for _, j := range s.jobs {
					tp.send(t, jobBatch(j))
				}
				if !s.noScrape {
					tp.send(t, gaudiBatch(tt.scrapeHost, testDevices(8)))
				}
			}
			assert.Equal(t, tt.want, annotated(t, tp.last(t)))
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestJobMetricsPassThroughUnchanged(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	inputs := []map[string]any{
		rankRes("A", 0, 0, testHost, 2),
		job("B", 1, attrIndex, int64(4)),
		job("C", 0, attrHostName, nil, attrIndex, int64(5)),
		job("D", 0, attrModuleID, "0,1"),
	}
	tp.send(t, gaudiBatch("", testDevices(8)))
	for _, in := range inputs {
		md := jobBatch(in)
		want := pmetric.NewMetrics()
		md.CopyTo(want)
		tp.send(t, md)
		assert.Equal(t, want, tp.last(t))
	}
	// Device metrics of another scope (another receiver's hpu.index, for example) are not touched either.
	other := gaudiBatch("", testDevices(8))
	other.ResourceMetrics().At(0).ScopeMetrics().At(0).Scope().SetName("someone.else")
	want := pmetric.NewMetrics()
	other.CopyTo(want)
	tp.send(t, other)
	assert.Equal(t, want, tp.last(t))
}

func TestSelfMetricsAndPointsWithoutDevice(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(0))), gaudiBatch("", testDevices(8)))
	out := tp.last(t)
	var with, without int
	forEachGaudiPoint(out, func(metric string, attrs pcommon.Map) {
		_, hasJob := attrs.Get(attrJobID)
		if strings.HasPrefix(metric, "hpu.scrape") || metric == "hpu.devices" {
			assert.Falsef(t, hasJob, "%s got job attributes", metric)
			without++
			return
		}
		if idx, _ := attrs.Get(attrIndex); idx.Int() == 0 {
			assert.Truef(t, hasJob, "%s of device 0 has no job attributes", metric)
			with++
		} else {
			assert.Falsef(t, hasJob, "%s of device %d got job attributes", metric, idx.Int())
		}
	})
	assert.Equal(t, 2, without)
	assert.Equal(t, 5, with) // utilization, 2 temperatures, energy, info
	assert.Equal(t, int64(5), tp.counter(t, "otelcol_processor_hpu_job_data_points_annotated", "", ""))
}

func TestModuleClaimNeedsHPUInfo(t *testing.T) {
	// With hpu.info disabled in the receiver, module ids cannot be resolved; indexes still work.
	tp := newTestProcessor(t, testConfig())
	md := gaudiBatch("", testDevices(8))
	md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().RemoveIf(func(m pmetric.Metric) bool { return m.Name() == metricInfo })
	tp.send(t, jobBatch(job("A", 0, attrModuleID, int64(2))), jobBatch(job("B", 0, attrIndex, int64(6))), md)
	assert.Equal(t, []string{"6=B/0"}, annotated(t, tp.last(t)))
}

func TestUnknownModuleIDs(t *testing.T) {
	// A source that cannot tell the slot (sysfs) reports hpu.module.id -1 on every device. That is no
	// module: module claims do not resolve (not even a job's -1, which is invalid), while the identities
	// are all kept, so index and uuid claims work.
	tp := newTestProcessor(t, testConfig())
	devs := testDevices(8)
	for i := range devs {
		devs[i].module = -1
		devs[i].uuid = fmt.Sprintf("pci-0000:%02x:00.0", 0x19+i)
	}
	tp.send(t, gaudiBatch("", devs),
		jobBatch(job("A", 0, attrModuleID, int64(2))), jobBatch(job("B", 0, attrModuleID, int64(-1))),
		jobBatch(job("C", 0, attrUUID, devs[5].uuid)), jobBatch(job("D", 0, attrIndex, int64(6))),
		gaudiBatch("", devs))
	assert.Equal(t, []string{"5=C/0", "6=D/0"}, annotated(t, tp.last(t)))
	_, d := tp.p.table.sizes()
	assert.Equal(t, 8, d)
	assert.Equal(t, int64(1), tp.counter(t, "otelcol_processor_hpu_job_resources_skipped", "reason", "invalid_device"))
}

func TestPointsWithUUIDButNoIndex(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	md := gaudiBatch("", testDevices(8))
	m := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().AppendEmpty()
	m.SetName("hpu.custom")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.Attributes().PutStr(attrUUID, testDevices(8)[3].uuid)
	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(3))), md)
	v, ok := dp.Attributes().Get(attrJobID)
	require.True(t, ok)
	assert.Equal(t, "A", v.Str())
}

func TestJobAndDevicesInOneBatch(t *testing.T) {
	// After a batch processor (or with both receivers' data merged), one ConsumeMetrics call carries
	// both: the job resource is learned before the devices are annotated, whatever their order.
	for _, jobFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("job_first=%v", jobFirst), func(t *testing.T) {
			tp := newTestProcessor(t, testConfig())
			md := pmetric.NewMetrics()
			j := jobBatch(rankRes("A", 0, 0, testHost, 2))
			g := gaudiBatch("", testDevices(8))
			if jobFirst {
				j.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
				g.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
			} else {
				g.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
				j.ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
			}
			tp.send(t, md)
			assert.Equal(t, []string{fmt.Sprintf("%d=A/0", indexOfModule(2))}, annotated(t, tp.last(t)))
		})
	}
}

func TestAttributesConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Attributes = []string{attrJobID, "training.world_size", "service.name", "training.absent", "training.flag"}
	tp := newTestProcessor(t, cfg)
	res := rankRes("A", 3, 3, testHost, 2)
	res["training.flag"] = true
	tp.send(t, jobBatch(res), gaudiBatch("", testDevices(8)))
	idx := indexOfModule(2)
	forEachGaudiPoint(tp.last(t), func(metric string, attrs pcommon.Map) {
		if i, ok := attrs.Get(attrIndex); !ok || i.Int() != idx {
			return
		}
		raw := attrs.AsRaw()
		assert.Equal(t, "A", raw[attrJobID], metric)
		assert.Equal(t, int64(16), raw["training.world_size"], metric)
		assert.Equal(t, "trainsim", raw["service.name"], metric)
		assert.Equal(t, true, raw["training.flag"], metric)
		assert.NotContains(t, raw, attrRank, metric)
		assert.NotContains(t, raw, "training.absent", metric)
		assert.Equal(t, idx, raw[attrIndex], metric)
	})
}

func TestRankTypeIsKept(t *testing.T) {
	// The SDK sets training.rank as an int; OTEL_RESOURCE_ATTRIBUTES as a string. Each is copied as is
	// (the Prometheus label is the same "3" either way).
	for _, rank := range []any{int64(3), "3"} {
		tp := newTestProcessor(t, testConfig())
		tp.send(t, jobBatch(job("A", 0, attrRank, rank, attrIndex, int64(1))), gaudiBatch("", testDevices(8)))
		forEachGaudiPoint(tp.last(t), func(_ string, attrs pcommon.Map) {
			if i, _ := attrs.Get(attrIndex); i.Int() == 1 {
				v, _ := attrs.Get(attrRank)
				assert.Equal(t, rank, v.AsRaw())
			}
		})
	}
}

func TestOverwritesExistingJobAttributes(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	md := gaudiBatch("", testDevices(8))
	forEachGaudiPoint(md, func(_ string, attrs pcommon.Map) { attrs.PutStr(attrJobID, "stale") })
	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(1))), md)
	forEachGaudiPoint(tp.last(t), func(_ string, attrs pcommon.Map) {
		v, _ := attrs.Get(attrJobID)
		if i, ok := attrs.Get(attrIndex); ok && i.Int() == 1 {
			assert.Equal(t, "A", v.Str())
		} else {
			assert.Equal(t, "stale", v.Str())
		}
	})
}

func TestSkippedResourcesAreCountedAndLogged(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	tp.send(t,
		jobBatch(job("A", 0, attrIndex, int64(3), attrHostName, nil)),
		jobBatch(job("A", 1, attrIndex, int64(4), attrHostName, nil)),
		jobBatch(job("B", 0)),
		jobBatch(job("C", 0, attrModuleID, "0,1")),
	)
	assert.Equal(t, int64(2), tp.counter(t, "otelcol_processor_hpu_job_resources_skipped", "reason", "no_host"))
	assert.Equal(t, int64(1), tp.counter(t, "otelcol_processor_hpu_job_resources_skipped", "reason", "no_device"))
	assert.Equal(t, int64(1), tp.counter(t, "otelcol_processor_hpu_job_resources_skipped", "reason", "invalid_device"))

	// One warning per reason and minute; the device-less resource only at debug.
	noHost := tp.logs.FilterMessageSnippet("no host.name")
	require.Equal(t, 1, noHost.Len())
	assert.Equal(t, zapcore.WarnLevel, noHost.All()[0].Level)
	invalid := tp.logs.FilterMessageSnippet("unusable value").All()
	require.Len(t, invalid, 1)
	assert.Equal(t, `hpu.module.id: list "0,1" names 2 devices and training.local_rank is missing`, invalid[0].ContextMap()["error"])
	noDevice := tp.logs.FilterMessageSnippet("names no HPU").All()
	require.Len(t, noDevice, 1)
	assert.Equal(t, zapcore.DebugLevel, noDevice[0].Level)

	tp.clock.advance(time.Minute)
	tp.send(t, jobBatch(job("A", 2, attrIndex, int64(5), attrHostName, nil)))
	msgs := tp.logs.FilterMessageSnippet("no host.name").All()
	require.Len(t, msgs, 2)
	assert.Equal(t, int64(2), msgs[1].ContextMap()["resources_since_last_message"])
}

func TestConflictIsCountedAndLoggedAtDebug(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	tp.send(t,
		jobBatch(job("A", 0, attrModuleID, int64(2))),
		gaudiBatch("", testDevices(8)),
		jobBatch(job("B", 4, attrIndex, indexOfModule(2))),
		jobBatch(job("A", 0, attrModuleID, int64(2))), // takes it back
		jobBatch(job("A", 0, attrModuleID, int64(2))), // a refresh, no conflict
	)
	assert.Equal(t, int64(2), tp.counter(t, "otelcol_processor_hpu_job_conflicts", "", ""))
	logs := tp.logs.FilterMessageSnippet("claim the same HPU").All()
	require.Len(t, logs, 2)
	assert.Equal(t, zapcore.DebugLevel, logs[0].Level)
	assert.Equal(t, map[string]any{
		"host": testHost, "device": "hpu.module.id=2",
		"previous_job": "A", "previous_rank": "0", "job": "B", "rank": "4",
	}, logs[0].ContextMap())
}

func TestConcurrentConsumers(t *testing.T) {
	// The OTLP receiver's handlers and the scraper call ConsumeMetrics concurrently; run with -race.
	tp := newTestProcessor(t, testConfig())
	var wg sync.WaitGroup
	for r := range 8 {
		wg.Go(func() {
			for range 50 {
				tp.send(t, jobBatch(rankRes("A", r, r, testHost, int64(r))))
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 50 {
				tp.send(t, gaudiBatch("", testDevices(8)))
				tp.clock.advance(time.Second)
			}
		})
	}
	wg.Wait()
	tp.send(t, gaudiBatch("", testDevices(8)))
	assert.Len(t, annotated(t, tp.last(t)), 8)
	assert.Equal(t, int64(8), gaugeValue(t, tp.tel, "otelcol_processor_hpu_job_mappings"))
	assert.Equal(t, int64(8), gaugeValue(t, tp.tel, "otelcol_processor_hpu_job_devices"))
}

func TestBatchWithoutJobsOrDevicesIsUntouched(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetName("x")
	want := pmetric.NewMetrics()
	md.CopyTo(want)
	require.NoError(t, tp.proc.ConsumeMetrics(context.Background(), md))
	assert.Equal(t, want, tp.last(t))
	m, d := tp.p.table.sizes()
	assert.Zero(t, m)
	assert.Zero(t, d)
}
