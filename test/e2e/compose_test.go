package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// No Docker engine runs here, so deploy/compose.yaml is checked statically: everything it mounts
// exists, every address one service uses to reach another is where that one listens, every port it
// publishes is one the service listens on, the collector's config is valid, and images are pinned.

// composePath is the Compose file under test, relative to the repository root.
var composePath = filepath.Join("deploy", "compose.yaml")

// composeFile is the part of a Compose file these tests read, in the forms deploy/compose.yaml uses.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	WorkingDir  string            `yaml:"working_dir"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`

	name string
	dir  string // the directory of the Compose file, which relative host paths are relative to
}

// composeMount is one entry of a service's volumes: a bind mount when host is set, else a named volume.
type composeMount struct {
	host, volume, container string
}

func (s composeService) mounts(t *testing.T) []composeMount {
	t.Helper()
	var out []composeMount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			t.Fatalf("service %s: volume %q is not source:target[:ro|rw]", s.name, v)
		}
		m := composeMount{container: path.Clean(parts[1])}
		if strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/") {
			m.host = parts[0]
			if !filepath.IsAbs(m.host) {
				m.host = filepath.Join(s.dir, m.host)
			}
		} else {
			m.volume = parts[0]
		}
		out = append(out, m)
	}
	return out
}

// hostPath returns the file of the host that the container sees at p (relative paths are relative to
// the service's working_dir), through the service's most specific bind mount.
func (s composeService) hostPath(t *testing.T, p string) string {
	t.Helper()
	if !path.IsAbs(p) {
		if s.WorkingDir == "" {
			t.Fatalf("service %s: relative path %s, but no working_dir", s.name, p)
		}
		p = path.Join(s.WorkingDir, p)
	}
	best := composeMount{}
	for _, m := range s.mounts(t) {
		if (p == m.container || strings.HasPrefix(p, m.container+"/")) && len(m.container) > len(best.container) {
			best = m
		}
	}
	if best.host == "" {
		t.Fatalf("service %s: %s is not on a bind mount of a host path (mounts %v)", s.name, p, s.Volumes)
	}
	return filepath.Join(best.host, strings.TrimPrefix(p, best.container))
}

// flag returns the value of --name=value (or -name=value) on the service's command line.
func (s composeService) flag(t *testing.T, name string) string {
	t.Helper()
	for _, arg := range s.Command {
		for _, prefix := range []string{"--" + name + "=", "-" + name + "="} {
			if v, ok := strings.CutPrefix(arg, prefix); ok {
				return v
			}
		}
	}
	t.Fatalf("service %s: no %s=... in its command %q", s.name, name, s.Command)
	return ""
}

// publishedPorts returns the container ports the service publishes, each of which must be published on
// the host's 127.0.0.1 only and on the same port number.
func (s composeService) publishedPorts(t *testing.T) []int {
	t.Helper()
	var out []int
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		if len(parts) != 3 || parts[0] != "127.0.0.1" || parts[1] != parts[2] {
			t.Errorf("service %s: port %q, want 127.0.0.1:<port>:<port> (loopback only, as every shipped endpoint)", s.name, p)
			continue
		}
		port, err := strconv.Atoi(parts[2])
		if err != nil {
			t.Fatalf("service %s: port %q: %v", s.name, p, err)
		}
		out = append(out, port)
	}
	slices.Sort(out)
	return out
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	readYAML(t, composePath, &c)
	dir := filepath.Join(repoRoot, filepath.Dir(composePath))
	for name, s := range c.Services {
		s.name, s.dir = name, dir
		c.Services[name] = s
	}
	return c
}

func (c composeFile) service(t *testing.T, name string) composeService {
	t.Helper()
	s, ok := c.Services[name]
	if !ok {
		t.Fatalf("%s has no service %s", composePath, name)
	}
	return s
}

// portOf returns the port of a host:port address.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return port
}

// composeCollector is what the collector service runs: its config files on the host and the effective
// configuration they merge into.
type composeCollector struct {
	configs []string // relative to the repository root
	cfg     collectorEndpoints
	raw     map[string]any
}

