package gaudireceiver

import (
	"context"
	"testing"
	"time"
)

// BenchmarkScrapeSimulator measures one scrape of eight simulated Gaudi 3 devices with every
// metric enabled: the scraper and metrics builder cost that every source shares.
func BenchmarkScrapeSimulator(b *testing.B) {
	s, clock := startScraperB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		clock.t = clock.t.Add(10 * time.Second)
		if _, err := s.scrape(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func startScraperB(b *testing.B) (*gaudiScraper, *fakeClock) {
	b.Helper()
	clock := &fakeClock{t: testStart}
	s := newTestScraper(simulatorConfig(), clock.now, openSource)
	if err := s.start(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.shutdown(context.Background()) })
	return s, clock
}
