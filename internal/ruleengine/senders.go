package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

import (
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// senderAttributes identify a sender within its client: the resource attributes the prometheus exporter
// turns into job and instance, and the host. Other resource attributes (a rank, a pod) do not make a
// new sender, so one job's processes share one budget.
var senderAttributes = [...]string{attrServiceNamespace, attrServiceName, attrServiceInstanceID, attrHostName}

// localSender names the origin of batches that did not come over the network: the collector's own
// receivers (gaudi, host_metrics, prometheus, ...).
const localSender = "local"

// maxSenderValueLen bounds each attribute value in a sender's name; the values come from any client.
const maxSenderValueLen = 64

// sender is one source of samples: a resource identity from one client address, or from the collector's
// own receivers. Series limits are kept per sender, so that no one sender exhausts them for the others.
type sender struct {
	key hash128
	// name identifies the sender in logs and telemetry: "local" or the client's address, then the
	// identifying attributes, e.g. `10.0.0.7 service.name=trainer service.instance.id=rank-0`.
	name string
	// peer is the client's address, "" for the collector's own receivers.
	peer string
	// series is the number of series the sender registered that the store still holds.
	series int
}

func (s *sender) local() bool { return s.peer == "" }

// senders are the senders that hold at least one series, and their client addresses. A sender or a
// client is created when its first series is stored and forgotten with its last, so both tables are
// bounded by max_series.
type senders struct {
	hasher *seriesHasher
	byKey  map[hash128]*sender
	// clients counts the series of all senders of each client address together, so that a client
	// making up resource identities cannot take more than max_series_per_client.
	clients map[string]int
	// networkSeries counts the series of senders that are not local.
	networkSeries int
}

func newSenders(h *seriesHasher) *senders {
	return &senders{hasher: h, byKey: map[hash128]*sender{}, clients: map[string]int{}}
}

// lookup returns the sender of a resource received from peer ("" for the collector's own receivers): the
// one holding series, or a new one that hold registers when one of its series is stored.
func (ss *senders) lookup(peer string, res pcommon.Map) *sender {
	key := ss.hasher.sender(peer, res)
	if s, ok := ss.byKey[key]; ok {
		return s
	}
	return &sender{key: key, name: senderName(peer, res), peer: peer}
}

// clientSeries is the number of series held by the senders of s's client address.
func (ss *senders) clientSeries(s *sender) int { return ss.clients[s.peer] }

// hold counts one more series of s and returns the sender that holds it: s, or the sender of the same
// identity registered meanwhile by another resource of the batch.
func (ss *senders) hold(s *sender) *sender {
	if c, ok := ss.byKey[s.key]; ok {
		s = c
	} else {
		ss.byKey[s.key] = s
	}
	s.series++
	if !s.local() {
		ss.networkSeries++
		ss.clients[s.peer]++
	}
	return s
}

// release counts one series of s less, and forgets s, and its client, with their last series.
func (ss *senders) release(s *sender) {
	s.series--
	if !s.local() {
		ss.networkSeries--
		if ss.clients[s.peer]--; ss.clients[s.peer] <= 0 {
			delete(ss.clients, s.peer)
		}
	}
	if s.series <= 0 && ss.byKey[s.key] == s {
		delete(ss.byKey, s.key)
	}
}

func senderName(peer string, res pcommon.Map) string {
	var b strings.Builder
	if peer == "" {
		b.WriteString(localSender)
	} else {
		b.WriteString(truncateValue(peer))
	}
	for _, k := range senderAttributes {
		if v, ok := res.Get(k); ok {
			b.WriteByte(' ')
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(truncateValue(v.AsString()))
		}
	}
	return b.String()
}

// truncateValue cuts s to maxSenderValueLen bytes on a rune boundary and makes it valid UTF-8.
func truncateValue(s string) string {
	if len(s) > maxSenderValueLen {
		cut := maxSenderValueLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// resourceSender resolves the sender of one resource on first use: known series never need it.
type resourceSender struct {
	ss   *senders
	peer string
	res  pcommon.Map
	s    *sender
}

func (rs *resourceSender) get() *sender {
	if rs.s == nil {
		rs.s = rs.ss.lookup(rs.peer, rs.res)
	}
	return rs.s
}
