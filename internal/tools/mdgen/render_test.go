package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSpliceReadmeNeedsMarkers(t *testing.T) {
	m := &model{Type: "t"}
	for name, readme := range map[string]string{
		"no markers": "# T\n",
		"no end":     "# T\n" + readmeBegin + "\n",
		"no begin":   "# T\n" + readmeEnd + "\n",
		"two begins": readmeBegin + "\n" + readmeBegin + "\n" + readmeEnd + "\n",
		"end first":  readmeEnd + "\n" + readmeBegin + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := spliceReadme([]byte(readme), m)
			require.ErrorContains(t, err, "GENERATED: metrics")
		})
	}
}
