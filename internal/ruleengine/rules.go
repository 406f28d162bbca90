package ruleengine // import "github.com/otelcol-gaudi/otelcol-gaudi/internal/ruleengine"

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

// ruleFiles are the rule files, read and parsed once with Prometheus' rulefmt (which also checks
// expressions and templates), and what the engine derives from them. They serve as the rules manager's
// GroupLoader, so that Prometheus builds its groups from this one parse.
type ruleFiles struct {
	files  []string
	groups map[string]*rulefmt.RuleGroups
	exprs  map[string]parser.Expr
	// lookbehind is the longest time before an evaluation any rule reads (range, offset, subquery),
	// excluding the lookback delta.
	lookbehind time.Duration
	// longestInterval is the longest interval a group sets (0 if none sets one).
	longestInterval time.Duration
}

func newParser() parser.Parser { return parser.NewParser(parser.Options{}) }

// parseRuleFiles parses every rule file and reports each problem with its file, group and rule.
func parseRuleFiles(files []string) (*ruleFiles, error) {
	p := newParser()
	rf := &ruleFiles{files: files, groups: map[string]*rulefmt.RuleGroups{}, exprs: map[string]parser.Expr{}}
	var errs []error
	for _, file := range files {
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
		rf.groups[file] = rgs
		for _, g := range rgs.Groups {
			if iv := time.Duration(g.Interval); iv != 0 {
				if iv < minInterval || iv > maxInterval {
					errs = append(errs, fmt.Errorf("invalid rule file: %s: group %q: interval must be between %s and %s, got %s", file, g.Name, minInterval, maxInterval, iv))
					continue
				}
				rf.longestInterval = max(rf.longestInterval, iv)
			}
			for i, r := range g.Rules {
				expr, err := rf.Parse(r.Expr)
				if err != nil {
					errs = append(errs, fmt.Errorf("invalid rule file: %s: group %q, rule %d: %w", file, g.Name, i+1, err))
					continue
				}
				lb := lookbehind(expr)
				if g.QueryOffset != nil {
					lb += time.Duration(*g.QueryOffset)
				}
				rf.lookbehind = max(rf.lookbehind, lb)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rf, nil
}

// Load implements rules.GroupLoader: the groups of a file parsed before.
func (rf *ruleFiles) Load(file string, _ bool, _ model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	rgs, ok := rf.groups[file]
	if !ok {
		return nil, []error{fmt.Errorf("%s: not among the parsed rule files", file)}
	}
	return rgs, nil
}

// Parse implements rules.GroupLoader. Rules keep their expression only to print it: PromQL parses that
// string again at each evaluation, so rules with the same text can share one tree.
func (rf *ruleFiles) Parse(query string) (parser.Expr, error) {
	if e, ok := rf.exprs[query]; ok {
		return e, nil
	}
	e, err := newParser().ParseExpr(query)
	if err != nil {
		return nil, err
	}
	rf.exprs[query] = e
	return e, nil
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
