package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/testpki"
)

// secureCollector is the built collector on configs/secure.yaml, with a throw-away CA's certificates
// and a token file, simulated HPUs and every endpoint on a free loopback port.
type secureCollector struct {
	*collector
	pki                             *testpki.PKI
	client                          *http.Client // trusts only the test CA
	tokenFile                       string
	grpcAddr, httpAddr, metricsAddr string
	hpuHealthAddr, telemetryURL     string
}

// secureEnv points configs/secure.yaml at the test's certificates and token.
func secureEnv(pki *testpki.PKI, tokenFile string) []string {
	return []string{"OTELCOL_GAUDI_TLS_DIR=" + pki.Dir, "OTELCOL_GAUDI_TOKEN_FILE=" + tokenFile}
}

// startSecureCollector starts the collector on configs/secure.yaml with pki's certificates (startCollectorEnv
// waits for its loopback health_check) and the extra --set values.
func startSecureCollector(t *testing.T, pki *testpki.PKI, token string, extra ...string) *secureCollector {
	t.Helper()
	c := &secureCollector{pki: pki}
	c.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: c.pki.ClientTLS(t, false)}}
	c.tokenFile = filepath.Join(c.pki.Dir, "token")
	writeToken(t, c.tokenFile, token)
	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", freePort(t)) }
	c.grpcAddr, c.httpAddr, c.metricsAddr, c.hpuHealthAddr = addr(), addr(), addr(), addr()
	telemetryPort := freePort(t)
	c.telemetryURL = fmt.Sprintf("http://127.0.0.1:%d/metrics", telemetryPort)
	c.collector = startCollectorEnv(t, secureEnv(c.pki, c.tokenFile), filepath.Join(repoRoot, "configs", "secure.yaml"), append([]string{
		"receivers::gaudi::source=simulator",
		"receivers::gaudi::simulator::devices=2",
		"receivers::gaudi::collection_interval=1s",
		"receivers::otlp::protocols::grpc::endpoint=" + c.grpcAddr,
		"receivers::otlp::protocols::http::endpoint=" + c.httpAddr,
		"exporters::prometheus::endpoint=" + c.metricsAddr,
		"extensions::hpu_health::endpoint=" + c.hpuHealthAddr,
		fmt.Sprintf("service::telemetry::metrics::readers=[{pull: {exporter: {prometheus: {host: 127.0.0.1, port: %d}}}}]", telemetryPort),
	}, extra...)...)
	return c
}

