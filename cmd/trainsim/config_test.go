package main

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "localhost:4317", c.endpoint)
	assert.Equal(t, "grpc", c.protocol)
	assert.True(t, c.insecure)
	assert.Equal(t, 1, c.ranks)
	assert.Equal(t, 1, c.worldSize, "world size defaults to the local ranks")
	assert.Equal(t, time.Second, c.interval)
	assert.Nil(t, c.modules, "no HABANA_VISIBLE_MODULES, no module ids")
	assert.Equal(t, stallHang, c.stallMode)
}

func TestConfigHTTPDefaultPort(t *testing.T) {
	c, err := parseConfig([]string{"-protocol", "http"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "localhost:4318", c.endpoint)

	c, err = parseConfig([]string{"-protocol", "http", "-endpoint", "collector:9999"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "collector:9999", c.endpoint, "an explicit endpoint is kept")
}

func TestConfigVisibleModules(t *testing.T) {
	c, err := parseConfig([]string{"-ranks", "2", "-node-rank", "1", "-world-size", "4", "-hpu-indexes", "0,1"},
		env(map[string]string{"HABANA_VISIBLE_MODULES": "6, 2,7"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []int{6, 2, 7}, c.modules)
	ids := identities(c, "node-b")
	require.Len(t, ids, 2)
	assert.Equal(t, identity{serviceName: "trainsim", jobID: "demo-job", host: "node-b", rank: 2, localRank: 0, worldSize: 4, moduleID: 6, hpuIndex: 0}, ids[0])
	assert.Equal(t, identity{serviceName: "trainsim", jobID: "demo-job", host: "node-b", rank: 3, localRank: 1, worldSize: 4, moduleID: 2, hpuIndex: 1}, ids[1])

	c, err = parseConfig([]string{"-visible-modules", "3"}, env(map[string]string{"HABANA_VISIBLE_MODULES": "6"}), io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []int{3}, c.modules, "the flag overrides the environment")
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-protocol", "udp"}, `-protocol "udp": want grpc or http`},
		{[]string{"-ranks", "0"}, "-ranks 0: want at least 1"},
		{[]string{"-ranks", "4", "-world-size", "2"}, "-world-size 2 is smaller than the highest global rank 3 plus one"},
		{[]string{"-ranks", "2", "-node-rank", "1", "-world-size", "3"}, "-world-size 3 is smaller than the highest global rank 3 plus one"},
		{[]string{"-ranks", "3", "-visible-modules", "0,1"}, "-visible-modules lists 2 modules for 3 local ranks"},
		{[]string{"-visible-modules", "0,x"}, `-visible-modules "0,x": element 1 ("x") is not a non-negative integer`},
		{[]string{"-fault-ranks", "-1"}, `-fault-ranks "-1": element 0 ("-1") is not a non-negative integer`},
		{[]string{"-stall-mode", "freeze"}, `-stall-mode "freeze": want hang or silent`},
		{[]string{"-slow-factor", "0"}, "-slow-factor 0: want more than 0"},
		{[]string{"-interval", "0s"}, "-interval must be positive"},
		{[]string{"-eval-every", "0"}, "-eval-every 0: want at least 1"},
		{[]string{"extra"}, `unexpected arguments: ["extra"]`},
	} {
		_, err := parseConfig(tc.args, env(nil), io.Discard)
		if assert.Error(t, err, "%v", tc.args) {
			assert.Contains(t, err.Error(), tc.want, "%v", tc.args)
		}
	}
	_, err := parseConfig([]string{"-h"}, env(nil), io.Discard)
	assert.ErrorIs(t, err, flag.ErrHelp)
}
