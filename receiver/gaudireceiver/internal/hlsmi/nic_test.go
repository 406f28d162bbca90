package hlsmi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type portLine struct {
	port  int64
	value string
}

func collectPortLines(out string) ([]portLine, error) {
	var got []portLine
	err := portLines(out, func(port int64, value string) error {
		got = append(got, portLine{port, value})
		return nil
	})
	return got, err
}

func TestPortLines(t *testing.T) {
	t.Run("link with title line (Gaudi2E)", func(t *testing.T) {
		got, err := collectPortLines(readFixture(t, "gaudi2e_n_link.txt"))
		require.NoError(t, err)
		require.Len(t, got, 18)
		assert.Equal(t, portLine{0, "UP"}, got[0])
		assert.Equal(t, portLine{10, "UP"}, got[6], "ports 6-9 are not internal on this SKU")
		assert.Equal(t, portLine{21, "UP"}, got[17])
	})
	t.Run("link with narrow and wide gaps (Gaudi 2)", func(t *testing.T) {
		got, err := collectPortLines(readFixture(t, "gaudi2_n_link_short.txt"))
		require.NoError(t, err)
		assert.Equal(t, []portLine{{7, "UP"}, {9, "UP"}, {10, "UP"}, {11, "UP"}}, got)
	})
	t.Run("ports", func(t *testing.T) {
		got, err := collectPortLines(readFixture(t, "gaudi2_n_ports.txt"))
		require.NoError(t, err)
		assert.Equal(t, []portLine{{8, "external"}, {22, "external"}, {23, "external"}}, got)
	})
	t.Run("bad lines are reported, the others kept", func(t *testing.T) {
		got, err := collectPortLines("port 1: UP\nport x: UP\nport 2 DOWN\nport -3: UP\nport 4: DOWN\n")
		assert.Equal(t, []portLine{{1, "UP"}, {4, "DOWN"}}, got)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `output line 2: not "port N: ...": "port x: UP"`)
		assert.Contains(t, err.Error(), `output line 3: not "port N: ...": "port 2 DOWN"`)
		assert.Contains(t, err.Error(), `output line 4: not "port N: ...": "port -3: UP"`)
	})
	t.Run("fn's error names the line", func(t *testing.T) {
		err := portLines("\n\nport 5: FLAPPING\n", func(int64, string) error { return assert.AnError })
		assert.EqualError(t, err, "output line 3: "+assert.AnError.Error())
	})
}