// writeToken replaces the token file, as an operator rotating the token does (write beside, rename).
func writeToken(t *testing.T, path, token string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// get sends GET url over TLS that trusts only the test CA, with the token unless it is empty.
func (c *secureCollector) get(url, token string) (int, error) {
	return getWithToken(c.client, url, token)
}

func getWithToken(client *http.Client, url, token string) (int, error) {
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
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// servedSerial is the serial number of the certificate the server at addr presents.
func servedSerial(addr string, pool *tls.Config) (*big.Int, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, pool)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

// TestSecureConfig runs configs/secure.yaml with a real Prometheus and trainsim: Prometheus scrapes the
// exporter over TLS with the bearer token and stores the HPU series, while a scrape without the token
// (401) and one over plain HTTP fail; every endpoint refuses requests without the token; trainsim over
// TLS with the token is accepted and without it refused, on gRPC and HTTP. While a flood of refused
// requests runs, and after it, accepted trainsims deliver every sample and the HPU scrape goes on. A
// rotated token file and a renewed certificate take effect without a restart.
func TestSecureConfig(t *testing.T) {
	t.Parallel()
	const token = "first-token"
	// reload_interval is 5m in the shipped file; here a second, so the renewal is seen quickly.
	c := startSecureCollector(t, testpki.New(t), token, "exporters::prometheus::tls::reload_interval=1s")
	trainsim := buildTrainsim(t)

	t.Run("every endpoint refuses plain HTTP and requests without the token", func(t *testing.T) {
		for what, url := range map[string]string{
			"prometheus exporter": "https://" + c.metricsAddr + "/metrics",
			"hpu_health /health":  "https://" + c.hpuHealthAddr + "/health",
			"hpu_health /ready":   "https://" + c.hpuHealthAddr + "/ready",
			"OTLP/HTTP":           "https://" + c.httpAddr + "/v1/metrics",
		} {
			for _, tok := range []string{"", "wrong-token"} {
				if code, err := c.get(url, tok); err != nil || code != http.StatusUnauthorized {
					t.Errorf("%s: GET %s with token %q: %d %v, want 401", what, url, tok, code, err)
				}
			}
			plain := "http://" + strings.TrimPrefix(url, "https://")
			if code, err := getWithToken(httpClient, plain, token); err == nil && code != http.StatusBadRequest {
				t.Errorf("%s: plain HTTP GET %s with the token: %d, want the TLS server's 400 or a failure", what, plain, code)
			}
		}
		if code, err := c.get("https://"+c.metricsAddr+"/metrics", token); err != nil || code != http.StatusOK {
			t.Errorf("GET /metrics over TLS with the token: %d %v, want 200", code, err)
		}
	})

	caFile, tokenFile := c.pki.CAFile, c.tokenFile
	prom := startPrometheusConfig(t, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: secure
    scheme: https
    tls_config: {ca_file: %[1]q}
    authorization: {credentials_file: %[2]q}
    static_configs: [{targets: [%[3]q]}]
  - job_name: no-token
    scheme: https
    tls_config: {ca_file: %[1]q}
    static_configs: [{targets: [%[3]q]}]
  - job_name: plain-http
    static_configs: [{targets: [%[3]q]}]
`, caFile, tokenFile, c.metricsAddr))

	t.Run("prometheus scrapes over TLS with the token, not without", func(t *testing.T) {
		waitForTargetHealth(t, prom, c.collector, map[string]string{"secure": "", "no-token": "401 Unauthorized", "plain-http": "400 Bad Request"})
		eventually(t, startupDeadline, func() (bool, string) {
			v, err := queryVector(context.Background(), prom.url, `count(hpu_utilization_percent{job="secure"})`)
			if err != nil || len(v) != 1 || v[0].Value != 2 {
				return false, fmt.Sprintf("two HPUs' utilization stored from the TLS scrape: %v %v", v, err)
			}
			return true, ""
		})
		if v := query(t, prom.url, `count({job=~"no-token|plain-http", __name__=~"hpu_.*"})`); len(v) != 0 {
			t.Errorf("series from the refused scrapes: %v", v)
		}
	})

	t.Run("trainsim with the token loses nothing during and after a flood of refused clients", func(t *testing.T) {
		const steps, afterSteps, batchSize = 30, 3, 32
		hpuBefore := acceptedPoints(t, c.telemetryURL, "gaudi")
		run := func(job, protocol, endpoint string, steps int, tokenFile string) (string, error) {
			args := []string{"-protocol", protocol, "-endpoint", endpoint, "-ca-file", caFile, "-job-id", job,
				"-steps", strconv.Itoa(steps), "-interval", "100ms", "-export-interval", "200ms", "-batch-size", strconv.Itoa(batchSize)}
			if tokenFile != "" {
				args = append(args, "-bearer-token-file", tokenFile)
			}
			ctx, cancel := context.WithTimeout(context.Background(), trainsimTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, trainsim, args...).CombinedOutput()
			return string(out), err
		}
		// An accepted run must not have lost a single export (trainsim reports failed periodic exports on
		// stderr but exits 0 if only the last one succeeds), nor the final one.
		checkAccepted := func(job, out string, err error) {
			if err != nil || strings.Contains(out, "exporting:") {
				t.Errorf("trainsim %s with the token: %v, want every export accepted:\n%s", job, err, out)
			}
		}

		// The flood: refused OTLP requests on both protocols, without a token and with a wrong one, from
		// before the accepted senders start until they have finished.
		flood, stopFlood := context.WithCancel(context.Background())
		defer stopFlood()
		md, _ := contractBatch(t, "flood", 1, 1)
		floodDone := c.floodRefused(t, flood, md)

		var wg sync.WaitGroup
		outs, errs := map[string]string{}, map[string]error{}
		var mu sync.Mutex
		start := func(job, protocol, endpoint string, steps int, tokenFile string) {
			wg.Go(func() {
				out, err := run(job, protocol, endpoint, steps, tokenFile)
				mu.Lock()
				outs[job], errs[job] = out, err
				mu.Unlock()
			})
		}
		start("during-grpc", "grpc", c.grpcAddr, steps, tokenFile)
		start("during-http", "http", c.httpAddr, steps, tokenFile)
		start("no-token-grpc", "grpc", c.grpcAddr, afterSteps, "")
		start("no-token-http", "http", c.httpAddr, afterSteps, "")
		wg.Wait()
		stopFlood()
		refused := <-floodDone
		for _, job := range []string{"during-grpc", "during-http"} {
			checkAccepted(job, outs[job], errs[job])
		}
		for job, refusal := range map[string]string{"no-token-grpc": "Unauthenticated", "no-token-http": "401"} {
			if errs[job] == nil || !strings.Contains(outs[job], refusal) {
				t.Errorf("trainsim %s: %v, want a failure saying %q:\n%s", job, errs[job], refusal, outs[job])
			}
		}
		t.Logf("refused during the accepted runs: %v", refused)
		for what, n := range refused {
			if n < 20 {
				t.Errorf("only %d %s requests refused while the accepted runs lasted: no flood", n, what)
			}
		}
		// The gaudi receiver kept scraping while the flood lasted.
		if hpuAfter := acceptedPoints(t, c.telemetryURL, "gaudi"); hpuAfter <= hpuBefore {
			t.Errorf("the gaudi receiver's accepted points went from %v to %v during the flood, want more", hpuBefore, hpuAfter)
		}
		// And after it.
		for _, tc := range []struct{ job, protocol, endpoint string }{{"after-grpc", "grpc", c.grpcAddr}, {"after-http", "http", c.httpAddr}} {
			out, err := run(tc.job, tc.protocol, tc.endpoint, afterSteps, tokenFile)
			checkAccepted(tc.job, out, err)
		}

		want := map[string]float64{"during-grpc": steps * batchSize, "during-http": steps * batchSize,
			"after-grpc": afterSteps * batchSize, "after-http": afterSteps * batchSize}
		eventually(t, startupDeadline, func() (bool, string) {
			v, err := queryVector(context.Background(), prom.url, `sum by (training_job_id) (training_samples_total{job="secure"})`)
			if err != nil {
				return false, err.Error()
			}
			got := map[string]float64{}
			for _, s := range v {
				got[string(s.Metric["training_job_id"])] = float64(s.Value)
			}
			return maps.Equal(got, want), fmt.Sprintf("training samples stored per job %v, want %v (and nothing from the refused)", got, want)
		})
	})

	t.Run("the refused clients disturbed nothing else", func(t *testing.T) {
		c.failIfExited(t)
		// HPU series keep arriving after the refusals: a newer sample than the last one seen.
		first := query(t, prom.url, `timestamp(hpu_utilization_percent{job="secure", hpu_index="0"})`)
		eventually(t, startupDeadline, func() (bool, string) {
			now := query(t, prom.url, `timestamp(hpu_utilization_percent{job="secure", hpu_index="0"})`)
			return len(first) == 1 && len(now) == 1 && now[0].Value > first[0].Value, fmt.Sprintf("timestamps %v then %v", first, now)
		})
		families, err := scrape(context.Background(), c.telemetryURL)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"otelcol_exporter_send_failed_metric_points", "otelcol_receiver_refused_metric_points",
			"otelcol_receiver_failed_metric_points", "otelcol_processor_memory_limiter_refused_metric_points"} {
			for _, s := range families[name] {
				if s.Value != 0 {
					t.Errorf("%s %v = %v, want 0", name, s.Metric, s.Value)
				}
			}
		}
	})

	t.Run("a rotated token takes effect without a restart", func(t *testing.T) {
		writeToken(t, c.tokenFile, "second-token")
		url := "https://" + c.hpuHealthAddr + "/ready"
		eventually(t, startupDeadline, func() (bool, string) {
			oldCode, errOld := c.get(url, token)
			newCode, errNew := c.get(url, "second-token")
			return oldCode == http.StatusUnauthorized && newCode == http.StatusOK,
				fmt.Sprintf("old token %d %v, new token %d %v; want 401 and 200", oldCode, errOld, newCode, errNew)
		})
	})

	t.Run("a renewed certificate is served without a restart", func(t *testing.T) {
		before, err := servedSerial(c.metricsAddr, c.pki.ClientTLS(t, false))
		if err != nil {
			t.Fatal(err)
		}
		renewed := c.pki.RenewServer(t)
		if renewed.SerialNumber.Cmp(before) == 0 {
			t.Fatal("the renewed certificate has the old serial number")
		}
		eventually(t, startupDeadline, func() (bool, string) {
			c.failIfExited(t)
			now, err := servedSerial(c.metricsAddr, c.pki.ClientTLS(t, false))
			return err == nil && now.Cmp(renewed.SerialNumber) == 0, fmt.Sprintf("serving serial %v (%v), want the renewed %v", now, err, renewed.SerialNumber)
		})
	})
}

// TestSecureConfigBasicAuth swaps the bearer token of configs/secure.yaml's Prometheus endpoint for the
// basicauth extension with an inline htpasswd, as docs/security.md describes: a real Prometheus with
// basic_auth scrapes it over TLS and stores the HPU series; a wrong password, no credentials or the bearer
// token get 401.
func TestSecureConfigBasicAuth(t *testing.T) {
	t.Parallel()
	// What `htpasswd -nbB -C 5 prometheus scrape-secret` prints (bcrypt; cost 5 keeps each check cheap here).
	const (
		user     = "prometheus"
		password = "scrape-secret"
		htpasswd = user + ":$2y$05$7tov893rKcX61.PLVn4C5eUx/ax3pY1yLVNIYbAbKlvueEP24kRiq"
		token    = "the-bearer-token"
	)
	pki := testpki.New(t)
	c := startSecureCollector(t, pki, token,
		"extensions::basicauth::htpasswd::inline="+htpasswd,
		"service::extensions=[bearertokenauth, health_check, hpu_health, basicauth]",
		"exporters::prometheus::auth::authenticator=basicauth")
	url := "https://" + c.metricsAddr + "/metrics"
	for _, tc := range []struct {
		what string
		set  func(*http.Request)
		want int
	}{
		{"the password", func(r *http.Request) { r.SetBasicAuth(user, password) }, http.StatusOK},
		{"a wrong password", func(r *http.Request) { r.SetBasicAuth(user, "wrong") }, http.StatusUnauthorized},
		{"an unknown user", func(r *http.Request) { r.SetBasicAuth("nobody", password) }, http.StatusUnauthorized},
		{"no credentials", func(*http.Request) {}, http.StatusUnauthorized},
		{"the bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }, http.StatusUnauthorized},
	} {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		tc.set(req)
		resp, err := c.client.Do(req)
		if err != nil {
			t.Errorf("GET %s with %s: %v", url, tc.what, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s with %s: %s, want %d", url, tc.what, resp.Status, tc.want)
		}
	}

	passwordFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(passwordFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := startPrometheusConfig(t, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: basic
    scheme: https
    tls_config: {ca_file: %[1]q}
    basic_auth: {username: %[2]q, password_file: %[3]q}
    static_configs: [{targets: [%[4]q]}]
  - job_name: wrong-password
    scheme: https
    tls_config: {ca_file: %[1]q}
    basic_auth: {username: %[2]q, password: wrong}
    static_configs: [{targets: [%[4]q]}]
`, pki.CAFile, user, passwordFile, c.metricsAddr))
	waitForTargetHealth(t, prom, c.collector, map[string]string{"basic": "", "wrong-password": "401 Unauthorized"})
	eventually(t, startupDeadline, func() (bool, string) {
		v, err := queryVector(context.Background(), prom.url, `count(hpu_utilization_percent{job="basic"})`)
		return err == nil && len(v) == 1 && v[0].Value == 2, fmt.Sprintf("two HPUs' utilization stored from the basic_auth scrape: %v %v", v, err)
	})
	if v := query(t, prom.url, `count({job="wrong-password", __name__=~"hpu_.*"})`); len(v) != 0 {
		t.Errorf("series from the scrape with the wrong password: %v", v)
	}
}

// TestSecureConfigMutualTLS adds client_ca_file to the OTLP receiver of configs/secure.yaml, as its header
// describes: trainsim with a client certificate (and the token) is accepted, without one it is refused in the
// TLS handshake, and a certificate without the token is still refused.
func TestSecureConfigMutualTLS(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	const token = "mtls-token"
	c := startSecureCollector(t, pki, token,
		"receivers::otlp::protocols::grpc::tls::client_ca_file="+pki.CAFile,
		"receivers::otlp::protocols::http::tls::client_ca_file="+pki.CAFile)
	trainsim := buildTrainsim(t)
	for _, tc := range []struct {
		job, protocol, endpoint string
		cert, token             bool
		refusal                 string // a regexp matching trainsim's output when refused
	}{
		{"mtls-grpc", "grpc", c.grpcAddr, true, true, ""},
		{"mtls-http", "http", c.httpAddr, true, true, ""},
		// With TLS 1.3 the server checks the client's certificate after the client has finished its side
		// of the handshake, so the client may see only the connection closed under its first write.
		{"no-cert-grpc", "grpc", c.grpcAddr, false, true, "certificate|broken pipe|connection reset"},
		{"no-cert-http", "http", c.httpAddr, false, true, "certificate|broken pipe|connection reset"},
		{"cert-no-token-grpc", "grpc", c.grpcAddr, true, false, "Unauthenticated"},
	} {
		args := []string{"-protocol", tc.protocol, "-endpoint", tc.endpoint, "-ca-file", pki.CAFile, "-job-id", tc.job,
			"-steps", "3", "-interval", "100ms", "-export-interval", "200ms"}
		if tc.cert {
			args = append(args, "-cert-file", pki.ClientCert, "-key-file", pki.ClientKey)
		}
		if tc.token {
			args = append(args, "-bearer-token-file", c.tokenFile)
		}
		if tc.refusal == "" {
			runTrainsim(t, trainsim, args...)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), trainsimTimeout)
		out, err := exec.CommandContext(ctx, trainsim, args...).CombinedOutput()
		cancel()
		if err == nil || !regexp.MustCompile(tc.refusal).Match(out) {
			t.Errorf("trainsim %s: %v, want a failure matching %q:\n%s", tc.job, err, tc.refusal, out)
		}
	}
	// The collector says why it closed those connections.
	if !strings.Contains(c.output(), "didn't provide a certificate") {
		t.Errorf("the collector logged no TLS handshake refused for a missing client certificate")
	}
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		status, body, err := func() (int, string, error) {
			req, _ := http.NewRequest(http.MethodGet, "https://"+c.metricsAddr+"/metrics", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := c.client.Do(req)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), err
		}()
		if err != nil || status != http.StatusOK {
			return false, fmt.Sprintf("GET /metrics: %d %v", status, err)
		}
		var jobs []string
		for _, job := range []string{"mtls-grpc", "mtls-http", "no-cert-grpc", "no-cert-http", "cert-no-token-grpc"} {
			if strings.Contains(body, `training_job_id="`+job+`"`) {
				jobs = append(jobs, job)
			}
		}
		return slices.Equal(jobs, []string{"mtls-grpc", "mtls-http"}), fmt.Sprintf("training series of the jobs %v, want mtls-grpc and mtls-http only", jobs)
	})
}

