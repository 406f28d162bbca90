package gaudireceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper"
	"go.opentelemetry.io/collector/scraper/scraperhelper"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlml"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/simulator"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs"
)

const (
	defaultCollectionInterval = 10 * time.Second
	// defaultTimeout bounds one scrape, so a hung backend cannot stall the next one.
	defaultTimeout = 5 * time.Second
)

// NewFactory returns the factory of the gaudi receiver.
func NewFactory() receiver.Factory {
	sources := newSourceRegistry()
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithMetrics(sources.createMetricsReceiver, metadata.MetricsStability),
		receiver.WithLogs(sources.createLogsReceiver, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	cc := scraperhelper.NewDefaultControllerConfig()
	cc.CollectionInterval = defaultCollectionInterval
	cc.Timeout = defaultTimeout
	return &Config{
		ControllerConfig:     cc,
		MetricsBuilderConfig: metadata.NewDefaultMetricsBuilderConfig(),
		Source:               SourceAuto,
		Simulator:            simulator.DefaultConfig(),
		HLML:                 hlml.DefaultConfig(),
		HLSMI:                hlsmi.DefaultConfig(),
		Sysfs:                sysfs.DefaultConfig(),
		Sanity:               defaultSanityConfig(),
		NICCounters:          NICCountersConfig{Ports: NICPortsExternal},
	}
}

func (r *sourceRegistry) createMetricsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	c := cfg.(*Config)
	s := newGaudiScraper(c, set, time.Now, r.get(set.ID, c, set.TelemetrySettings))
	sc, err := scraper.NewMetrics(s.scrape, scraper.WithStart(s.start), scraper.WithShutdown(s.shutdown))
	if err != nil {
		return nil, err
	}
	return scraperhelper.NewMetricsController(&c.ControllerConfig, set, next, scraperhelper.AddMetricsScraper(metadata.Type, sc))
}

func (r *sourceRegistry) createLogsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	c := cfg.(*Config)
	return newEventsReceiver(set, r.get(set.ID, c, set.TelemetrySettings), next), nil
}
