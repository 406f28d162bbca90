package hpuhealthextension

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/extension/extensionauth"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/testpki"
)

// tokenAuth is a server authenticator that accepts one bearer token, as bearertokenauth does.
type tokenAuth struct {
	component.StartFunc
	component.ShutdownFunc
	token string
}

var _ extensionauth.Server = tokenAuth{}

func (a tokenAuth) Authenticate(ctx context.Context, headers map[string][]string) (context.Context, error) {
	for _, v := range headers["Authorization"] {
		if v == "Bearer "+a.token {
			return ctx, nil
		}
	}
	return ctx, errors.New("missing or wrong bearer token")
}

// hostWith is a host whose extensions are exts.
type hostWith map[component.ID]component.Component

func (h hostWith) GetExtensions() map[component.ID]component.Component { return h }

// secureConfig unmarshals the extension's configuration as a user writes it, with tls and auth keys.
func secureConfig(t *testing.T, pki *testpki.PKI, clientCA bool, auth bool) *Config {
	t.Helper()
	tlsKeys := map[string]any{"cert_file": pki.ServerCert, "key_file": pki.ServerKey}
	if clientCA {
		tlsKeys["client_ca_file"] = pki.CAFile
	}
	raw := map[string]any{"endpoint": freeEndpoint(t), "tls": tlsKeys}
	if auth {
		raw["auth"] = map[string]any{"authenticator": "bearertokenauth"}
	}
	cfg := createDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	return cfg
}

func getWith(client *http.Client, url, token string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestServesOverTLS(t *testing.T) {
	pki := testpki.New(t)
	cfg := secureConfig(t, pki, false, false)
	startWith(t, cfg, hostWith{}, &clock{t: t0})
	url := "https://" + cfg.NetAddr.Endpoint + "/ready"

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientTLS(t, false)}}
	code, err := getWith(client, url, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, code, "/ready answers over TLS (503: no scrape yet)")

	code, err = getWith(http.DefaultClient, "http://"+cfg.NetAddr.Endpoint+"/ready", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, code, "plain HTTP to the TLS port is refused by the TLS server")

	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	_, err = getWith(untrusting, url, "")
	assert.ErrorContains(t, err, "certificate", "a client that does not trust the CA fails the handshake")
}

func TestClientCertificateRequiredWithClientCA(t *testing.T) {
	pki := testpki.New(t)
	cfg := secureConfig(t, pki, true, false)
	startWith(t, cfg, hostWith{}, &clock{t: t0})
	url := "https://" + cfg.NetAddr.Endpoint + "/health"

	for _, tc := range []struct {
		withCert bool
		wantErr  bool
	}{{withCert: true}, {withCert: false, wantErr: true}} {
		t.Run(fmt.Sprintf("client certificate %v", tc.withCert), func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientTLS(t, tc.withCert)}}
			code, err := getWith(client, url, "")
			if tc.wantErr {
				assert.Error(t, err, "no client certificate: the handshake fails")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, http.StatusServiceUnavailable, code)
		})
	}
}

func TestAuthenticatorGuardsBothPaths(t *testing.T) {
	pki := testpki.New(t)
	cfg := secureConfig(t, pki, false, true)
	host := hostWith{component.MustNewID("bearertokenauth"): tokenAuth{token: "s3cret"}}
	ext := startWith(t, cfg, host, &clock{t: t0})
	ext.ReportScrape(gaudi, "hlml", 8, 8, t0, 10*time.Second)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: pki.ClientTLS(t, false)}}

	for _, path := range []string{"/health", "/ready"} {
		for _, tc := range []struct {
			token string
			want  int
		}{{"s3cret", http.StatusOK}, {"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}} {
			t.Run(fmt.Sprintf("%s token %q", path, tc.token), func(t *testing.T) {
				code, err := getWith(client, "https://"+cfg.NetAddr.Endpoint+path, tc.token)
				require.NoError(t, err)
				assert.Equal(t, tc.want, code)
			})
		}
	}
}

func TestStartFailsWithoutTheAuthenticator(t *testing.T) {
	cfg := createDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"endpoint": freeEndpoint(t), "auth": map[string]any{"authenticator": "bearertokenauth"},
	}).Unmarshal(cfg))
	ext := newExtension(cfg, componenttest.NewNopTelemetrySettings(), (&clock{t: t0}).now)
	err := ext.Start(context.Background(), hostWith{})
	assert.ErrorContains(t, err, "bearertokenauth")
	assert.NoError(t, ext.Shutdown(context.Background()))
}

func TestStartFailsOnUnreadableCertificate(t *testing.T) {
	cfg := createDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"endpoint": freeEndpoint(t), "tls": map[string]any{"cert_file": "/nonexistent/tls.crt", "key_file": "/nonexistent/tls.key"},
	}).Unmarshal(cfg))
	ext := newExtension(cfg, componenttest.NewNopTelemetrySettings(), (&clock{t: t0}).now)
	err := ext.Start(context.Background(), hostWith{})
	assert.ErrorContains(t, err, "/nonexistent/tls.crt")
	assert.NoError(t, ext.Shutdown(context.Background()))
}
