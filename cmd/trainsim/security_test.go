package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/testpki"
)

func TestConfigTLSFlags(t *testing.T) {
	c, err := parseConfig([]string{"-ca-file", "ca.crt"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.False(t, c.insecure, "-ca-file implies TLS")

	c, err = parseConfig([]string{"-insecure=false"}, env(nil), io.Discard)
	require.NoError(t, err)
	assert.False(t, c.insecure)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-insecure=true", "-ca-file", "ca.crt"}, "-insecure=true contradicts"},
		{[]string{"-cert-file", "c.crt"}, "-cert-file and -key-file go together"},
		{[]string{"-key-file", "c.key"}, "-cert-file and -key-file go together"},
	} {
		_, err := parseConfig(tc.args, env(nil), io.Discard)
		assert.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

func TestSecurity(t *testing.T) {
	pki := testpki.New(t)
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(token, []byte("s3cret\n"), 0o600))

	c, err := parseConfig([]string{"-ca-file", pki.CAFile, "-cert-file", pki.ClientCert, "-key-file", pki.ClientKey,
		"-bearer-token-file", token}, env(nil), io.Discard)
	require.NoError(t, err)
	tlsCfg, headers, err := c.security()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"Authorization": "Bearer s3cret"}, headers, "the file's trailing newline is not part of the token")
	assert.True(t, tlsCfg.RootCAs.Equal(pki.Pool()), "only the given CA is trusted")
	assert.Len(t, tlsCfg.Certificates, 1, "the client certificate is presented")

	c, err = parseConfig([]string{"-bearer-token-file", token}, env(nil), io.Discard)
	require.NoError(t, err)
	tlsCfg, headers, err = c.security()
	require.NoError(t, err)
	assert.Nil(t, tlsCfg, "a token alone keeps the default plain-text connection")
	assert.Equal(t, "Bearer s3cret", headers["Authorization"])

	empty := filepath.Join(dir, "empty")
	twoLines := filepath.Join(dir, "two")
	notPEM := filepath.Join(dir, "ca.txt")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	require.NoError(t, os.WriteFile(twoLines, []byte("a\nb\n"), 0o600))
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-bearer-token-file", empty}, "want one non-empty line"},
		{[]string{"-bearer-token-file", twoLines}, "want one non-empty line"},
		{[]string{"-bearer-token-file", filepath.Join(dir, "missing")}, "-bearer-token-file"},
		{[]string{"-ca-file", notPEM}, "no PEM certificate"},
		{[]string{"-ca-file", filepath.Join(dir, "missing")}, "-ca-file"},
		{[]string{"-cert-file", pki.ClientCert, "-key-file", pki.ServerKey}, "-cert-file/-key-file"},
	} {
		c, err := parseConfig(tc.args, env(nil), io.Discard)
		require.NoError(t, err, "%v", tc.args)
		_, _, err = c.security()
		assert.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}
