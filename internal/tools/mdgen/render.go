package main

import (
	"bytes"
	"embed"
	"fmt"
	"go/format"
	"path"
	"strconv"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"quote": strconv.Quote,
	// md keeps a value from breaking out of its Markdown table cell.
	"md": func(s string) string { return strings.ReplaceAll(s, "|", `\|`) },
	// codeList renders names as a comma-separated list of Markdown code spans.
	"codeList": func(names []string) string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = "`" + n + "`"
		}
		return strings.Join(out, ", ")
	},
}).ParseFS(templateFS, "templates/*.tmpl"))

// outputs maps each template to the file it produces, relative to the component folder.
var outputs = []struct{ template, path string }{
	{"status.go.tmpl", "internal/metadata/generated_status.go"},
	{"config.go.tmpl", "internal/metadata/generated_config.go"},
	{"metrics.go.tmpl", "internal/metadata/generated_metrics.go"},
	{"metrics_test.go.tmpl", "internal/metadata/generated_metrics_test.go"},
	{"config.yaml.tmpl", "internal/metadata/testdata/config.yaml"},
}

const (
	readmeBegin = "<!-- BEGIN GENERATED: metrics (go generate) -->"
	readmeEnd   = "<!-- END GENERATED: metrics -->"
)

// render returns the generated files by path, Go sources gofmt'ed.
func render(m *model) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, o := range outputs {
		out, err := execute(o.template, m)
		if err != nil {
			return nil, err
		}
		if path.Ext(o.path) == ".go" {
			if out, err = format.Source(out); err != nil {
				return nil, fmt.Errorf("gofmt %s: %w", o.path, err)
			}
		}
		files[o.path] = out
	}
	return files, nil
}

func execute(name string, m *model) ([]byte, error) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// spliceReadme replaces what lies between the README markers with the generated section
// and keeps the rest of the README, which people write.
func spliceReadme(readme []byte, m *model) ([]byte, error) {
	text := string(readme)
	for _, marker := range []string{readmeBegin, readmeEnd} {
		if n := strings.Count(text, marker); n != 1 {
			return nil, fmt.Errorf("must contain the line %q exactly once, found it %d times", marker, n)
		}
	}
	begin := strings.Index(text, readmeBegin) + len(readmeBegin)
	end := strings.Index(text, readmeEnd)
	if end < begin {
		return nil, fmt.Errorf("%q comes before %q", readmeEnd, readmeBegin)
	}
	section, err := execute("readme.md.tmpl", m)
	if err != nil {
		return nil, err
	}
	return []byte(text[:begin] + "\n" + strings.TrimSpace(string(section)) + "\n" + text[end:]), nil
}

// The methods below give the templates what metadata.yaml implies.

func (m *model) EnumAttributes() []*attribute {
	var out []*attribute
	for _, a := range m.Attributes {
		if a.Enum != nil {
			out = append(out, a)
		}
	}
	return out
}

// FirstSum is the sum the generated test checks WithStartTimeOverride on, nil without sums.
func (m *model) FirstSum() *metric {
	for _, mt := range m.Metrics {
		if mt.Sum != nil {
			return mt
		}
	}
	return nil
}

func (m *metric) IsEnabled() bool { return *m.Enabled }

// DataType names the pmetric accessor: Gauge() or Sum().
func (m *metric) DataType() string {
	if m.Sum != nil {
		return "Sum"
	}
	return "Gauge"
}

// PdataValueType names the pmetric value setter and value type: SetIntValue, NumberDataPointValueTypeInt.
func (m *metric) PdataValueType() string {
	if m.ValueType() == "int" {
		return "Int"
	}
	return "Double"
}

func (m *metric) GoValueType() string {
	if m.ValueType() == "int" {
		return "int64"
	}
	return "float64"
}

// Temporality names the pmetric.AggregationTemporality constant suffix.
func (m *metric) Temporality() string {
	if m.Sum.AggregationTemporality == "delta" {
		return "Delta"
	}
	return "Cumulative"
}

// TypeDoc describes the metric's type for the README.
func (m *metric) TypeDoc() string {
	if m.Sum == nil {
		return "gauge"
	}
	mono := "non-monotonic"
	if m.Sum.Monotonic {
		mono = "monotonic"
	}
	return "sum, " + mono + ", " + m.Sum.AggregationTemporality
}

// TestValue is the value the generated test records, distinct per metric.
func (m *metric) TestValue() int { return m.index + 1 }

func (a *attribute) GoType() string {
	switch {
	case a.Enum != nil:
		return "Attribute" + a.GoName
	case a.Type == "int":
		return "int64"
	}
	return "string"
}

// TestArg is the Go expression the generated test passes for this attribute.
func (a *attribute) TestArg() string {
	switch {
	case a.Enum != nil:
		return a.EnumValues[0].Const
	case a.Type == "int":
		return strconv.Itoa(a.index + 1)
	}
	return strconv.Quote(a.Name + "-val")
}

// TestWant is the Go expression for the pcommon raw value TestArg must produce.
func (a *attribute) TestWant() string {
	switch {
	case a.Enum != nil:
		return strconv.Quote(a.Enum[0])
	case a.Type == "int":
		return "int64(" + strconv.Itoa(a.index+1) + ")"
	}
	return strconv.Quote(a.Name + "-val")
}
