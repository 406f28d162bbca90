package main

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/otlptranslator"
)

// acronyms are the golint initialisms that mdatagen upper-cases; using the same list keeps
// the generated identifiers unchanged if the component moves to mdatagen.
var acronyms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CA": true, "CORS": true, "CPU": true, "CSS": true,
	"DNS": true, "EOF": true, "GUID": true, "HTML": true, "HTTP": true, "HTTPS": true, "ID": true,
	"IP": true, "JSON": true, "LHS": true, "QPS": true, "RAM": true, "RHS": true, "RPC": true,
	"SLA": true, "SMTP": true, "SQL": true, "SSH": true, "TCP": true, "TLS": true, "TPM": true,
	"TTL": true, "UDP": true, "UI": true, "UID": true, "UUID": true, "URI": true, "URL": true,
	"UTF8": true, "VM": true, "XML": true, "XMPP": true, "XSRF": true, "XSS": true,
}

// goName turns a metric, attribute or enum value name into a CamelCase Go identifier the way
// mdatagen does: "hpu.pci.bus_id" becomes HpuPciBusID, or hpuPciBusID when not exported.
// Like mdatagen, it leaves an acronym alone when it is the whole name or starts an unexported one.
func goName(name string, exported bool) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var b strings.Builder
	for i, p := range parts {
		if acronyms[strings.ToUpper(p)] && (i > 0 || exported && len(parts) > 1) {
			b.WriteString(strings.ToUpper(p))
			continue
		}
		r, size := utf8.DecodeRuneInString(p)
		if i == 0 && !exported {
			r = unicode.ToLower(r)
		} else {
			r = unicode.ToUpper(r)
		}
		b.WriteRune(r)
		b.WriteString(p[size:])
	}
	return b.String()
}

// promName is the name the Prometheus exporter gives the metric by default: unit and
// _total suffixes added, UTF-8 escaped to underscores, no namespace (see its configureMetricNamer).
func promName(m *metric) (string, error) {
	t := otlptranslator.MetricType(otlptranslator.MetricTypeGauge)
	if m.Sum != nil {
		t = otlptranslator.MetricTypeNonMonotonicCounter
		if m.Sum.Monotonic {
			t = otlptranslator.MetricTypeMonotonicCounter
		}
	}
	namer := otlptranslator.MetricNamer{WithMetricSuffixes: true}
	return namer.Build(otlptranslator.Metric{Name: m.Name, Unit: m.Unit, Type: t})
}

// promLabel is the label name the Prometheus exporter gives the attribute by default.
func promLabel(name string) (string, error) {
	namer := otlptranslator.LabelNamer{PreserveMultipleUnderscores: true}
	return namer.Build(name)
}
