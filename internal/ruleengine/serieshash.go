package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"encoding/binary"
	"hash/maphash"
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// hash128 identifies a series by a 128-bit hash. The hashes key maps without keeping the hashed bytes:
// among even a million series the chance of any collision is about 10⁻²⁷, and the random per-process
// seeds keep senders from crafting one.
type hash128 struct{ a, b uint64 }

// seriesHasher hashes label sets and OTLP series identities (resource, scope, metric name, attributes)
// through a reusable buffer, so hashing allocates nothing.
type seriesHasher struct {
	seeds [2]maphash.Seed
	buf   []byte
}

func newSeriesHasher() *seriesHasher {
	return &seriesHasher{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
}

func (h *seriesHasher) sum() hash128 {
	return hash128{maphash.Bytes(h.seeds[0], h.buf), maphash.Bytes(h.seeds[1], h.buf)}
}

// labels hashes a label set.
func (h *seriesHasher) labels(lset labels.Labels) hash128 {
	h.buf = lset.Bytes(h.buf[:0])
	return h.sum()
}

// context hashes what every data point of one scope of one resource shares. Every resource attribute
// is included, not only those that become labels, so the hash does not depend on the translation settings.
func (h *seriesHasher) context(sc seriesContext) hash128 {
	h.buf = h.buf[:0]
	h.appendMap(sc.resource)
	h.appendString(sc.scope.Name())
	h.appendString(sc.scope.Version())
	h.appendString(sc.schema)
	h.appendMap(sc.scope.Attributes())
	return h.sum()
}

// metric hashes a context with the Prometheus name of one of its metrics.
func (h *seriesHasher) metric(context hash128, name string) hash128 {
	h.buf = h.buf[:0]
	h.appendHash(context)
	h.appendString(name)
	return h.sum()
}

// point hashes a metric with the attributes of one of its data points: the point's series identity.
func (h *seriesHasher) point(metric hash128, attrs pcommon.Map) hash128 {
	h.buf = h.buf[:0]
	h.appendHash(metric)
	h.appendMap(attrs)
	return h.sum()
}

// sender hashes a client address with the resource attributes that identify a sender.
func (h *seriesHasher) sender(peer string, res pcommon.Map) hash128 {
	h.buf = h.buf[:0]
	h.appendString(peer)
	for _, k := range senderAttributes {
		if v, ok := res.Get(k); ok {
			h.buf = append(h.buf, 1)
			h.appendString(v.AsString())
		} else {
			h.buf = append(h.buf, 0)
		}
	}
	return h.sum()
}

func (h *seriesHasher) appendHash(x hash128) {
	h.buf = binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(h.buf, x.a), x.b)
}

// appendString writes s with its length, so that no two sequences of strings encode alike.
func (h *seriesHasher) appendString(s string) {
	h.buf = binary.AppendUvarint(h.buf, uint64(len(s)))
	h.buf = append(h.buf, s...)
}

// appendMap writes the attributes in their order; the same attributes in another order only cost a
// second cache entry for the same series.
func (h *seriesHasher) appendMap(m pcommon.Map) {
	h.buf = binary.AppendUvarint(h.buf, uint64(m.Len()))
	for k, v := range m.All() {
		h.appendString(k)
		h.buf = append(h.buf, byte(v.Type()))
		switch v.Type() {
		case pcommon.ValueTypeStr:
			h.appendString(v.Str())
		case pcommon.ValueTypeInt:
			h.buf = binary.LittleEndian.AppendUint64(h.buf, uint64(v.Int()))
		case pcommon.ValueTypeDouble:
			h.buf = binary.LittleEndian.AppendUint64(h.buf, math.Float64bits(v.Double()))
		case pcommon.ValueTypeBool:
			if v.Bool() {
				h.buf = append(h.buf, 1)
			} else {
				h.buf = append(h.buf, 0)
			}
		case pcommon.ValueTypeEmpty:
		default:
			// Bytes, maps and slices are rare on metrics; their string form is what becomes the label.
			h.appendString(v.AsString())
		}
	}
}