// TestSecureConfigCoversEveryExposedEndpoint reads configs/secure.yaml as the collector resolves it with
// OTELCOL_GAUDI_LISTEN=0.0.0.0: every server that then listens beyond the loopback interface has a
// certificate and an authenticator, and the two that cannot have both stay on 127.0.0.1.
func TestSecureConfigCoversEveryExposedEndpoint(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, collectorBin, "print-config", "--config", filepath.Join(repoRoot, "configs", "secure.yaml"))
	cmd.Env = append(os.Environ(), "OTELCOL_GAUDI_LISTEN=0.0.0.0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("otelcol-gaudi print-config --config configs/secure.yaml: %v", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	exposed := map[string]bool{}
	walkStrings(raw, "", func(key, v string) {
		parent, ok := strings.CutSuffix(key, "::endpoint")
		if !ok {
			return
		}
		host, _, err := net.SplitHostPort(v)
		if err != nil || host == "127.0.0.1" {
			return
		}
		exposed[parent] = true
		node := lookup(raw, parent)
		if lookup(node, "tls::cert_file") == nil || lookup(node, "tls::key_file") == nil {
			t.Errorf("%s listens on %s without tls.cert_file and tls.key_file", parent, v)
		}
		if lookup(node, "auth::authenticator") != "bearertokenauth" {
			t.Errorf("%s listens on %s without auth.authenticator: bearertokenauth", parent, v)
		}
	})
	for _, want := range []string{"receivers::otlp::protocols::grpc", "receivers::otlp::protocols::http",
		"exporters::prometheus", "extensions::hpu_health"} {
		if !exposed[want] {
			t.Errorf("%s does not follow OTELCOL_GAUDI_LISTEN", want)
		}
	}
	if got := lookup(raw, "extensions::health_check::endpoint"); got != "127.0.0.1:13133" {
		t.Errorf("health_check listens on %v, want 127.0.0.1:13133 (it cannot authenticate)", got)
	}
	if got := lookup(raw, "service::telemetry::metrics::readers"); !strings.Contains(fmt.Sprint(got), "host:127.0.0.1") {
		t.Errorf("the collector's telemetry reader is %v, want host 127.0.0.1 (it cannot do TLS)", got)
	}
}

