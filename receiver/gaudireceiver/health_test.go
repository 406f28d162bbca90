package gaudireceiver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// fakeReporter stands in for the hpu_health extension.
type fakeReporter struct {
	component.StartFunc
	component.ShutdownFunc
	reports []report
}

type report struct {
	id                component.ID
	source            string
	devices, readable int
	at                time.Time
	interval          time.Duration
}

func (f *fakeReporter) ReportScrape(id component.ID, source string, devices, readable int, at time.Time, interval time.Duration) {
	f.reports = append(f.reports, report{id, source, devices, readable, at, interval})
}

// extensionHost is a host with the given extensions.
type extensionHost struct {
	component.Host
	extensions map[component.ID]component.Component
}

func (h extensionHost) GetExtensions() map[component.ID]component.Component { return h.extensions }

var healthID = component.MustNewID("hpu_health")

func TestScrapesAreReportedToTheHealthExtension(t *testing.T) {
	src := &fixedSource{devices: []hpu.Device{{Index: 0, UUID: "u0"}, {Index: 1, UUID: "u1", Err: errors.New("HLML_ERROR_AIP_IS_LOST")}}}
	cfg := simulatorConfig()
	cfg.HealthExtension = &healthID
	clock := &fakeClock{t: testStart}
	s := newTestScraper(cfg, clock.now, fixed(src))
	reporter := &fakeReporter{}
	host := extensionHost{Host: componenttest.NewNopHost(), extensions: map[component.ID]component.Component{healthID: reporter}}
	require.NoError(t, s.start(context.Background(), host))
	defer func() { require.NoError(t, s.shutdown(context.Background())) }()

	_, err := s.scrape(context.Background())
	require.Error(t, err, "the failed device is a partial error")
	assert.Equal(t, []report{{id: s.settings.ID, source: "fixed", devices: 2, readable: 1, at: testStart, interval: 10 * time.Second}}, reporter.reports)
}

func TestHealthExtensionMustExist(t *testing.T) {
	for name, tt := range map[string]struct {
		extensions map[component.ID]component.Component
		want       string
	}{
		"missing": {nil, "extension hpu_health is not configured in service.extensions"},
		"wrong type": {map[component.ID]component.Component{healthID: struct {
			component.StartFunc
			component.ShutdownFunc
		}{}}, "extension hpu_health is not an hpu_health extension"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := simulatorConfig()
			cfg.HealthExtension = &healthID
			s := newTestScraper(cfg, time.Now, openSource)
			err := s.start(context.Background(), extensionHost{Host: componenttest.NewNopHost(), extensions: tt.extensions})
			require.ErrorContains(t, err, tt.want)
			assert.NoError(t, s.shutdown(context.Background()))
		})
	}
}
