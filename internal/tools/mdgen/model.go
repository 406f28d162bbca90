package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"os"
	"slices"

	"go.opentelemetry.io/collector/component"
	"go.yaml.in/yaml/v3"
)

// file is the part of mdatagen's metadata.yaml that mdgen understands. Decoding is strict,
// so a key mdgen would silently ignore is an error instead.
type file struct {
	Type       string                `yaml:"type"`
	ScopeName  string                `yaml:"scope_name"`
	Status     status                `yaml:"status"`
	Attributes map[string]*attribute `yaml:"attributes"`
	Metrics    map[string]*metric    `yaml:"metrics"`
	// Only declared to reject it with a clear message: mdgen has no ResourceBuilder.
	ResourceAttributes yaml.Node `yaml:"resource_attributes"`
}

type status struct {
	Class     string              `yaml:"class"`
	Stability map[string][]string `yaml:"stability"`
}

type attribute struct {
	Description string   `yaml:"description"`
	Type        string   `yaml:"type"`
	Enum        []string `yaml:"enum"`

	Name       string      `yaml:"-"`
	GoName     string      `yaml:"-"` // HpuSensor
	ParamName  string      `yaml:"-"` // hpuSensorAttributeValue
	PromLabel  string      `yaml:"-"`
	EnumValues []enumValue `yaml:"-"`
	index      int         // position in metadata.yaml, makes distinct int test values
}

type enumValue struct {
	Value string
	Const string // AttributeHpuSensorOnChip
}

type metric struct {
	Enabled     *bool    `yaml:"enabled"` // a pointer, so that a forgotten "enabled" is an error
	Description string   `yaml:"description"`
	Unit        string   `yaml:"unit"`
	Gauge       *gauge   `yaml:"gauge"`
	Sum         *sum     `yaml:"sum"`
	AttrNames   []string `yaml:"attributes"`

	Name     string       `yaml:"-"`
	GoName   string       `yaml:"-"`
	PromName string       `yaml:"-"`
	Attrs    []*attribute `yaml:"-"`
	index    int
}

type gauge struct {
	ValueType string `yaml:"value_type"`
}

type sum struct {
	ValueType              string `yaml:"value_type"`
	Monotonic              bool   `yaml:"monotonic"`
	AggregationTemporality string `yaml:"aggregation_temporality"`
}

// model is what the templates see: metadata.yaml, validated, in its own order.
type model struct {
	Type      string
	ScopeName string
	// Stability maps a signal ("metrics", "logs") to the suffix of a component.StabilityLevel constant.
	Stability  map[string]string
	Attributes []*attribute
	Metrics    []*metric
}

var stabilityLevels = map[string]string{
	"development":  "Development",
	"alpha":        "Alpha",
	"beta":         "Beta",
	"stable":       "Stable",
	"deprecated":   "Deprecated",
	"unmaintained": "Unmaintained",
}

func loadModel(path string) (*model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Go maps forget the order of metadata.yaml; the README and the generated code keep it.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := newModel(&f, &doc)
	if err != nil {
		return nil, fmt.Errorf("%s is invalid:\n%w", path, err)
	}
	return m, nil
}

// problems collects every validation error, so that one run reports them all.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

func newModel(f *file, doc *yaml.Node) (*model, error) {
	var p problems
	m := &model{Type: f.Type, ScopeName: f.ScopeName}
	if _, err := component.NewType(f.Type); err != nil {
		p.add("type: %v", err)
	}
	if f.ScopeName == "" {
		p.add("scope_name is missing")
	}
	if f.ResourceAttributes.Kind != 0 {
		p.add("resource_attributes are not supported by mdgen; set the resource with WithResource instead")
	}
	if f.Status.Class != "receiver" {
		p.add("status.class is %q; mdgen only generates receivers", f.Status.Class)
	}
	m.addStability(f.Status.Stability, &p)
	byName := m.addAttributes(f.Attributes, keyOrder(doc, "attributes"), &p)
	m.addMetrics(f.Metrics, keyOrder(doc, "metrics"), byName, &p)
	return m, errors.Join(p...)
}

// stabilitySignals are the signals a receiver can declare a stability for.
var stabilitySignals = []string{"metrics", "logs"}

func (m *model) addStability(stability map[string][]string, p *problems) {
	m.Stability = map[string]string{}
	for level, signals := range stability {
		for _, s := range signals {
			switch {
			case !slices.Contains(stabilitySignals, s):
				p.add("status.stability: signal %q is not supported; mdgen generates %v", s, stabilitySignals)
			case stabilityLevels[level] == "":
				p.add("status.stability: unknown level %q", level)
			case m.Stability[s] != "":
				p.add("status.stability lists %s under more than one level", s)
			default:
				m.Stability[s] = stabilityLevels[level]
			}
		}
	}
	if m.Stability["metrics"] == "" {
		p.add("status.stability has no known level listing metrics")
	}
}