// lookup returns the value at a "a::b::c" path of a parsed YAML document, or nil.
func lookup(v any, path string) any {
	for _, k := range strings.Split(path, "::") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// TestSecureConfigIsNodeConfigLockedDown holds configs/secure.yaml to what its header says: configs/node.yaml
// locked down. As the collector resolves both (print-config, OTELCOL_GAUDI_LISTEN unset), they are equal once
// every tls and auth key, the bearertokenauth extension and its place in service::extensions are taken out, so
// a setting added to node.yaml and forgotten in secure.yaml (or the reverse) fails here.
func TestSecureConfigIsNodeConfigLockedDown(t *testing.T) {
	t.Parallel()
	if v, ok := os.LookupEnv("OTELCOL_GAUDI_LISTEN"); ok {
		t.Fatalf("OTELCOL_GAUDI_LISTEN=%q in the test's environment: secure.yaml's endpoints would not be node.yaml's", v)
	}
	node := flattenConfig(rawCollectorConfig(t, "configs/node.yaml"))
	secure := flattenConfig(withoutAuthentication(rawCollectorConfig(t, "configs/secure.yaml")))
	for _, k := range slices.Sorted(maps.Keys(node)) {
		if v, ok := secure[k]; !ok {
			t.Errorf("%s = %s in node.yaml, missing from secure.yaml", k, node[k])
		} else if v != node[k] {
			t.Errorf("%s = %s in node.yaml, %s in secure.yaml", k, node[k], v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(secure)) {
		if _, ok := node[k]; !ok {
			t.Errorf("%s = %s in secure.yaml only (beyond tls, auth and bearertokenauth)", k, secure[k])
		}
	}
	if len(node) < 50 {
		t.Errorf("node.yaml resolved to only %d settings: print-config's output was not read", len(node))
	}
}

// withoutAuthentication removes from a resolved collector config what secure.yaml adds to node.yaml: every
// tls and auth key, and the bearertokenauth extension with its entry in service::extensions.
func withoutAuthentication(v any) any {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "tls")
		delete(v, "auth")
		for _, child := range v {
			withoutAuthentication(child)
		}
	case []any:
		for _, child := range v {
			withoutAuthentication(child)
		}
	}
	if exts, ok := lookup(v, "extensions").(map[string]any); ok {
		delete(exts, "bearertokenauth")
	}
	if svc, ok := lookup(v, "service").(map[string]any); ok {
		list, _ := svc["extensions"].([]any)
		svc["extensions"] = slices.DeleteFunc(slices.Clone(list), func(e any) bool { return e == "bearertokenauth" })
	}
	return v
}

// flattenConfig maps every leaf of a parsed YAML document (lists whole) to its value, keyed by its "a::b" path.
func flattenConfig(v any) map[string]string {
	out := map[string]string{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			for k, child := range m {
				walk(strings.TrimPrefix(key+"::"+k, "::"), child)
			}
			return
		}
		out[key] = fmt.Sprint(v)
	}
	walk("", v)
	return out
}

