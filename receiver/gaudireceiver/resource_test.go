package gaudireceiver

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHostResource(t *testing.T) {
	osName := func() (string, error) { return "from-the-os", nil }
	noName := func() (string, error) { return "", errors.New("uname failed") }

	cfg := createDefaultConfig().(*Config)
	res, err := hostResource(cfg, osName)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"host.name": "from-the-os"}, res.Attributes().AsRaw(), "default: the OS hostname")

	cfg.HostName = "gaudi-node-07"
	res, err = hostResource(cfg, noName)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"host.name": "gaudi-node-07"}, res.Attributes().AsRaw(), "host_name wins, the OS is not asked")

	cfg.HostName = ""
	_, err = hostResource(cfg, noName)
	assert.EqualError(t, err, "host_name is not set and the OS hostname cannot be read (uname failed); set host_name")

	_, err = hostResource(cfg, func() (string, error) { return "node\x1b[2J", nil })
	assert.EqualError(t, err, `host name "node\x1b[2J" is unprintable character U+001B (byte 4); set host_name`)
}