func (m *model) addAttributes(attrs map[string]*attribute, order []string, p *problems) map[string]*attribute {
	byName := map[string]*attribute{}
	goNames := map[string]string{}
	labels := map[string]string{}
	for i, name := range order {
		a := attrs[name]
		if a == nil {
			p.add("attribute %q: empty declaration", name)
			continue
		}
		a.Name, a.index = name, i
		a.GoName = goName(name, true)
		a.ParamName = goName(name, false) + "AttributeValue"
		byName[name] = a
		m.Attributes = append(m.Attributes, a)
		if err := a.validate(); err != nil {
			p.add("attribute %q: %w", name, err)
		}
		if other, dup := goNames[a.GoName]; dup {
			p.add("attributes %q and %q both become the Go name %s", other, name, a.GoName)
		}
		goNames[a.GoName] = name
		label, err := promLabel(name)
		if err != nil {
			p.add("attribute %q: Prometheus label: %w", name, err)
		}
		if other, dup := labels[label]; dup {
			p.add("attributes %q and %q both become the Prometheus label %s", other, name, label)
		}
		a.PromLabel, labels[label] = label, name
	}
	return byName
}

func (m *model) addMetrics(metrics map[string]*metric, order []string, attrs map[string]*attribute, p *problems) {
	if len(order) == 0 {
		p.add("metrics: none declared")
	}
	used := map[string]bool{}
	goNames := map[string]string{}
	promNames := map[string]string{}
	for i, name := range order {
		mt := metrics[name]
		if mt == nil {
			p.add("metric %q: empty declaration", name)
			continue
		}
		mt.Name, mt.index = name, i
		mt.GoName = goName(name, true)
		m.Metrics = append(m.Metrics, mt)
		for _, an := range mt.AttrNames {
			a := attrs[an]
			switch {
			case a == nil:
				p.add("metric %q: attribute %q is not declared under attributes", name, an)
			case slices.Contains(mt.Attrs, a):
				p.add("metric %q: attribute %q is listed twice", name, an)
			default:
				used[an] = true
				mt.Attrs = append(mt.Attrs, a)
			}
		}
		if other, dup := goNames[mt.GoName]; dup {
			p.add("metrics %q and %q both become the Go name %s", other, name, mt.GoName)
		}
		goNames[mt.GoName] = name
		if err := mt.validate(); err != nil {
			p.add("metric %q: %w", name, err)
			continue // its Prometheus name needs a valid type
		}
		prom, err := promName(mt)
		if err != nil {
			p.add("metric %q: Prometheus name: %w", name, err)
		}
		if other, dup := promNames[prom]; dup {
			p.add("metrics %q and %q both become the Prometheus name %s", other, name, prom)
		}
		mt.PromName, promNames[prom] = prom, name
	}
	for _, a := range m.Attributes {
		if !used[a.Name] {
			p.add("attribute %q is declared but no metric uses it", a.Name)
		}
	}
}

func (a *attribute) validate() error {
	if a.Description == "" {
		return errors.New("description is missing")
	}
	if !token.IsIdentifier(a.GoName) {
		return fmt.Errorf("name does not make a Go identifier (got %q)", a.GoName)
	}
	switch a.Type {
	case "string", "int":
	default:
		return fmt.Errorf("unsupported type %q (want string or int)", a.Type)
	}
	if a.Enum == nil {
		return nil // absent; yaml decodes "enum: []" to an empty, non-nil slice
	}
	if a.Type != "string" {
		return errors.New("enum needs type string")
	}
	if len(a.Enum) == 0 {
		return errors.New("enum has no values")
	}
	consts := map[string]string{}
	for _, v := range a.Enum {
		if v == "" {
			return errors.New("enum has an empty value")
		}
		c := "Attribute" + a.GoName + goName(v, true)
		if other, dup := consts[c]; dup {
			return fmt.Errorf("enum values %q and %q both become %s", other, v, c)
		}
		if !token.IsIdentifier(c) {
			return fmt.Errorf("enum value %q does not make a Go identifier", v)
		}
		consts[c] = v
		a.EnumValues = append(a.EnumValues, enumValue{Value: v, Const: c})
	}
	return nil
}

func (m *metric) validate() error {
	switch {
	case m.Enabled == nil:
		return errors.New("enabled is missing (true or false)")
	case m.Description == "":
		return errors.New("description is missing")
	case m.Unit == "":
		return errors.New(`unit is missing (use "1" for a dimensionless value)`)
	case m.Gauge != nil && m.Sum != nil:
		return errors.New("has both gauge and sum; declare exactly one")
	case m.Gauge == nil && m.Sum == nil:
		return errors.New("has neither gauge nor sum; declare exactly one")
	case !token.IsIdentifier(m.GoName):
		return fmt.Errorf("name does not make a Go identifier (got %q)", m.GoName)
	}
	if vt := m.ValueType(); vt != "int" && vt != "double" {
		return fmt.Errorf("unknown value_type %q (want int or double)", vt)
	}
	if s := m.Sum; s != nil && s.AggregationTemporality != "cumulative" && s.AggregationTemporality != "delta" {
		return fmt.Errorf("unknown aggregation_temporality %q (want cumulative or delta)", s.AggregationTemporality)
	}
	return nil
}

// keyOrder returns the keys of the top-level mapping under key, in file order.
func keyOrder(doc *yaml.Node, key string) []string {
	if len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != key {
			continue
		}
		var keys []string
		val := top.Content[i+1]
		for j := 0; j+1 < len(val.Content); j += 2 {
			keys = append(keys, val.Content[j].Value)
		}
		return keys
	}
	return nil
}

// ValueType is int or double.
func (m *metric) ValueType() string {
	if m.Sum != nil {
		return m.Sum.ValueType
	}
	return m.Gauge.ValueType
}
