// Package doctable reads the markdown tables that the docs mark with <!-- BEGIN name ... --> and
// <!-- END name -->, so that tests can hold code and docs to each other with one reader.
package doctable

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Read returns the rows of the table named name in doc, each cell trimmed of spaces (code quotes
// are kept), after checking that its header row is header and that every row has a cell per column.
func Read(doc, name string, header []string) ([][]string, error) {
	m := regexp.MustCompile(`(?s)<!-- BEGIN ` + regexp.QuoteMeta(name) + `[^>]*-->\n(.*?)<!-- END ` + regexp.QuoteMeta(name) + ` -->`).FindStringSubmatch(doc)
	if m == nil {
		return nil, fmt.Errorf("no %s between BEGIN/END markers", name)
	}
	lines := strings.Split(strings.TrimSpace(m[1]), "\n")
	if len(lines) < 3 || !slices.Equal(Cells(lines[0]), header) {
		return nil, fmt.Errorf("%s: want the columns %q and rows, got %q", name, header, lines)
	}
	var rows [][]string
	for _, l := range lines[2:] {
		c := Cells(l)
		if len(c) != len(header) {
			return nil, fmt.Errorf("%s: row %q has %d cells, want %d", name, l, len(c), len(header))
		}
		rows = append(rows, c)
	}
	return rows, nil
}

// Cells splits one markdown table row into its cells, trimmed of spaces.
func Cells(line string) []string {
	parts := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}