// floodRefused sends md as OTLP requests that must be refused, over HTTP and gRPC, without a token and with a
// wrong one, from one goroutine each, as fast as the collector answers, until ctx is done. Any answer but 401
// (Unauthenticated) fails the test. The channel then gets how many of each kind were refused.
func (c *secureCollector) floodRefused(t *testing.T, ctx context.Context, md pmetric.Metrics) <-chan map[string]int {
	t.Helper()
	req := pmetricotlp.NewExportRequestFromMetrics(md)
	body, err := req.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(c.pki.ClientTLS(t, false))))
	if err != nil {
		t.Fatal(err)
	}
	grpcClient := pmetricotlp.NewGRPCClient(conn)
	senders := map[string]func(token string) error{
		"OTLP/HTTP": func(token string) error {
			r, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+c.httpAddr+"/v1/metrics", bytes.NewReader(body))
			if err != nil {
				return err
			}
			r.Header.Set("Content-Type", "application/x-protobuf")
			if token != "" {
				r.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := c.client.Do(r)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusUnauthorized {
				return fmt.Errorf("%s, want 401", resp.Status)
			}
			return nil
		},
		"OTLP/gRPC": func(token string) error {
			rctx := ctx
			if token != "" {
				rctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
			}
			if _, err := grpcClient.Export(rctx, req); status.Code(err) != codes.Unauthenticated {
				return fmt.Errorf("%v, want Unauthenticated", err)
			}
			return nil
		},
	}
	var mu sync.Mutex
	refused := map[string]int{}
	var wg sync.WaitGroup
	for protocol, send := range senders {
		for what, token := range map[string]string{"without a token": "", "with a wrong token": "wrong-token"} {
			kind := protocol + " " + what
			wg.Go(func() {
				for ctx.Err() == nil {
					err := send(token)
					if ctx.Err() != nil {
						return // cut short by the end of the flood
					}
					if err != nil {
						t.Errorf("%s: %v", kind, err)
						return
					}
					mu.Lock()
					refused[kind]++
					mu.Unlock()
				}
			})
		}
	}
	done := make(chan map[string]int, 1)
	go func() {
		wg.Wait()
		_ = conn.Close()
		done <- refused
	}()
	return done
}

