package gaudireceiver

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/scraper/scrapererror"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
)

// gaudiScraper turns a Source's device readings into metrics. It knows no backend: every
// source fills hpu.Device, and only what a source marks valid is recorded.
type gaudiScraper struct {
	cfg      *Config
	settings receiver.Settings
	now      func() time.Time
	shared   *sharedSource

	host    component.Host
	health  HealthReporter // nil unless health_extension is set
	failing bool           // the last scrape had errors; reported as component status
	source  hpu.Source
	sanity  *sanitizer
	tracker *deviceTracker
	mb      *metadata.MetricsBuilder
	// resource names the host; every scrape's metrics carry it.
	resource pcommon.Resource
	devices  []hpu.Device // reused between scrapes
	// errors counts failed reads since start, for the hpu.scrape.errors counter.
	errors int64
}

func newGaudiScraper(cfg *Config, set receiver.Settings, now func() time.Time, shared *sharedSource) *gaudiScraper {
	return &gaudiScraper{cfg: cfg, settings: set, now: now, shared: shared}
}

func (s *gaudiScraper) start(ctx context.Context, host component.Host) error {
	start := s.now()
	if id := s.cfg.HealthExtension; id != nil {
		health, err := healthReporterFromHost(host, *id)
		if err != nil {
			return fmt.Errorf("gaudi receiver: %w", err)
		}
		s.health = health
	}
	res, err := hostResource(s.cfg, os.Hostname)
	if err != nil {
		return fmt.Errorf("gaudi receiver: %w", err)
	}
	src, err := s.shared.acquire(ctx)
	if err != nil {
		return fmt.Errorf("gaudi receiver: %w", err)
	}
	s.resource = res
	s.host = host
	s.source = src
	s.sanity = newSanitizer(s.cfg.Sanity, s.settings.Logger)
	s.tracker = newDeviceTracker()
	s.mb = metadata.NewMetricsBuilder(s.cfg.MetricsBuilderConfig, s.settings, metadata.WithStartTime(pcommon.NewTimestampFromTime(start)))
	s.settings.Logger.Info("Reading HPU telemetry", zap.String("source", src.Name()))
	return nil
}

func (s *gaudiScraper) shutdown(ctx context.Context) error {
	if s.source == nil {
		return nil
	}
	s.source = nil
	return s.shared.release(ctx)
}

func (s *gaudiScraper) scrape(ctx context.Context) (pmetric.Metrics, error) {
	began := s.now()
	ts := pcommon.NewTimestampFromTime(began)
	var errs scrapererror.ScrapeErrors

	devices, err := s.source.Read(ctx, began, s.devices[:0])
	s.devices = devices
	if err != nil {
		s.errors++
		errs.AddPartial(1, fmt.Errorf("reading source %q: %w", s.source.Name(), err))
	}
	// Identities are checked before anything reaches an attribute (see identity.go).
	devices, idErrs := s.tracker.check(devices)
	for _, e := range idErrs {
		s.errors++
		errs.AddPartial(1, e)
	}
	for i := range devices {
		d := &devices[i]
		s.recordHealth(ts, d.Index, d.UUID, d.Health())
		if d.Err != nil {
			s.errors++
			errs.AddPartial(1, fmt.Errorf("hpu %d (%s): %w", d.Index, d.UUID, d.Err))
			continue
		}
		s.sanity.check(d)
		s.recordDevice(ts, d)
	}
	// A device seen before that this read lacks is unknown now: a dashboard must not keep
	// showing its last state. A failed read already explains its absence.
	for _, ref := range s.tracker.missing() {
		s.recordHealth(ts, ref.index, ref.uuid, hpu.HealthUnknown)
		if err == nil {
			s.errors++
			errs.AddPartial(1, fmt.Errorf("hpu %d (%s): missing from the source's read; its health is unknown", ref.index, ref.uuid))
		}
	}
	for _, ref := range s.tracker.retired {
		s.recordHealth(ts, ref.index, ref.uuid, hpu.HealthUnknown)
	}
	s.sanity.record(s.mb, ts)

	source := s.source.Name()
	s.mb.RecordHpuScrapeDurationDataPoint(ts, s.now().Sub(began).Seconds(), source)
	s.mb.RecordHpuDevicesDataPoint(ts, int64(len(devices)), source)
	s.mb.RecordHpuScrapeErrorsDataPoint(ts, s.errors, source)
	// Only partial errors are added, so the healthy devices' metrics and the self-metrics
	// are delivered even when devices (or the whole source) failed.
	err = errs.Combine()
	s.reportStatus(err)
	if s.health != nil {
		s.health.ReportScrape(s.settings.ID, source, len(devices), readable(devices), began, s.cfg.CollectionInterval)
	}
	return s.mb.Emit(metadata.WithResource(s.resource)), err
}

