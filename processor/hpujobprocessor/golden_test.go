package hpujobprocessor

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the expected golden files")

// TestGolden runs recorded batches through the processor: two ranks of a job as trainsim sends them
// (rank 8 with its module id, rank 9 with the HABANA_VISIBLE_MODULES list and its local rank, and a host
// name in another case), then a scrape of four devices. The job batches must come out as they went in; the
// scrape must carry the job on the two devices the ranks use and nothing on the other two or on the
// receiver's self-metrics.
func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	tp := newTestProcessor(t, testConfig())
	for _, name := range []string{"job_rank8.yaml", "job_rank9.yaml"} {
		in, err := golden.ReadMetrics(filepath.Join(dir, name))
		require.NoError(t, err)
		tp.send(t, in)
		want, err := golden.ReadMetrics(filepath.Join(dir, name))
		require.NoError(t, err)
		require.NoError(t, pmetrictest.CompareMetrics(want, tp.last(t)), name)
	}

	scrape, err := golden.ReadMetrics(filepath.Join(dir, "gaudi_scrape.yaml"))
	require.NoError(t, err)
	tp.send(t, scrape)
	got := tp.last(t)
	expectedFile := filepath.Join(dir, "expected_scrape.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, expectedFile, got))
	}
	want, err := golden.ReadMetrics(expectedFile)
	require.NoError(t, err)
	// golden.WriteMetrics sorts data points by their attributes; the processor keeps the input order.
	require.NoError(t, pmetrictest.CompareMetrics(want, got, pmetrictest.IgnoreMetricDataPointsOrder()))
	// The golden file is what the code produced when it was written; check its meaning too.
	assert.Equal(t, []string{
		"1=llama3-8b-pretrain-0042/8", // module 2
		"3=llama3-8b-pretrain-0042/9", // "2,0,7,5"[local rank 1] = module 0
	}, annotated(t, want))
}