func loadComposeCollector(t *testing.T, svc composeService) composeCollector {
	t.Helper()
	var c composeCollector
	for i, arg := range svc.Command {
		if arg == "--config" && i+1 < len(svc.Command) {
			rel, err := filepath.Rel(repoRoot, svc.hostPath(t, svc.Command[i+1]))
			if err != nil {
				t.Fatal(err)
			}
			c.configs = append(c.configs, rel)
		}
	}
	if len(c.configs) == 0 {
		t.Fatalf("service %s: no --config <file> in its command %q", svc.name, svc.Command)
	}
	out := collectorPrintConfig(t, c.configs...)
	if err := yaml.Unmarshal(out, &c.cfg); err != nil {
		t.Fatalf("parsing print-config's output: %v", err)
	}
	if err := yaml.Unmarshal(out, &c.raw); err != nil {
		t.Fatalf("parsing print-config's output: %v", err)
	}
	return c
}

// listenPorts returns the collector's listening ports, each of which must listen on every interface:
// the container's 127.0.0.1 is reachable from nowhere else.
func (c composeCollector) listenPorts(t *testing.T) []int {
	t.Helper()
	var out []int
	for what, addr := range map[string]string{
		"extensions::health_check::endpoint":                      c.cfg.Extensions.HealthCheck.Endpoint,
		"extensions::hpu_health::endpoint":                        c.cfg.Extensions.HPUHealth.Endpoint,
		"receivers::otlp::protocols::grpc::endpoint":              c.cfg.Receivers.OTLP.Protocols.GRPC.Endpoint,
		"receivers::otlp::protocols::http::endpoint":              c.cfg.Receivers.OTLP.Protocols.HTTP.Endpoint,
		"exporters::prometheus::endpoint":                         c.cfg.Exporters.Prometheus.Endpoint,
		"service::telemetry::metrics::readers (pull, prometheus)": c.cfg.telemetryEndpoint(t),
	} {
		if host, _, _ := net.SplitHostPort(addr); host != "0.0.0.0" {
			t.Errorf("the collector's %s is %q, want 0.0.0.0:<port> in a container", what, addr)
		}
		out = append(out, portOf(t, addr))
	}
	slices.Sort(out)
	return out
}

