package e2e

import (
	"fmt"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// TestOTLPBackendGetsEverything runs two trainsim ranks to the end against the collector on
// configs/otlp.yaml, which forwards to a second collector writing all it receives to a file: every
// contract metric of every rank arrives with its resource intact and the final counter values, every
// log record arrives exactly once, and the HPU metrics arrive too.
func TestOTLPBackendGetsEverything(t *testing.T) {
	t.Parallel()
	sink := startOTLPSink(t)
	c := startNodeCollector(t, "otlp.yaml",
		"exporters::otlp_grpc/backend::endpoint="+sink.grpcAddr,
		"exporters::otlp_grpc/backend::tls::insecure=true",
	)
	const job, steps, every = "e2e-otlp", 10, 5
	runTrainsim(t, buildTrainsim(t), "-endpoint", c.grpcAddr, "-ranks", "2", "-steps", fmt.Sprint(steps),
		"-log-every", fmt.Sprint(every), "-eval-every", fmt.Sprint(every), "-job-id", job, "-visible-modules", "3,0",
		"-interval", "20ms", "-export-interval", "100ms")

	var contract []string
	for _, m := range readContract(t) {
		contract = append(contract, m.name)
	}
	slices.Sort(contract)
	wantRecords := expectedTrainsimRecords(steps, every, every)
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		sink.failIfExited(t)
		metrics, logs, err := readFileExport(sink.file)
		if err != nil {
			return false, err.Error()
		}
		names := map[int64]map[string]bool{}
		samples := map[int64]int64{}
		hpuSeen := false
		for _, md := range metrics {
			for _, rm := range md.ResourceMetrics().All() {
				res := rm.Resource().Attributes().AsRaw()
				for _, sm := range rm.ScopeMetrics().All() {
					for _, m := range sm.Metrics().All() {
						hpuSeen = hpuSeen || m.Name() == "hpu.utilization"
						if res["training.job.id"] != job {
							continue
						}
						rank := res["training.rank"].(int64)
						if names[rank] == nil {
							names[rank] = map[string]bool{}
						}
						names[rank][m.Name()] = true
						if m.Name() == "training.samples" {
							samples[rank] = max(samples[rank], lastInt(m.Sum().DataPoints()))
						}
						if res["hpu.module.id"] != []int64{3, 0}[rank] {
							t.Fatalf("rank %d: hpu.module.id %v, want %d", rank, res["hpu.module.id"], []int64{3, 0}[rank])
						}
					}
				}
			}
		}
		records := map[int64][]string{}
		for _, ld := range logs {
			for _, rl := range ld.ResourceLogs().All() {
				res := rl.Resource().Attributes().AsRaw()
				if res["training.job.id"] != job {
					continue
				}
				for _, sl := range rl.ScopeLogs().All() {
					for _, lr := range sl.LogRecords().All() {
						rank := res["training.rank"].(int64)
						records[rank] = append(records[rank], lr.Body().AsString())
					}
				}
			}
		}
		for rank := range int64(2) {
			var got []string
			for n := range names[rank] {
				got = append(got, n)
			}
			slices.Sort(got)
			switch {
			case !slices.Equal(got, contract):
				return false, fmt.Sprintf("rank %d: metrics %v so far, want %v", rank, got, contract)
			case samples[rank] != steps*32:
				return false, fmt.Sprintf("rank %d: training.samples %d so far, want %d", rank, samples[rank], steps*32)
			case len(records[rank]) < wantRecords:
				return false, fmt.Sprintf("rank %d: %d log records so far, want %d", rank, len(records[rank]), wantRecords)
			case len(records[rank]) > wantRecords:
				t.Fatalf("rank %d: %d log records, want %d: %q", rank, len(records[rank]), wantRecords, records[rank])
			}
			unique := slices.Compact(slices.Sorted(slices.Values(records[rank])))
			if len(unique) != wantRecords {
				t.Fatalf("rank %d: duplicate records: %q", rank, records[rank])
			}
		}
		if !hpuSeen {
			return false, "no hpu.utilization from the gaudi receiver yet"
		}
		return true, ""
	})
}

// lastInt is the value of the last point of an int sum.
func lastInt(dps pmetric.NumberDataPointSlice) int64 {
	if dps.Len() == 0 {
		return 0
	}
	return dps.At(dps.Len() - 1).IntValue()
}