// acceptedPoints is the collector's own count of the metric points receiver has pushed into its pipelines.
func acceptedPoints(t *testing.T, telemetryURL, receiver string) float64 {
	t.Helper()
	families, err := scrape(context.Background(), telemetryURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range families["otelcol_receiver_accepted_metric_points"] {
		if string(s.Metric["receiver"]) == receiver {
			return float64(s.Value)
		}
	}
	t.Fatalf("%s: no otelcol_receiver_accepted_metric_points for the %s receiver", telemetryURL, receiver)
	return 0
}

// waitForTargetHealth waits until prom has exactly the scrape jobs of want, each with one target that is up
// (want "") or down with a last error containing want's text.
func waitForTargetHealth(t *testing.T, prom *prometheusServer, c *collector, want map[string]string) {
	t.Helper()
	eventually(t, startupDeadline, func() (bool, string) {
		c.failIfExited(t)
		var targets struct {
			Data struct {
				ActiveTargets []struct {
					Labels    map[string]string `json:"labels"`
					Health    string            `json:"health"`
					LastError string            `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		if err := apiGet(context.Background(), prom.url+"/api/v1/targets", &targets); err != nil {
			return false, err.Error()
		}
		var wrong []string
		for _, tg := range targets.Data.ActiveTargets {
			job := tg.Labels["job"]
			ok := tg.Health == "up" && want[job] == "" || tg.Health == "down" && want[job] != "" && strings.Contains(tg.LastError, want[job])
			if !ok {
				wrong = append(wrong, fmt.Sprintf("%s: health %q, last error %q", job, tg.Health, tg.LastError))
			}
		}
		if len(targets.Data.ActiveTargets) != len(want) || len(wrong) > 0 {
			return false, fmt.Sprintf("%d targets; not as wanted: %v", len(targets.Data.ActiveTargets), wrong)
		}
		return true, ""
	})
}