// reportStatus tells a status-aware health check that the receiver is degraded while scrapes
// fail, and that it recovered.
func (s *gaudiScraper) reportStatus(err error) {
	switch {
	case err != nil:
		s.failing = true
		componentstatus.ReportStatus(s.host, componentstatus.NewRecoverableErrorEvent(err))
	case s.failing:
		s.failing = false
		componentstatus.ReportStatus(s.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}

func (s *gaudiScraper) recordHealth(ts pcommon.Timestamp, index int64, uuid string, health hpu.Health) {
	for _, h := range [...]struct {
		state hpu.Health
		attr  metadata.AttributeHpuState
	}{
		{hpu.HealthOK, metadata.AttributeHpuStateOk},
		{hpu.HealthDegraded, metadata.AttributeHpuStateDegraded},
		{hpu.HealthFailed, metadata.AttributeHpuStateFailed},
		{hpu.HealthUnknown, metadata.AttributeHpuStateUnknown},
	} {
		s.mb.RecordHpuHealthDataPoint(ts, boolInt(h.state == health), index, uuid, h.attr)
	}
}

func (s *gaudiScraper) recordDevice(ts pcommon.Timestamp, d *hpu.Device) {
	mb, idx, uuid := s.mb, d.Index, d.UUID
	mb.RecordHpuInfoDataPoint(ts, 1, idx, uuid, d.Info.Model, d.Info.Serial, d.Info.ModuleID, d.Info.PCIBusID, d.Info.DriverVersion, d.Info.FirmwareVersion)

	if v := d.Utilization; v.Valid {
		mb.RecordHpuUtilizationDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.MemoryUsed; v.Valid {
		mb.RecordHpuMemoryUsedDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.MemoryFree; v.Valid {
		mb.RecordHpuMemoryFreeDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.MemoryTotal; v.Valid {
		mb.RecordHpuMemoryTotalDataPoint(ts, v.V, idx, uuid)
	}

	if v := d.TemperatureOnChip; v.Valid {
		mb.RecordHpuTemperatureDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuSensorOnChip)
	}
	if v := d.TemperatureOnBoard; v.Valid {
		mb.RecordHpuTemperatureDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuSensorOnBoard)
	}
	if v := d.TemperatureHBM; v.Valid {
		mb.RecordHpuMemoryTemperatureDataPoint(ts, v.V, idx, uuid)
	}
	limits := d.TemperatureLimits
	for _, l := range [...]struct {
		v    hpu.Value[float64]
		attr metadata.AttributeHpuThreshold
	}{
		{limits.Slowdown, metadata.AttributeHpuThresholdSlowdown},
		{limits.Shutdown, metadata.AttributeHpuThresholdShutdown},
		{limits.MemoryMax, metadata.AttributeHpuThresholdMemoryMax},
		{limits.AIPMax, metadata.AttributeHpuThresholdAipMax},
	} {
		if l.v.Valid {
			mb.RecordHpuTemperatureLimitDataPoint(ts, l.v.V, idx, uuid, l.attr)
		}
	}

	if v := d.Power; v.Valid {
		mb.RecordHpuPowerDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.PowerLimit; v.Valid {
		mb.RecordHpuPowerLimitDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.PowerLimitDefault; v.Valid {
		mb.RecordHpuPowerLimitDefaultDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.Energy; v.Valid {
		mb.RecordHpuEnergyDataPoint(ts, v.V, idx, uuid)
	}

	if v := d.ClockSoC; v.Valid {
		mb.RecordHpuClockSocDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.ClockSoCMax; v.Valid {
		mb.RecordHpuClockSocMaxDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.ThrottledPower; v.Valid {
		mb.RecordHpuClockThrottleActiveDataPoint(ts, boolInt(v.V), idx, uuid, metadata.AttributeHpuThrottleReasonPower)
	}
	if v := d.ThrottledThermal; v.Valid {
		mb.RecordHpuClockThrottleActiveDataPoint(ts, boolInt(v.V), idx, uuid, metadata.AttributeHpuThrottleReasonThermal)
	}
	if v := d.ThrottleTimePower; v.Valid {
		mb.RecordHpuClockThrottleTimeDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuThrottleReasonPower)
	}
	if v := d.ThrottleTimeThermal; v.Valid {
		mb.RecordHpuClockThrottleTimeDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuThrottleReasonThermal)
	}

	if v := d.PCIeReceive; v.Valid {
		mb.RecordHpuPcieThroughputDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuPcieDirectionReceive)
	}
	if v := d.PCIeTransmit; v.Valid {
		mb.RecordHpuPcieThroughputDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuPcieDirectionTransmit)
	}
	if v := d.PCIeReplays; v.Valid {
		mb.RecordHpuPcieReplaysDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.PCIeLinkGen; v.Valid {
		mb.RecordHpuPcieLinkGenerationDataPoint(ts, v.V, idx, uuid)
	}
	if v := d.PCIeLinkWidth; v.Valid {
		mb.RecordHpuPcieLinkWidthDataPoint(ts, v.V, idx, uuid)
	}

	if v := d.ECCEnabled; v.Valid {
		mb.RecordHpuEccEnabledDataPoint(ts, boolInt(v.V), idx, uuid)
	}
	recordECC(d.ECCErrors, func(v int64, typ metadata.AttributeHpuEccErrorType, counter metadata.AttributeHpuEccCounter) {
		mb.RecordHpuEccErrorsDataPoint(ts, v, idx, uuid, typ, counter)
	})
	recordECC(d.ECCErrorsDRAM, func(v int64, typ metadata.AttributeHpuEccErrorType, counter metadata.AttributeHpuEccCounter) {
		mb.RecordHpuEccErrorsDramDataPoint(ts, v, idx, uuid, typ, counter)
	})
	if v := d.RowsReplacedSingle; v.Valid {
		mb.RecordHpuRowsReplacedDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuRowCauseSingleBitEcc)
	}
	if v := d.RowsReplacedDouble; v.Valid {
		mb.RecordHpuRowsReplacedDataPoint(ts, v.V, idx, uuid, metadata.AttributeHpuRowCauseDoubleBitEcc)
	}
	if v := d.RowsPending; v.Valid {
		mb.RecordHpuRowsPendingDataPoint(ts, boolInt(v.V), idx, uuid)
	}

	for i := range d.NICPorts {
		s.recordNICPort(ts, d, &d.NICPorts[i])
	}
}

// recordECC records the four counts of one ECC metric.
func recordECC(e hpu.ECCErrors, record func(int64, metadata.AttributeHpuEccErrorType, metadata.AttributeHpuEccCounter)) {
	for _, c := range [...]struct {
		v       hpu.Value[int64]
		typ     metadata.AttributeHpuEccErrorType
		counter metadata.AttributeHpuEccCounter
	}{
		{e.CorrectedVolatile, metadata.AttributeHpuEccErrorTypeCorrected, metadata.AttributeHpuEccCounterVolatile},
		{e.UncorrectedVolatile, metadata.AttributeHpuEccErrorTypeUncorrected, metadata.AttributeHpuEccCounterVolatile},
		{e.CorrectedAggregate, metadata.AttributeHpuEccErrorTypeCorrected, metadata.AttributeHpuEccCounterAggregate},
		{e.UncorrectedAggregate, metadata.AttributeHpuEccErrorTypeUncorrected, metadata.AttributeHpuEccCounterAggregate},
	} {
		if c.v.Valid {
			record(c.v.V, c.typ, c.counter)
		}
	}
}

func (s *gaudiScraper) recordNICPort(ts pcommon.Timestamp, d *hpu.Device, p *hpu.NICPort) {
	mb, idx, uuid := s.mb, d.Index, d.UUID
	portType := metadata.AttributeHpuNicPortTypeInternal
	if p.External {
		portType = metadata.AttributeHpuNicPortTypeExternal
	}
	if p.Up.Valid {
		mb.RecordHpuNicLinkUpDataPoint(ts, boolInt(p.Up.V), idx, uuid, p.Port, portType)
	}
	c := &p.Counters
	for _, r := range [...]struct {
		v      hpu.Value[int64]
		record func(pcommon.Timestamp, int64, int64, string, int64, metadata.AttributeHpuNicPortType, metadata.AttributeHpuNicDirection)
		dir    metadata.AttributeHpuNicDirection
	}{
		{c.ReceiveBytes, mb.RecordHpuNicIoDataPoint, metadata.AttributeHpuNicDirectionReceive},
		{c.TransmitBytes, mb.RecordHpuNicIoDataPoint, metadata.AttributeHpuNicDirectionTransmit},
		{c.ReceivePackets, mb.RecordHpuNicPacketsDataPoint, metadata.AttributeHpuNicDirectionReceive},
		{c.TransmitPackets, mb.RecordHpuNicPacketsDataPoint, metadata.AttributeHpuNicDirectionTransmit},
		{c.ReceiveErrors, mb.RecordHpuNicErrorsDataPoint, metadata.AttributeHpuNicDirectionReceive},
		{c.TransmitErrors, mb.RecordHpuNicErrorsDataPoint, metadata.AttributeHpuNicDirectionTransmit},
		{c.ReceiveDropped, mb.RecordHpuNicDroppedDataPoint, metadata.AttributeHpuNicDirectionReceive},
		{c.TransmitDropped, mb.RecordHpuNicDroppedDataPoint, metadata.AttributeHpuNicDirectionTransmit},
	} {
		if r.v.Valid {
			r.record(ts, r.v.V, idx, uuid, p.Port, portType, r.dir)
		}
	}
	for _, st := range p.Stats {
		mb.RecordHpuNicStatDataPoint(ts, st.Value, idx, uuid, p.Port, st.Name)
	}
}

// readable counts the devices read without error.
func readable(devices []hpu.Device) int {
	n := 0
	for i := range devices {
		if devices[i].Err == nil {
			n++
		}
	}
	return n
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