// TestComposeStack checks deploy/compose.yaml against the files it mounts and the configs they hold.
func TestComposeStack(t *testing.T) {
	t.Parallel()
	compose := loadCompose(t)
	collectorSvc := compose.service(t, "otelcol-gaudi")
	promSvc := compose.service(t, "prometheus")
	amSvc := compose.service(t, "alertmanager")
	lokiSvc := compose.service(t, "loki")
	grafanaSvc := compose.service(t, "grafana")
	collector := loadComposeCollector(t, collectorSvc)

	// Where each service listens, from its own configuration.
	var loki struct {
		AuthEnabled *bool `yaml:"auth_enabled"`
		Server      struct {
			HTTPListenPort int `yaml:"http_listen_port"`
		} `yaml:"server"`
		SchemaConfig struct {
			Configs []struct {
				Store  string `yaml:"store"`
				Schema string `yaml:"schema"`
			} `yaml:"configs"`
		} `yaml:"schema_config"`
		LimitsConfig struct {
			AllowStructuredMetadata *bool `yaml:"allow_structured_metadata"`
		} `yaml:"limits_config"`
	}
	lokiConfig := lokiSvc.hostPath(t, lokiSvc.flag(t, "config.file"))
	readYAML(t, mustRel(t, lokiConfig), &loki)
	grafanaPort, err := strconv.Atoi(grafanaSvc.Environment["GF_SERVER_HTTP_PORT"])
	if err != nil {
		t.Fatalf("grafana: GF_SERVER_HTTP_PORT: %v", err)
	}
	listen := map[string][]int{
		"otelcol-gaudi": collector.listenPorts(t),
		"prometheus":    {portOf(t, promSvc.flag(t, "web.listen-address"))},
		"alertmanager":  {portOf(t, amSvc.flag(t, "web.listen-address"))},
		"loki":          {loki.Server.HTTPListenPort},
		"grafana":       {grafanaPort},
	}
	// serviceAddr checks that hostPort is the service wantService on a port it listens on.
	serviceAddr := func(t *testing.T, what, hostPort, wantService string) {
		t.Helper()
		host, p, err := net.SplitHostPort(hostPort)
		if err != nil {
			t.Errorf("%s: %q: %v", what, hostPort, err)
			return
		}
		port, _ := strconv.Atoi(p)
		if host != wantService || !slices.Contains(listen[wantService], port) {
			t.Errorf("%s is %s, want the service %s on one of its ports %v", what, hostPort, wantService, listen[wantService])
		}
	}

	t.Run("services", func(t *testing.T) {
		var names []string
		for n := range compose.Services {
			names = append(names, n)
		}
		slices.Sort(names)
		if want := []string{"alertmanager", "grafana", "loki", "otelcol-gaudi", "prometheus"}; !slices.Equal(names, want) {
			t.Errorf("services %v, want %v", names, want)
		}
	})

	t.Run("bind mounts exist", func(t *testing.T) {
		for _, s := range compose.Services {
			for _, m := range s.mounts(t) {
				if m.volume != "" {
					if _, ok := compose.Volumes[m.volume]; !ok {
						t.Errorf("service %s mounts the volume %s, which the top-level volumes do not declare", s.name, m.volume)
					}
					continue
				}
				if _, err := os.Stat(m.host); err != nil {
					t.Errorf("service %s mounts %s at %s, but it does not exist: %v", s.name, mustRel(t, m.host), m.container, err)
				}
			}
		}
	})

	t.Run("images pinned", func(t *testing.T) {
		for _, s := range compose.Services {
			if s.Build != nil {
				dockerfile := filepath.Join(s.dir, s.Build.Context, s.Build.Dockerfile)
				for _, image := range dockerfileImages(t, dockerfile) {
					checkImagePinned(t, mustRel(t, dockerfile), image)
				}
				continue
			}
			checkImagePinned(t, "service "+s.name, s.Image)
		}
	})

	t.Run("published ports are where the services listen", func(t *testing.T) {
		for name, ports := range listen {
			slices.Sort(ports)
			if got := compose.service(t, name).publishedPorts(t); !slices.Equal(got, ports) {
				t.Errorf("service %s publishes %v, but listens on %v", name, got, ports)
			}
		}
	})

	t.Run("collector config", func(t *testing.T) {
		args := []string{"validate"}
		for _, c := range collector.configs {
			args = append(args, "--config", filepath.Join(repoRoot, c))
		}
		stdout, stderr, err := runCollectorCommand(t, args...)
		if err != nil {
			t.Fatalf("otelcol-gaudi validate %v: %s\n%s%s", collector.configs, exitDescription(err), stdout, stderr)
		}
		walkStrings(collector.raw, "", func(key, v string) {
			if strings.Contains(v, "127.0.0.1") || strings.Contains(v, "localhost") {
				t.Errorf("the compose collector's %s is %q: the container's loopback, out of other services' reach", key, v)
			}
		})
		// The rule files the collector names relative to its working directory are the checkout's.
		for _, f := range collector.cfg.Connectors.Threshold.RuleFiles {
			if got, want := collectorSvc.hostPath(t, f), filepath.Join(repoRoot, f); got != want {
				t.Errorf("the collector's rule file %s is %s on the host, want %s", f, got, want)
			}
		}
	})

	t.Run("collector logs to loki", func(t *testing.T) {
		exporters, _ := collector.raw["exporters"].(map[string]any)
		lokiExporter, _ := exporters["otlp_http/loki"].(map[string]any)
		endpoint, _ := lokiExporter["endpoint"].(string)
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != "http" || u.Path != "/otlp" {
			t.Errorf("exporters::otlp_http/loki::endpoint = %q, want http://<loki>/otlp (Loki's native OTLP endpoint)", endpoint)
		} else {
			serviceAddr(t, "exporters::otlp_http/loki::endpoint's host", u.Host, "loki")
		}
		// Merging replaces lists: the overlay's pipelines must keep demo.yaml's exporters.
		demo := rawCollectorConfig(t, collector.configs[:1]...)
		for _, p := range []string{"logs", "logs/alerts"} {
			want := append(pipelineExporters(demo, p), "otlp_http/loki")
			if got := pipelineExporters(collector.raw, p); !slices.Equal(got, want) {
				t.Errorf("pipeline %s exports to %v, want %s's %v plus otlp_http/loki", p, got, collector.configs[0], want[:len(want)-1])
			}
		}
	})

	t.Run("prometheus config", func(t *testing.T) {
		configFile := promSvc.flag(t, "config.file")
		hostConfig := promSvc.hostPath(t, configFile)
		var shipped, got map[string]any
		readYAML(t, shippedPrometheusYML, &shipped)
		readYAML(t, mustRel(t, hostConfig), &got)
		// The shipped config, with each target where the compose service listens.
		setPrometheusTargets(t, shipped, map[string]string{
			"otelcol-gaudi":           net.JoinHostPort("otelcol-gaudi", strconv.Itoa(portOf(t, collector.cfg.Exporters.Prometheus.Endpoint))),
			"otelcol-gaudi-telemetry": net.JoinHostPort("otelcol-gaudi", strconv.Itoa(portOf(t, collector.cfg.telemetryEndpoint(t)))),
			"alerting":                net.JoinHostPort("alertmanager", strconv.Itoa(listen["alertmanager"][0])),
		})
		if !reflect.DeepEqual(shipped, got) {
			want, _ := yaml.Marshal(shipped)
			have, _ := yaml.Marshal(got)
			t.Errorf("%s must be %s with the compose services as targets, and nothing else changed; want\n%s\ngot\n%s",
				mustRel(t, hostConfig), shippedPrometheusYML, want, have)
		}
		// Its relative rule files, seen from inside the container, are the shipped rule files.
		var cfg prometheusConfig
		readYAML(t, mustRel(t, hostConfig), &cfg)
		var rules []string
		for _, pattern := range cfg.RuleFiles {
			matches, _ := filepath.Glob(promSvc.hostPath(t, path.Join(path.Dir(configFile), pattern)))
			rules = append(rules, matches...)
		}
		slices.Sort(rules)
		if want := readPrometheusConfig(t, shippedPrometheusYML).ruleFiles(t, shippedPrometheusYML); !slices.Equal(rules, want) {
			t.Errorf("Prometheus in compose loads the rule files %v, want %v", rules, want)
		}
	})

	t.Run("alertmanager config", func(t *testing.T) {
		if got, want := amSvc.hostPath(t, amSvc.flag(t, "config.file")), filepath.Join(repoRoot, shippedAlertmanagerYML); got != want {
			t.Errorf("Alertmanager runs %s, want the shipped %s", got, want)
		}
	})

	t.Run("loki config", func(t *testing.T) {
		if loki.AuthEnabled == nil || *loki.AuthEnabled {
			t.Errorf("%s: auth_enabled must be false: the collector sends no tenant", mustRel(t, lokiConfig))
		}
		schemas := loki.SchemaConfig.Configs
		if len(schemas) == 0 || schemas[len(schemas)-1].Schema != "v13" || schemas[len(schemas)-1].Store != "tsdb" {
			t.Errorf("%s: the current schema_config is %+v, want schema v13 on store tsdb (OTLP ingestion needs them)", mustRel(t, lokiConfig), schemas)
		}
		if loki.LimitsConfig.AllowStructuredMetadata == nil || !*loki.LimitsConfig.AllowStructuredMetadata {
			t.Errorf("%s: limits_config.allow_structured_metadata must be true (OTLP attributes are stored there)", mustRel(t, lokiConfig))
		}
	})

	t.Run("grafana", func(t *testing.T) {
		// The original design's login.
		if u, p := grafanaSvc.Environment["GF_SECURITY_ADMIN_USER"], grafanaSvc.Environment["GF_SECURITY_ADMIN_PASSWORD"]; u != "admin" || p != "gaudi3admin" {
			t.Errorf("Grafana's admin login is %q / %q, want admin / gaudi3admin", u, p)
		}

		datasourcesFile := grafanaProvisioned(t, grafanaSvc, "/etc/grafana/provisioning/datasources/datasources.yaml")
		var ds struct {
			Datasources []struct {
				UID  string `yaml:"uid"`
				Type string `yaml:"type"`
				URL  string `yaml:"url"`
			} `yaml:"datasources"`
		}
		readYAML(t, mustRel(t, datasourcesFile), &ds)
		want := map[string]string{"prometheus": "prometheus", "loki": "loki"} // uid (= type) → service
		for _, d := range ds.Datasources {
			service, ok := want[d.UID]
			if !ok {
				continue
			}
			delete(want, d.UID)
			u, err := url.Parse(d.URL)
			if err != nil || u.Scheme != "http" || d.Type != d.UID {
				t.Errorf("%s: data source %s: type %q, url %q; want type %s and an http URL", mustRel(t, datasourcesFile), d.UID, d.Type, d.URL, d.UID)
				continue
			}
			serviceAddr(t, fmt.Sprintf("the URL of Grafana's data source %s", d.UID), u.Host, service)
		}
		for uid := range want {
			t.Errorf("%s has no data source with uid %s", mustRel(t, datasourcesFile), uid)
		}

		providersFile := grafanaProvisioned(t, grafanaSvc, "/etc/grafana/provisioning/dashboards/dashboards.yaml")
		var dp struct {
			Providers []struct {
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		readYAML(t, mustRel(t, providersFile), &dp)
		var paths []string
		for _, p := range dp.Providers {
			paths = append(paths, p.Options.Path)
			dir := grafanaSvc.hostPath(t, p.Options.Path)
			if dashboards, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(dashboards) == 0 {
				t.Errorf("the dashboard provider reads %s, mounted from %s, which holds no *.json", p.Options.Path, mustRel(t, dir))
			}
		}
		if !slices.Contains(paths, "/var/lib/grafana/dashboards") {
			t.Errorf("%s: dashboard provider paths %v, want /var/lib/grafana/dashboards", mustRel(t, providersFile), paths)
		}
	})
}

// grafanaProvisioned returns the host file Grafana reads at containerPath, failing the test, with the
// path to create, when it does not exist.
func grafanaProvisioned(t *testing.T, grafana composeService, containerPath string) string {
	t.Helper()
	host := grafana.hostPath(t, containerPath)
	if _, err := os.Stat(host); err != nil {
		t.Fatalf("%s, which Grafana reads at %s, is missing: %v", mustRel(t, host), containerPath, err)
	}
	return host
}

// setPrometheusTargets replaces, in a parsed Prometheus config, the static targets of the scrape jobs
// named in targets and, under the key "alerting", those of the Alertmanagers.
func setPrometheusTargets(t *testing.T, cfg map[string]any, targets map[string]string) {
	t.Helper()
	set := func(staticConfigs any, target string) {
		list, _ := staticConfigs.([]any)
		if len(list) != 1 {
			t.Fatalf("static_configs %v: want one", staticConfigs)
		}
		list[0].(map[string]any)["targets"] = []any{target}
	}
	jobs, _ := cfg["scrape_configs"].([]any)
	for _, j := range jobs {
		job := j.(map[string]any)
		if target, ok := targets[job["job_name"].(string)]; ok {
			set(job["static_configs"], target)
		}
	}
	alerting, _ := cfg["alerting"].(map[string]any)
	ams, _ := alerting["alertmanagers"].([]any)
	if len(ams) != 1 {
		t.Fatalf("%s: alerting.alertmanagers %v: want one", shippedPrometheusYML, ams)
	}
	set(ams[0].(map[string]any)["static_configs"], targets["alerting"])
}

// rawCollectorConfig returns the effective configuration of configs (relative to the repository root).
func rawCollectorConfig(t *testing.T, configs ...string) map[string]any {
	t.Helper()
	var raw map[string]any
	if err := yaml.Unmarshal(collectorPrintConfig(t, configs...), &raw); err != nil {
		t.Fatalf("parsing print-config's output: %v", err)
	}
	return raw
}

func pipelineExporters(cfg map[string]any, pipeline string) []string {
	service, _ := cfg["service"].(map[string]any)
	pipelines, _ := service["pipelines"].(map[string]any)
	p, _ := pipelines[pipeline].(map[string]any)
	list, _ := p["exporters"].([]any)
	var out []string
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// walkStrings calls f with the key path and value of every string in a parsed YAML document.
func walkStrings(v any, key string, f func(key, v string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			walkStrings(child, key+"::"+k, f)
		}
	case []any:
		for i, child := range v {
			walkStrings(child, fmt.Sprintf("%s[%d]", key, i), f)
		}
	case string:
		f(strings.TrimPrefix(key, "::"), v)
	}
}

// dockerfileImages returns the base images of a Dockerfile's stages (not the stages it builds on).
func dockerfileImages(t *testing.T, dockerfile string) []string {
	t.Helper()
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]bool{}
	var images []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.EqualFold(fields[0], "FROM") {
			continue
		}
		if !stages[fields[1]] {
			images = append(images, fields[1])
		}
		if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
			stages[fields[3]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(images) == 0 {
		t.Fatalf("%s has no FROM", dockerfile)
	}
	return images
}

// checkImagePinned fails unless image has an explicit tag other than latest and names no registry
// host (users pull from their own configured registry or mirror).
func checkImagePinned(t *testing.T, where, image string) {
	t.Helper()
	name, tag, ok := strings.Cut(image, ":")
	if !ok || tag == "" || tag == "latest" {
		t.Errorf("%s: image %q is not pinned to a tag (and not latest)", where, image)
	}
	if first, _, nested := strings.Cut(name, "/"); nested && (strings.ContainsAny(first, ".:") || first == "localhost") {
		t.Errorf("%s: image %q names the registry %s; name the image only", where, image, first)
	}
}

// mustRel returns path relative to the repository root.
func mustRel(t *testing.T, p string) string {
	t.Helper()
	rel, err := filepath.Rel(repoRoot, p)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}
