package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// testFile is promtool's rule unit-test format (docs/configuration/unit_testing_rules.md).
type testFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	GroupEvalOrder     []string       `yaml:"group_eval_order"`
	Tests              []testGroup    `yaml:"tests"`
}

type testGroup struct {
	Name           string            `yaml:"name"`
	Interval       model.Duration    `yaml:"interval"`
	InputSeries    []inputSeries     `yaml:"input_series"`
	AlertRuleTests []alertRuleTest   `yaml:"alert_rule_test"`
	PromQLTests    []promqlTest      `yaml:"promql_expr_test"`
	ExternalLabels map[string]string `yaml:"external_labels"`
	ExternalURL    string            `yaml:"external_url"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertRuleTest struct {
	EvalTime  model.Duration `yaml:"eval_time"`
	Alertname string         `yaml:"alertname"`
	ExpAlerts []expAlert     `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

type promqlTest struct {
	Expr       string         `yaml:"expr"`
	EvalTime   model.Duration `yaml:"eval_time"`
	ExpSamples []expSample    `yaml:"exp_samples"`
}

type expSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// readTestFile parses path strictly and resolves rule_files (globs allowed) relative to its directory.
func readTestFile(path string) (*testFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var tf testFile
	if err := dec.Decode(&tf); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if len(tf.GroupEvalOrder) > 0 {
		return nil, fmt.Errorf("%s: group_eval_order is not supported: the processor evaluates groups in file and name order", path)
	}
	if tf.EvaluationInterval == 0 {
		tf.EvaluationInterval = model.Duration(defaultInterval)
	}
	dir := filepath.Dir(path)
	var files []string
	for _, f := range tf.RuleFiles {
		if !filepath.IsAbs(f) {
			f = filepath.Join(dir, f)
		}
		matches, err := filepath.Glob(f)
		if err != nil {
			return nil, fmt.Errorf("%s: rule_files: %w", path, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: rule_files: no file matches %s", path, f)
		}
		files = append(files, matches...)
	}
	tf.RuleFiles = files
	return &tf, nil
}
