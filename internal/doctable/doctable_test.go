package doctable

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	const table = "<!-- BEGIN names: parsed by a test -->\n| A | B |\n|---|---|\n| `x` | y |\n|z|  |\n<!-- END names -->\n"
	rows, err := Read("text\n"+table+"more", "names", []string{"A", "B"})
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"`x`", "y"}, {"z", ""}}, rows)

	for _, tt := range []struct{ doc, want string }{
		{"no markers", "no names between BEGIN/END markers"},
		{"<!-- BEGIN names -->\n| A | C |\n|---|---|\n| x | y |\n<!-- END names -->", `want the columns ["A" "B"]`},
		{"<!-- BEGIN names -->\n| A | B |\n|---|---|\n<!-- END names -->", "want the columns"},
		{"<!-- BEGIN names -->\n| A | B |\n|---|---|\n| x | y | z |\n<!-- END names -->", "has 3 cells, want 2"},
	} {
		_, err := Read(tt.doc, "names", []string{"A", "B"})
		assert.ErrorContains(t, err, tt.want, tt.doc)
	}
}
