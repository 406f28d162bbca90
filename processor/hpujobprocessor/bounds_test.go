package hpujobprocessor

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMaxMappings(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMappings = 2
	tp := newTestProcessor(t, cfg)
	dropped := func() int64 {
		return tp.counter(t, "otelcol_processor_hpu_job_entries_dropped", "table", "mappings")
	}
	warnings := func() int { return tp.logs.FilterMessageSnippet("tables are full").Len() }

	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(0))), jobBatch(job("B", 0, attrIndex, int64(1))),
		jobBatch(job("C", 0, attrIndex, int64(2))), gaudiBatch("", testDevices(8)))
	assert.Equal(t, []string{"0=A/0", "1=B/0"}, annotated(t, tp.last(t)), "the table keeps what it has; the new mapping is dropped")
	assert.Equal(t, int64(1), dropped())
	assert.Equal(t, 1, warnings())
	assert.Equal(t, int64(2), gaugeValue(t, tp.tel, "otelcol_processor_hpu_job_mappings"))

	// Refreshing held mappings is not limited; more new ones within the minute are counted, not logged.
	tp.clock.advance(10 * time.Second)
	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(0))), jobBatch(job("D", 0, attrIndex, int64(3))),
		jobBatch(job("E", 0, attrIndex, int64(4))), gaudiBatch("", testDevices(8)))
	assert.Equal(t, []string{"0=A/0", "1=B/0"}, annotated(t, tp.last(t)))
	assert.Equal(t, int64(3), dropped())
	assert.Equal(t, 1, warnings())

	// B expires: room for one; C takes it, D does not fit. The next warning reports what was dropped since the first.
	tp.clock.advance(cfg.Expiration - 10*time.Second)
	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(0))), jobBatch(job("C", 0, attrIndex, int64(2))),
		jobBatch(job("D", 0, attrIndex, int64(3))), gaudiBatch("", testDevices(8)))
	assert.Equal(t, []string{"0=A/0", "2=C/0"}, annotated(t, tp.last(t)))
	assert.Equal(t, int64(4), dropped())
	msgs := tp.logs.FilterMessageSnippet("tables are full").All()
	require.Len(t, msgs, 2)
	assert.Equal(t, int64(3), msgs[1].ContextMap()["dropped_since_last_message"])
	assert.Equal(t, int64(2), msgs[1].ContextMap()["max_mappings"])
}

func TestMaxMappingsOverHosts(t *testing.T) {
	// A gateway sees many nodes; the bound is over all of them.
	cfg := testConfig()
	cfg.MaxMappings = 50
	tp := newTestProcessor(t, cfg)
	for h := range 100 {
		tp.send(t, jobBatch(job("A", h, attrIndex, int64(0), attrHostName, fmt.Sprintf("node-%d", h))))
	}
	m, _ := tp.p.table.sizes()
	assert.Equal(t, 50, m)
	assert.Equal(t, int64(50), tp.counter(t, "otelcol_processor_hpu_job_entries_dropped", "table", "mappings"))
}

func TestMaxDevices(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDevices = 4
	tp := newTestProcessor(t, cfg)
	tp.send(t, gaudiBatch("", testDevices(8)))
	_, d := tp.p.table.sizes()
	assert.Equal(t, 4, d)
	assert.Equal(t, int64(4), tp.counter(t, "otelcol_processor_hpu_job_entries_dropped", "table", "devices"))
	assert.Equal(t, int64(4), gaugeValue(t, tp.tel, "otelcol_processor_hpu_job_devices"))
	assert.Equal(t, 1, tp.logs.FilterMessageSnippet("tables are full").Len())

	// Module claims resolve for the devices whose identity fit; index claims need no identity.
	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(7))), jobBatch(job("B", 0, attrModuleID, testModules[0])),
		jobBatch(job("C", 0, attrModuleID, testModules[1])), gaudiBatch("", testDevices(8)))
	held := map[int64]bool{}
	for idx := range tp.p.table.hosts[testHost].devices {
		held[idx] = true
	}
	var want []string
	for _, c := range []struct {
		idx int64
		job string
	}{{0, "B"}, {1, "C"}} {
		if held[c.idx] {
			want = append(want, fmt.Sprintf("%d=%s/0", c.idx, c.job))
		}
	}
	want = append(want, "7=A/0")
	assert.Equal(t, want, annotated(t, tp.last(t)))
}

func TestExpiredEntriesAreSwept(t *testing.T) {
	tp := newTestProcessor(t, testConfig())
	tp.send(t, jobBatch(job("A", 0, attrIndex, int64(0))), jobBatch(job("A", 1, attrIndex, int64(1), attrHostName, "node-2")),
		gaudiBatch("", testDevices(8)))
	m, d := tp.p.table.sizes()
	assert.Equal(t, 2, m)
	assert.Equal(t, 8, d)
	require.Len(t, tp.p.table.hosts, 2)

	tp.clock.advance(testConfig().Expiration)
	tp.send(t, jobBatch(job("B", 0, attrIndex, int64(3)))) // the first batch that reaches the table sweeps when due
	m, d = tp.p.table.sizes()
	assert.Equal(t, 1, m)
	assert.Equal(t, 0, d)
	assert.Len(t, tp.p.table.hosts, 1, "hosts with nothing left are dropped")
	assert.Equal(t, int64(1), gaugeValue(t, tp.tel, "otelcol_processor_hpu_job_mappings"))
}

func TestRenumberedDevicesForgetOldIdentities(t *testing.T) {
	// After a driver reload the same module can come back under another index: the old identity goes,
	// so the module claim resolves to the new index only.
	tp := newTestProcessor(t, testConfig())
	devs := testDevices(2)
	tp.send(t, gaudiBatch("", devs))
	devs[0].index, devs[1].index = 1, 0
	tp.send(t, jobBatch(job("A", 0, attrModuleID, devs[0].module)), gaudiBatch("", devs))
	_, d := tp.p.table.sizes()
	assert.Equal(t, 2, d)
	assert.Equal(t, []string{"1=A/0"}, annotated(t, tp.last(t)))
}
