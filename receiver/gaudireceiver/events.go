package gaudireceiver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.uber.org/zap"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/metadata"
)

const (
	// eventWait bounds one wait for device events, so shutdown is never held up for long.
	eventWait = time.Second
	// eventRetry is the pause after a failed wait, so a broken source does not spin.
	eventRetry = 10 * time.Second
	// eventName names every device event record, so log backends can select them.
	eventName = "hpu.device.event"
)

// eventSeverity ranks HLML's events: a critical error takes the device out of service, an
// uncorrectable memory error corrupts data, a corrected one only predicts trouble.
var eventSeverity = map[hpu.EventKind]struct {
	number plog.SeverityNumber
	text   string
}{
	hpu.EventCritical:     {plog.SeverityNumberFatal, "critical error"},
	hpu.EventECCDoubleBit: {plog.SeverityNumberError, "uncorrectable ECC error"},
	hpu.EventDRAM:         {plog.SeverityNumberError, "DRAM error"},
	hpu.EventECCSingleBit: {plog.SeverityNumberWarn, "corrected ECC error"},
}

// eventsReceiver delivers the source's device events (HLML critical, ECC and DRAM events) as
// log records.
type eventsReceiver struct {
	settings receiver.Settings
	shared   *sharedSource
	next     consumer.Logs

	resource pcommon.Resource // the host, as on the receiver's metrics

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newEventsReceiver(set receiver.Settings, shared *sharedSource, next consumer.Logs) *eventsReceiver {
	return &eventsReceiver{settings: set, shared: shared, next: next}
}

func (r *eventsReceiver) Start(ctx context.Context, _ component.Host) error {
	res, err := hostResource(r.shared.cfg, os.Hostname)
	if err != nil {
		return fmt.Errorf("gaudi receiver: %w", err)
	}
	r.resource = res
	src, err := r.shared.acquire(ctx)
	if err != nil {
		return fmt.Errorf("gaudi receiver: %w", err)
	}
	es, ok := src.(hpu.EventSource)
	if !ok {
		r.settings.Logger.Info("The HPU source delivers no device events; the logs pipeline of this receiver stays empty", zap.String("source", src.Name()))
		return nil
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.loop(loopCtx, es)
	}()
	return nil
}

func (r *eventsReceiver) loop(ctx context.Context, es hpu.EventSource) {
	var lastErr string
	for ctx.Err() == nil {
		events, err := es.WaitEvents(ctx, eventWait)
		switch {
		case errors.Is(err, context.Canceled):
			return
		case err != nil:
			// A source that cannot watch some devices says so on every wait: warn once per cause.
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				r.settings.Logger.Warn("Waiting for HPU device events failed; retrying", zap.Error(err), zap.Duration("retry_in", eventRetry))
			}
			if len(events) == 0 && !pause(ctx, eventRetry) {
				return
			}
		}
		if len(events) == 0 {
			continue
		}
		if err := r.next.ConsumeLogs(ctx, eventLogs(events, r.resource)); err != nil {
			r.settings.Logger.Error("Delivering HPU device events failed", zap.Int("events", len(events)), zap.Error(err))
		}
	}
}

func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (r *eventsReceiver) Shutdown(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
	}
	return r.shared.release(ctx)
}

// eventLogs turns device events into log records: "HPU 3: critical error".
func eventLogs(events []hpu.Event, res pcommon.Resource) plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	res.CopyTo(rl.Resource())
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	records := sl.LogRecords()
	records.EnsureCapacity(len(events))
	for _, e := range events {
		sev, ok := eventSeverity[e.Kind]
		kind := string(e.Kind)
		if !ok {
			// A kind the receiver does not know is passed on as the source names it, if printable.
			if hpu.CheckText(kind) != "" {
				kind = "unknown"
			}
			sev.number, sev.text = plog.SeverityNumberError, kind
		}
		lr := records.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.SetEventName(eventName)
		lr.SetSeverityNumber(sev.number)
		lr.SetSeverityText(strings.ToUpper(sev.number.String()))
		lr.Body().SetStr(fmt.Sprintf("HPU %d: %s", e.Index, sev.text))
		attrs := lr.Attributes()
		attrs.PutInt("hpu.index", e.Index)
		// The UUID is the library's text, checked as the metrics' identities are; an event is
		// never dropped for it, its record only goes without the UUID.
		uuid := e.UUID
		if hpu.CheckText(uuid) != "" {
			uuid = ""
		}
		attrs.PutStr("hpu.uuid", uuid)
		attrs.PutStr("hpu.event", kind)
	}
	return logs
}
