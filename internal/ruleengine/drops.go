package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"
)

const (
	// dropLogInterval spaces the warnings about dropped samples; Tick reports what was dropped since the
	// last warning once it has passed, whether or not more samples are dropped.
	dropLogInterval = time.Minute
	// maxSenderLabels bounds the distinct sender values of the dropped-samples counter and of a warning;
	// the drops of further senders are counted under otherSenders.
	maxSenderLabels = 100
	otherSenders    = "other"
	// warnTopSenders is how many senders a warning names, those that lost the most samples.
	warnTopSenders = 5
)

// dropReporter counts dropped samples by reason and sender in telemetry, and logs the totals since the
// last warning at most once per dropLogInterval.
type dropReporter struct {
	tel    *telemetry
	logger *zap.Logger
	// labels are the sender values in use, at most maxSenderLabels.
	labels  map[string]bool
	pending map[dropLabel]int64
	// lastLog is the wall time of the last warning, zero before the first.
	lastLog time.Time
}

type dropLabel struct {
	reason dropReason
	sender string
}

func newDropReporter(tel *telemetry, logger *zap.Logger) *dropReporter {
	return &dropReporter{tel: tel, logger: logger, labels: map[string]bool{}, pending: map[dropLabel]int64{}}
}

func (r *dropReporter) senderLabel(name string) string {
	if r.labels[name] {
		return name
	}
	if len(r.labels) >= maxSenderLabels {
		return otherSenders
	}
	r.labels[name] = true
	return name
}

func (r *dropReporter) record(ctx context.Context, drops map[dropKey]int64) {
	for k, n := range drops {
		label := r.senderLabel(k.sender.name)
		r.tel.recordDropped(ctx, k.reason, label, n)
		r.pending[dropLabel{k.reason, label}] += n
	}
}

// report logs the drops since the last warning, when there are some and dropLogInterval has passed.
func (r *dropReporter) report(now time.Time, series, maxSeries int) {
	if len(r.pending) == 0 || now.Sub(r.lastLog) < dropLogInterval {
		return
	}
	byReason := map[dropReason]int64{}
	bySender := map[string]map[dropReason]int64{}
	for k, n := range r.pending {
		byReason[k.reason] += n
		if bySender[k.sender] == nil {
			bySender[k.sender] = map[dropReason]int64{}
		}
		bySender[k.sender][k.reason] += n
	}
	total := func(m map[dropReason]int64) (n int64) {
		for _, v := range m {
			n += v
		}
		return n
	}
	names := slices.SortedFunc(maps.Keys(bySender), func(a, b string) int {
		return cmp.Or(cmp.Compare(total(bySender[b]), total(bySender[a])), strings.Compare(a, b))
	})
	var top []string
	for _, name := range names[:min(len(names), warnTopSenders)] {
		reasons := slices.Sorted(maps.Keys(bySender[name]))
		parts := make([]string, 0, len(reasons))
		for _, reason := range reasons {
			parts = append(parts, fmt.Sprintf("%s %d", reason, bySender[name][reason]))
		}
		top = append(top, fmt.Sprintf("%s (%s)", name, strings.Join(parts, ", ")))
	}
	fields := make([]zap.Field, 0, len(byReason)+5)
	for _, reason := range slices.Sorted(maps.Keys(byReason)) {
		fields = append(fields, zap.Int64(string(reason), byReason[reason]))
	}
	fields = append(fields, zap.Strings("senders", top), zap.Int("sender_count", len(names)),
		zap.Int("series", series), zap.Int("max_series", maxSeries))
	if !r.lastLog.IsZero() {
		fields = append(fields, zap.Duration("since_last_warning", now.Sub(r.lastLog)))
	}
	r.logger.Warn("Samples were not stored for rule evaluation", fields...)
	clear(r.pending)
	r.lastLog = now
}
