package hpujobprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestDeviceOf(t *testing.T) {
	tests := []struct {
		name    string
		res     map[string]any
		want    deviceRef
		reason  skipReason
		wantErr string
	}{
		{name: "int index", res: map[string]any{attrIndex: int64(3)}, want: deviceRef{kind: refIndex, num: 3}},
		{name: "string index", res: map[string]any{attrIndex: " 3 "}, want: deviceRef{kind: refIndex, num: 3}},
		{name: "integral double", res: map[string]any{attrModuleID: 6.0}, want: deviceRef{kind: refModule, num: 6}},
		{name: "module list with spaces", res: map[string]any{attrModuleID: "4, 5, 6, 7", attrLocalRank: int64(3)}, want: deviceRef{kind: refModule, num: 7}},
		{name: "local rank as string", res: map[string]any{attrModuleID: "4,5,6,7", attrLocalRank: "0"}, want: deviceRef{kind: refModule, num: 4}},
		{name: "slice of strings", res: map[string]any{attrModuleID: []any{"2", "3"}, attrLocalRank: int64(1)}, want: deviceRef{kind: refModule, num: 3}},
		{name: "index list", res: map[string]any{attrIndex: "0,1", attrLocalRank: int64(1)}, want: deviceRef{kind: refIndex, num: 1}},
		{name: "uuid", res: map[string]any{attrUUID: "01P4-X"}, want: deviceRef{kind: refUUID, str: "01P4-X"}},
		{name: "index before module before uuid", res: map[string]any{attrUUID: "u", attrModuleID: int64(2), attrIndex: int64(1)}, want: deviceRef{kind: refIndex, num: 1}},
		{name: "module before uuid", res: map[string]any{attrUUID: "u", attrModuleID: int64(2)}, want: deviceRef{kind: refModule, num: 2}},
		{name: "none", res: map[string]any{}, reason: skipNoDevice},
		{name: "negative", res: map[string]any{attrIndex: int64(-1)}, reason: skipInvalidDevice, wantErr: "hpu.index: negative value -1"},
		{name: "fractional", res: map[string]any{attrIndex: 1.5}, reason: skipInvalidDevice, wantErr: "hpu.index: not a non-negative integer: 1.5"},
		{name: "word", res: map[string]any{attrModuleID: "two"}, reason: skipInvalidDevice, wantErr: `hpu.module.id: not a non-negative integer: "two"`},
		{name: "bool", res: map[string]any{attrIndex: true}, reason: skipInvalidDevice, wantErr: `hpu.index: want an integer, got Bool "true"`},
		{name: "empty list entry", res: map[string]any{attrModuleID: "4,,6", attrLocalRank: int64(0)}, reason: skipInvalidDevice, wantErr: `hpu.module.id: list "4,,6": not a non-negative integer: ""`},
		{name: "empty slice", res: map[string]any{attrModuleID: []any{}}, reason: skipInvalidDevice, wantErr: `hpu.module.id: empty list "[]"`},
		{name: "list without local rank", res: map[string]any{attrModuleID: "4,5"}, reason: skipInvalidDevice, wantErr: `hpu.module.id: list "4,5" names 2 devices and training.local_rank is missing`},
		{name: "local rank out of range", res: map[string]any{attrModuleID: "4,5", attrLocalRank: int64(2)}, reason: skipInvalidDevice, wantErr: `hpu.module.id: list "4,5" names 2 devices, training.local_rank 2 is out of range`},
		{name: "negative local rank", res: map[string]any{attrModuleID: "4,5", attrLocalRank: int64(-1)}, reason: skipInvalidDevice, wantErr: `hpu.module.id: training.local_rank: negative value -1`},
		{name: "empty uuid", res: map[string]any{attrUUID: " "}, reason: skipInvalidDevice, wantErr: `hpu.uuid: want a non-empty string, got Str " "`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pcommon.NewMap()
			require.NoError(t, m.FromRaw(tt.res))
			got, reason, err := deviceOf(m)
			assert.Equal(t, tt.reason, reason)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseJobCopiesAttributesWithTheirTypes(t *testing.T) {
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(map[string]any{
		attrJobID: "A", attrRank: int64(7), attrHostName: "Node-1", attrIndex: int64(2),
		"d": 0.5, "b": false, "s": []any{"x"},
	}))
	c, reason, err := parseJob(m, "A", []string{attrJobID, attrRank, "d", "b", "s", "missing"})
	require.NoError(t, err)
	require.Empty(t, reason)
	assert.Equal(t, jobClaim{
		host:  "node-1",
		ref:   deviceRef{kind: refIndex, num: 2},
		owner: owner{job: "A", rank: "7"},
		attrs: []attr{
			{key: attrJobID, typ: pcommon.ValueTypeStr, str: "A"},
			{key: attrRank, typ: pcommon.ValueTypeInt, num: 7},
			{key: "d", typ: pcommon.ValueTypeDouble, dbl: 0.5},
			{key: "b", typ: pcommon.ValueTypeBool},
			{key: "s", typ: pcommon.ValueTypeStr, str: `["x"]`},
		},
	}, c)

	dst := pcommon.NewMap()
	for i := range c.attrs {
		c.attrs[i].putInto(dst)
	}
	assert.Equal(t, map[string]any{attrJobID: "A", attrRank: int64(7), "d": 0.5, "b": false, "s": `["x"]`}, dst.AsRaw())
}

func TestParseJobWithoutHost(t *testing.T) {
	for _, host := range []any{nil, "", int64(5)} {
		m := pcommon.NewMap()
		raw := map[string]any{attrJobID: "A", attrIndex: int64(2)}
		if host != nil {
			raw[attrHostName] = host
		}
		require.NoError(t, m.FromRaw(raw))
		_, reason, err := parseJob(m, "A", nil)
		require.NoError(t, err)
		assert.Equal(t, skipNoHost, reason, "host.name %#v", host)
	}
}
