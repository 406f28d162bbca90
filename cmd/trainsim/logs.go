package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
)

// loggerName is the Python logger of the original design; it becomes the instrumentation scope.
const loggerName = "gaudi3_scale"

// level is a Python logging level, as the original design's JSON lines carry it.
type level int

const (
	levelDebug level = iota
	levelInfo
	levelWarning
	levelError
	levelCritical
)

// text is the level's name in Python (record.levelname), kept as the OTel severity text.
func (l level) text() string {
	return [...]string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}[l]
}

// severity maps the level as OpenTelemetry's Python logging handler does.
func (l level) severity() log.Severity {
	return [...]log.Severity{log.SeverityDebug, log.SeverityInfo, log.SeverityWarn, log.SeverityError, log.SeverityFatal}[l]
}

// site is where in the (simulated) training code a record is logged.
type site struct {
	module, function string
	line             int
}

// logRecord is one record with the original design's fields.
type logRecord struct {
	time     time.Time
	level    level
	message  string
	site     site
	hpuID    int // the device as the framework numbers it (hpu:N)
	batchIdx int
}

// otel is the record as an OTel log record: message as body, level as severity, logger as scope
// (set by the Logger), function as the semconv code.* attributes, the rest as attributes.
func (r logRecord) otel() log.Record {
	var rec log.Record
	rec.SetTimestamp(r.time)
	rec.SetObservedTimestamp(r.time)
	rec.SetSeverity(r.level.severity())
	rec.SetSeverityText(r.level.text())
	rec.SetBody(attribute.StringValue(r.message))
	rec.AddAttributes(
		// semconv: "fully-qualified name": Python's module.function.
		attrCodeFunction.String(r.site.module+"."+r.site.function),
		attrCodeLine.Int(r.site.line),
		attrHPUOrdinal.Int(r.hpuID),
		attrBatchIndex.Int(r.batchIdx),
	)
	return rec
}

// jsonLine is the original design's StructuredFormatter output, field for field and in its order.
type jsonLine struct {
	Timestamp string `json:"timestamp"`
	Level     string `json:"level"`
	Logger    string `json:"logger"`
	Message   string `json:"message"`
	Module    string `json:"module"`
	Function  string `json:"function"`
	Line      int    `json:"line"`
	HPUID     int    `json:"hpu_id"`
	BatchIdx  int    `json:"batch_idx"`
}

// pythonISOFormat is datetime.utcnow().isoformat(): UTC without a zone designator.
const pythonISOFormat = "2006-01-02T15:04:05.000000"

// jsonLines writes records as JSON lines; ranks share one, so writes are serialised.
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

func (j *jsonLines) write(r logRecord) error {
	b, err := json.Marshal(jsonLine{
		Timestamp: r.time.UTC().Format(pythonISOFormat),
		Level:     r.level.text(),
		Logger:    loggerName,
		Message:   r.message,
		Module:    r.site.module,
		Function:  r.site.function,
		Line:      r.site.line,
		HPUID:     r.hpuID,
		BatchIdx:  r.batchIdx,
	})
	if err != nil {
		return fmt.Errorf("encoding a log record as JSON: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing the JSON log: %w", err)
	}
	return nil
}

// logSink sends a rank's records over OTLP and, if set, to the JSON lines.
type logSink struct {
	logger log.Logger
	json   *jsonLines // nil: none
}

func (s logSink) emit(ctx context.Context, r logRecord) error {
	s.logger.Emit(ctx, r.otel())
	if s.json == nil {
		return nil
	}
	return s.json.write(r)
}
