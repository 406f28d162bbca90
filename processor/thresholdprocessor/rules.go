package thresholdprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/thresholdprocessor"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// nameValidation is Prometheus 3's default: UTF-8 metric and label names are legal in rule files.
const nameValidation = model.UTF8Validation

// ruleInfo is what the processor needs to know about the rule files before evaluating them.
type ruleInfo struct {
	// lookbehind is the longest time before an evaluation any rule reads (range, offset, subquery),
	// excluding the lookback delta.
	lookbehind time.Duration
	// longestInterval is the longest group interval.
	longestInterval time.Duration
	numRules        int
}

func newParser() parser.Parser { return parser.NewParser(parser.Options{}) }

// loadRules parses every rule file with Prometheus' rulefmt (which also parses expressions and templates)
// and reports each problem with its file, group and rule.
func loadRules(cfg *Config) (ruleInfo, error) {
	p := newParser()
	info := ruleInfo{longestInterval: cfg.EvaluationInterval}
	var errs []error
	for _, file := range cfg.RuleFiles {
		rgs, ferrs := rulefmt.ParseFile(file, false, nameValidation, p, promslog.NewNopLogger())
		for _, err := range ferrs {
			// Most rulefmt errors start with the file and position already.
			if !strings.HasPrefix(err.Error(), file) {
				err = fmt.Errorf("%s: %w", file, err)
			}
			errs = append(errs, fmt.Errorf("invalid rule file: %w", err))
		}
		if len(ferrs) > 0 {
			continue
		}
		for _, g := range rgs.Groups {
			if iv := time.Duration(g.Interval); iv > info.longestInterval {
				info.longestInterval = iv
			}
			for i, r := range g.Rules {
				expr, err := p.ParseExpr(r.Expr)
				if err != nil {
					errs = append(errs, fmt.Errorf("invalid rule file: %s: group %q, rule %d: %w", file, g.Name, i+1, err))
					continue
				}
				info.numRules++
				lb := lookbehind(expr)
				if g.QueryOffset != nil {
					lb += time.Duration(*g.QueryOffset)
				}
				info.lookbehind = max(info.lookbehind, lb)
			}
		}
	}
	if len(errs) > 0 {
		return ruleInfo{}, errors.Join(errs...)
	}
	return info, nil
}

// lookbehind is how far back from the evaluation time expr reads samples, lookback delta excluded.
func lookbehind(expr parser.Expr) time.Duration {
	var longest time.Duration
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		d := max(vs.OriginalOffset, 0)
		for i := len(path) - 1; i >= 0; i-- {
			switch n := path[i].(type) {
			case *parser.MatrixSelector:
				if i == len(path)-1 {
					d += n.Range
				}
			case *parser.SubqueryExpr:
				d += n.Range + max(n.OriginalOffset, 0)
			}
		}
		longest = max(longest, d)
		return nil
	})
	return longest
}

// selectedNames lists the metric names expr selects by equality on __name__; rules selecting by
// regular expression or without a name are not tied to particular data points.
func selectedNames(expr parser.Expr) []string {
	var names []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				names = append(names, m.Value)
			}
		}
		return nil
	})
	return names
}
