package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/otelcol-gaudi/otelcol-gaudi/internal/testpki"
)

// No cluster runs here, so deploy/kubernetes is checked as kubectl would get it: each kustomization is
// rendered with kustomize's own engine, every object is decoded strictly (unknown fields fail) into the
// Kubernetes and Prometheus Operator Go types, and the DaemonSet is held against the collector config it
// carries, which the built binary validates.

// k8sObjects is a rendered kustomization, decoded.
type k8sObjects struct {
	namespaces          []corev1.Namespace
	serviceAccounts     []corev1.ServiceAccount
	configMaps          []corev1.ConfigMap
	services            []corev1.Service
	daemonSets          []appsv1.DaemonSet
	clusterRoles        []rbacv1.ClusterRole
	clusterRoleBindings []rbacv1.ClusterRoleBinding
	networkPolicies     []networkingv1.NetworkPolicy
	podMonitors         []monitoringv1.PodMonitor
	prometheusRules     []monitoringv1.PrometheusRule
}

// renderKustomization runs kustomize on deploy/kubernetes/<dir> and decodes every object strictly.
func renderKustomization(t *testing.T, dir string) k8sObjects {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, "deploy", "kubernetes", dir))
	if err != nil {
		t.Fatalf("kustomize build deploy/kubernetes/%s: %v", dir, err)
	}
	var objs k8sObjects
	for _, r := range resources.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var decodeErr error
		switch gvk := r.GetGvk(); gvk.ApiVersion() + " " + gvk.Kind {
		case "v1 Namespace":
			decodeErr = decodeInto(raw, &objs.namespaces)
		case "v1 ServiceAccount":
			decodeErr = decodeInto(raw, &objs.serviceAccounts)
		case "v1 ConfigMap":
			decodeErr = decodeInto(raw, &objs.configMaps)
		case "v1 Service":
			decodeErr = decodeInto(raw, &objs.services)
		case "apps/v1 DaemonSet":
			decodeErr = decodeInto(raw, &objs.daemonSets)
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			decodeErr = decodeInto(raw, &objs.clusterRoles)
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			decodeErr = decodeInto(raw, &objs.clusterRoleBindings)
		case "networking.k8s.io/v1 NetworkPolicy":
			decodeErr = decodeInto(raw, &objs.networkPolicies)
		case "monitoring.coreos.com/v1 PodMonitor":
			decodeErr = decodeInto(raw, &objs.podMonitors)
		case "monitoring.coreos.com/v1 PrometheusRule":
			decodeErr = decodeInto(raw, &objs.prometheusRules)
		default:
			t.Fatalf("deploy/kubernetes/%s renders %s %s, which this test does not decode; add it", dir, gvk.ApiVersion(), gvk.Kind)
		}
		if decodeErr != nil {
			t.Errorf("deploy/kubernetes/%s: %s %s does not decode strictly: %v", dir, r.GetKind(), r.GetName(), decodeErr)
		}
	}
	return objs
}

// decodeInto decodes one object strictly (an unknown field is an error) and appends it to list.
func decodeInto[T any](raw []byte, list *[]T) error {
	var obj T
	if err := sigsyaml.UnmarshalStrict(raw, &obj); err != nil {
		return err
	}
	*list = append(*list, obj)
	return nil
}

// k8sCollector is the DaemonSet's collector container and the config it runs.
type k8sCollector struct {
	ds        appsv1.DaemonSet
	container corev1.Container
	files     map[string][]byte // the ConfigMap holding the configs, as mounted (file name -> content)
	config    []byte            // the first --config file: the base config
	configs   []byte            // every --config file, concatenated (for the env they read)
	raw       map[string]any    // the base config, parsed
	effective map[string]any    // print-config: the merged configs with every default, env as the pod gives it
	// What the test puts in the Secrets the pod mounts, by Secret name and key: a server certificate for the
	// Service's DNS name from a throw-away CA, and a token.
	pki     *testpki.PKI
	secrets map[string]map[string]string
}

// k8sServiceName is the DNS name the TLS component's certificate is for and Prometheus verifies.
const k8sServiceName = "otelcol-gaudi.otelcol-gaudi.svc"

// podEnv is what the downward API gives the pod, as fake values for validate and print-config. Every
// address is on the loopback interface: a running collector must never dial anywhere else.
var podEnv = map[string]string{"K8S_NODE_NAME": "gaudi-node-7", "K8S_NODE_IP": "127.0.0.1", "K8S_POD_IP": "127.0.0.1"}

func loadK8sCollector(t *testing.T, objs k8sObjects) k8sCollector {
	t.Helper()
	if len(objs.daemonSets) != 1 || len(objs.daemonSets[0].Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one DaemonSet with one container, got %d DaemonSets", len(objs.daemonSets))
	}
	c := k8sCollector{ds: objs.daemonSets[0], container: objs.daemonSets[0].Spec.Template.Spec.Containers[0]}
	args := c.container.Args
	if len(args) == 0 || len(args)%2 != 0 {
		t.Fatalf("container args %q, want --config <file> pairs", args)
	}
	configDir := path.Dir(args[1])
	mount := c.mountAt(t, configDir)
	vol := c.volume(t, mount.Name)
	if vol.ConfigMap == nil {
		t.Fatalf("the configs are not in a ConfigMap mounted at %s", configDir)
	}
	for _, cm := range objs.configMaps {
		if cm.Name == vol.ConfigMap.Name && cm.Namespace == c.ds.Namespace {
			c.files = map[string][]byte{}
			for k, v := range cm.Data {
				c.files[k] = []byte(v)
			}
		}
	}
	for i := 0; i < len(args); i += 2 {
		content, ok := c.files[path.Base(args[i+1])]
		if args[i] != "--config" || path.Dir(args[i+1]) != configDir || !ok {
			t.Fatalf("container args %q: %s %s is not a --config file of the ConfigMap %s", args, args[i], args[i+1], vol.ConfigMap.Name)
		}
		if i == 0 {
			c.config = content
		}
		c.configs = append(c.configs, content...)
	}
	if err := yaml.Unmarshal(c.config, &c.raw); err != nil {
		t.Fatal(err)
	}
	c.pki = testpki.New(t, k8sServiceName)
	c.secrets = map[string]map[string]string{
		"otelcol-gaudi-tls":   {"tls.crt": c.pki.ServerCert, "tls.key": c.pki.ServerKey, "ca.crt": c.pki.CAFile},
		"otelcol-gaudi-token": {"token": "pod-token"},
	}
	out, err := c.runInPod(t, "print-config")
	if err != nil {
		t.Fatalf("otelcol-gaudi print-config in the pod's filesystem: %s\n%s", exitDescription(err), out)
	}
	if err := yaml.Unmarshal(out, &c.effective); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c k8sCollector) mountAt(t *testing.T, p string) corev1.VolumeMount {
	t.Helper()
	for _, m := range c.container.VolumeMounts {
		if m.MountPath == p {
			return m
		}
	}
	t.Fatalf("nothing is mounted at %s", p)
	return corev1.VolumeMount{}
}

func (c k8sCollector) volume(t *testing.T, name string) corev1.Volume {
	t.Helper()
	for _, v := range c.ds.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return corev1.Volume{}
}

// containerPort returns the container's port named name.
func (c k8sCollector) containerPort(t *testing.T, name string) int {
	t.Helper()
	for _, p := range c.container.Ports {
		if p.Name == name {
			return int(p.ContainerPort)
		}
	}
	t.Fatalf("the container has no port named %s", name)
	return 0
}

func withinDir(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// defaultReaders are mounts that a component reads through a default its config does not spell out.
var defaultReaders = map[string]string{
	"/var/lib/kubelet/pod-resources": "hpu_job, whose kubelet PodResources socket defaults to /var/lib/kubelet/pod-resources/kubelet.sock",
}

// TestKubernetesManifests renders deploy/kubernetes and checks the DaemonSet against the config it runs.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	objs := renderKustomization(t, "base")
	c := loadK8sCollector(t, objs)
	pod := c.ds.Spec.Template.Spec

	t.Run("env is what the config reads", func(t *testing.T) { checkPodEnv(t, c) })
	t.Run("mounts are what the config reads", func(t *testing.T) { checkPodMounts(t, c) })

	t.Run("config validates with the built binary", func(t *testing.T) {
		if out, err := c.runInPod(t, "validate"); err != nil {
			t.Errorf("otelcol-gaudi validate in the pod's filesystem: %s\n%s", exitDescription(err), out)
		}
	})

	t.Run("listening endpoints, ports and probes", func(t *testing.T) {
		endpoints := map[string]string{ // container port name -> config key of the endpoint
			"otlp-grpc":  "receivers::otlp::protocols::grpc::endpoint",
			"otlp-http":  "receivers::otlp::protocols::http::endpoint",
			"metrics":    "exporters::prometheus::endpoint",
			"health":     "extensions::health_check::endpoint",
			"hpu-health": "extensions::hpu_health::endpoint",
		}
		for name, key := range endpoints {
			raw, _ := lookup(c.raw, key).(string)
			host, port, _ := strings.Cut(raw, "}:")
			if host != "${env:K8S_POD_IP" {
				t.Errorf("%s is %q, want ${env:K8S_POD_IP}:<port> (the pod's own address)", key, raw)
				continue
			}
			if p, _ := strconv.Atoi(port); p != c.containerPort(t, name) {
				t.Errorf("%s listens on %s, but the container port %s is %d", key, port, name, c.containerPort(t, name))
			}
		}
		reader, _ := lookup(c.raw, "service::telemetry::metrics::readers").([]any)
		if len(reader) != 1 || lookup(reader[0], "pull::exporter::prometheus::host") != "${env:K8S_POD_IP}" ||
			lookup(reader[0], "pull::exporter::prometheus::port") != c.containerPort(t, "telemetry") {
			t.Errorf("the telemetry reader %v is not on ${env:K8S_POD_IP} and the container port telemetry", reader)
		}
		if len(c.container.Ports) != len(endpoints)+1 {
			t.Errorf("the container declares %d ports, the config listens on %d", len(c.container.Ports), len(endpoints)+1)
		}
		for _, p := range c.container.Ports {
			if p.HostPort != 0 {
				t.Errorf("port %s takes host port %d", p.Name, p.HostPort)
			}
		}
		probe := func(what string, pr *corev1.Probe, wantPath, wantPort string) {
			if pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Path != wantPath || pr.HTTPGet.Port.String() != wantPort {
				t.Errorf("%s probe %+v, want GET %s on port %s", what, pr, wantPath, wantPort)
			}
		}
		probe("liveness", c.container.LivenessProbe, lookupString(c.effective, "extensions::health_check::path"), "health")
		probe("readiness", c.container.ReadinessProbe, "/ready", "hpu-health")
	})

	t.Run("memory_limiter matches the container's memory limit", func(t *testing.T) {
		limit := c.container.Resources.Limits[corev1.ResourceMemory]
		request := c.container.Resources.Requests[corev1.ResourceMemory]
		if limit.IsZero() || request.IsZero() || request.Cmp(limit) > 0 {
			t.Fatalf("memory request %s and limit %s: want both, request <= limit", request.String(), limit.String())
		}
		limitMiB := limit.Value() / (1 << 20)
		got := map[string]any{"limit_mib": lookup(c.raw, "processors::memory_limiter::limit_mib"), "spike_limit_mib": lookup(c.raw, "processors::memory_limiter::spike_limit_mib")}
		want := map[string]any{"limit_mib": int(limitMiB * 80 / 100), "spike_limit_mib": int(limitMiB * 20 / 100)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("memory_limiter %v, want %v: 80%% and 20%% of the container's limit %s", got, want, limit.String())
		}
		pipelines, _ := lookup(c.raw, "service::pipelines").(map[string]any)
		for name, p := range pipelines {
			if procs, _ := lookup(p, "processors").([]any); len(procs) == 0 || procs[0] != "memory_limiter" {
				t.Errorf("pipeline %s does not start with memory_limiter: %v", name, procs)
			}
		}
	})

	t.Run("security context", func(t *testing.T) {
		sc := c.container.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged == nil || *sc.Privileged ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
			!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
			t.Errorf("container securityContext %+v: want no privilege escalation, not privileged, read-only root, all capabilities dropped", sc)
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			t.Error("the pod shares the host's network, PID or IPC namespace")
		}
		if psc := pod.SecurityContext; psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod securityContext %+v: want the RuntimeDefault seccomp profile", psc)
		}
	})

	t.Run("scheduled on Gaudi nodes", func(t *testing.T) {
		if !slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool {
			return tol.Key == "habana.ai/gaudi" && tol.Operator == corev1.TolerationOpExists
		}) {
			t.Errorf("tolerations %v do not tolerate the habana.ai/gaudi taint", pod.Tolerations)
		}
		aff := pod.Affinity
		if aff == nil || aff.NodeAffinity == nil || aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
			t.Fatal("no required node affinity")
		}
		var keys []string
		for _, term := range aff.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, e := range term.MatchExpressions {
				keys = append(keys, e.Key)
			}
		}
		slices.Sort(keys)
		if want := []string{"feature.node.kubernetes.io/pci-1da3.present", "intel.feature.node.kubernetes.io/gaudi"}; !slices.Equal(keys, want) {
			t.Errorf("node affinity on %v, want %v", keys, want)
		}
	})

	t.Run("image", func(t *testing.T) {
		var builder struct {
			Dist struct {
				Name    string `yaml:"name"`
				Version string `yaml:"version"`
			} `yaml:"dist"`
		}
		readYAML(t, "builder-config.yaml", &builder)
		if want := builder.Dist.Name + ":" + builder.Dist.Version; c.container.Image != want {
			t.Errorf("image %s, want %s (builder-config.yaml's dist)", c.container.Image, want)
		}
		checkImagePinned(t, "the DaemonSet", c.container.Image)
	})

	t.Run("service, network policy and RBAC", func(t *testing.T) {
		podLabels := labels.Set(c.ds.Spec.Template.Labels)
		for _, s := range objs.services {
			if !labels.SelectorFromSet(s.Spec.Selector).Matches(podLabels) {
				t.Errorf("Service %s does not select the collector pods", s.Name)
			}
			if s.Spec.InternalTrafficPolicy == nil || *s.Spec.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyLocal {
				t.Errorf("Service %s: internalTrafficPolicy must be Local, so a job's data stays on its node", s.Name)
			}
			for _, p := range s.Spec.Ports {
				c.containerPort(t, p.TargetPort.String())
			}
		}
		if len(objs.networkPolicies) != 1 {
			t.Fatalf("%d NetworkPolicies, want 1", len(objs.networkPolicies))
		}
		np := objs.networkPolicies[0]
		if sel, err := metav1LabelSelector(np.Spec.PodSelector.MatchLabels); err != nil || !sel.Matches(podLabels) {
			t.Errorf("NetworkPolicy %s does not select the collector pods", np.Name)
		}
		allowed := 0
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				c.containerPort(t, p.Port.String())
				allowed++
			}
		}
		if allowed != len(c.container.Ports)-1 { // all but the liveness port, which only the kubelet uses
			t.Errorf("the NetworkPolicy admits %d ports, want every port but health", allowed)
		}

		sa := pod.ServiceAccountName
		if len(objs.clusterRoles) != 1 || len(objs.clusterRoleBindings) != 1 {
			t.Fatalf("%d ClusterRoles and %d bindings, want one of each", len(objs.clusterRoles), len(objs.clusterRoleBindings))
		}
		want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes/stats"}, Verbs: []string{"get"}}}
		if got := objs.clusterRoles[0].Rules; !reflect.DeepEqual(got, want) {
			t.Errorf("ClusterRole rules %+v, want only get nodes/stats (kubelet_stats)", got)
		}
		b := objs.clusterRoleBindings[0]
		if b.RoleRef.Name != objs.clusterRoles[0].Name || len(b.Subjects) != 1 || b.Subjects[0].Name != sa || b.Subjects[0].Namespace != c.ds.Namespace {
			t.Errorf("ClusterRoleBinding %+v does not bind the ClusterRole to the DaemonSet's service account %s/%s", b, c.ds.Namespace, sa)
		}
		if lookup(c.raw, "receivers::kubelet_stats::auth_type") != "serviceAccount" || lookup(c.raw, "receivers::kubelet_stats::endpoint") != "https://${env:K8S_NODE_IP}:10250" {
			t.Errorf("kubelet_stats must use the service account against the kubelet at ${env:K8S_NODE_IP}:10250")
		}
		if !slices.ContainsFunc(objs.serviceAccounts, func(s corev1.ServiceAccount) bool { return s.Name == sa && s.Namespace == c.ds.Namespace }) {
			t.Errorf("the service account %s/%s is not among the manifests", c.ds.Namespace, sa)
		}
	})
}

// checkPodEnv holds the container's environment against the ${env:...} the configs read: each set variable is
// read, each read variable is set, from the downward API.
func checkPodEnv(t *testing.T, c k8sCollector) {
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)`).FindAllSubmatch(c.configs, -1) {
		read[string(m[1])] = true
	}
	// Read by the habana container runtime's hook on the node (see the comment in daemonset.yaml).
	notForTheConfig := map[string]bool{"HABANA_VISIBLE_DEVICES": true}
	fieldOf := map[string]string{"K8S_NODE_NAME": "spec.nodeName", "K8S_NODE_IP": "status.hostIP", "K8S_POD_IP": "status.podIP"}
	given := map[string]bool{}
	for _, e := range c.container.Env {
		given[e.Name] = true
		switch {
		case notForTheConfig[e.Name]:
		case !read[e.Name]:
			t.Errorf("env %s is set but the config does not read it", e.Name)
		case e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != fieldOf[e.Name]:
			t.Errorf("env %s does not come from the downward API's %q", e.Name, fieldOf[e.Name])
		}
	}
	for name := range read {
		if !given[name] {
			t.Errorf("the config reads ${env:%s}, which the container does not set", name)
		}
	}
	if got := lookup(c.raw, "receivers::gaudi::host_name"); got != "${env:K8S_NODE_NAME}" {
		t.Errorf("receivers::gaudi::host_name is %v, want ${env:K8S_NODE_NAME}", got)
	}
}

// checkPodMounts holds the container's mounts against the filesystem paths the effective config reads
// (defaults included): each path is provided by a mount, each mount is read, all are read-only, and no
// volume is the host's root or a socket.
func checkPodMounts(t *testing.T, c k8sCollector) {
	// Filesystem paths in the effective config (defaults included), by the kind of key.
	var paths []string
	needs := map[string][]string{} // path -> the mount points it needs
	walkStrings(c.effective, "", func(key, v string) {
		k := key[strings.LastIndex(key, "::")+2:]
		if !strings.HasPrefix(v, "/") {
			return
		}
		switch k {
		case "root_path": // host_metrics: the host's /proc and /sys under it
			needs[v] = []string{path.Join(v, "proc"), path.Join(v, "sys")}
		case "root": // the gaudi receiver's sysfs source reads <root>/sys
			needs[v] = []string{path.Join(v, "sys")}
		case "library_path", "socket", "cert_file", "key_file", "ca_file", "client_ca_file", "filename", "directory", "path":
			if k == "path" && !strings.Contains(key, "hlsmi") {
				return // HTTP paths
			}
			needs[v] = nil
		default:
			return
		}
		paths = append(paths, v)
	})
	mounted := map[string]corev1.VolumeMount{}
	for _, m := range c.container.VolumeMounts {
		mounted[m.MountPath] = m
		if !m.ReadOnly {
			t.Errorf("%s is mounted writable", m.MountPath)
		}
	}
	for p, want := range needs {
		if want == nil {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(mounted)), func(m string) bool { return withinDir(p, m) }) {
				t.Errorf("the config reads %s, which no volume provides", p)
			}
			continue
		}
		for _, w := range want {
			if _, ok := mounted[w]; !ok {
				t.Errorf("the config reads %s, which needs %s mounted", p, w)
			}
		}
	}
	for mp := range mounted {
		used := mp == path.Dir(c.container.Args[1]) || defaultReaders[mp] != ""
		for _, p := range paths {
			used = used || withinDir(p, mp) || withinDir(mp, p)
		}
		if !used {
			t.Errorf("%s is mounted, but nothing in the config reads it", mp)
		}
		if reader := defaultReaders[mp]; reader != "" {
			t.Logf("%s is mounted for %s", mp, reader)
		}
	}
	for _, v := range c.ds.Spec.Template.Spec.Volumes {
		if v.HostPath != nil && (v.HostPath.Path == "/" || strings.HasSuffix(v.HostPath.Path, ".sock")) {
			t.Errorf("volume %s mounts the host's %s: mount the directory the sources read, not the host or a socket", v.Name, v.HostPath.Path)
		}
	}
}

func lookupString(v any, p string) string { s, _ := lookup(v, p).(string); return s }

func metav1LabelSelector(m map[string]string) (labels.Selector, error) {
	return labels.ValidatedSelectorFromSet(m)
}

// podCommand is the command line that runs the built collector with the container's args and the
// subcommand (validate, print-config, or none to run it) in the filesystem the DaemonSet gives it: a private
// mount namespace (unshare, as root or in a user namespace) chrooted to a tmpfs, each volume mounted where the
// container mounts it (a host path this machine lacks, such as the driver's library directory, as an empty
// directory; a Secret with the test's files), the service account's token and CA at their well-known path,
// the image's glibc, and the downward API's environment (podEnv, with env over it), returned to be added to
// the test's own. Validation builds every
// component: host_metrics checks its root_path and kubelet_stats reads the service account's CA, so the
// config is checked where it runs, not as a plain file.
func (c k8sCollector) podCommand(t *testing.T, env map[string]string, subcommand ...string) (bin string, args, environ []string) {
	t.Helper()
	dir := t.TempDir()
	var mounts []string // source=target
	for _, m := range c.container.VolumeMounts {
		v := c.volume(t, m.Name)
		src := filepath.Join(dir, "volumes", m.Name)
		switch {
		case v.ConfigMap != nil:
			mkdirAll(t, src)
			for name, content := range c.files {
				writeFile(t, filepath.Join(src, name), content)
			}
		case v.Secret != nil:
			keys, ok := c.secrets[v.Secret.SecretName]
			if !ok {
				t.Fatalf("volume %s: the test has no content for the Secret %s", m.Name, v.Secret.SecretName)
			}
			mkdirAll(t, src)
			for key, value := range keys {
				if content, err := os.ReadFile(value); err == nil {
					writeFile(t, filepath.Join(src, key), content)
				} else {
					writeFile(t, filepath.Join(src, key), []byte(value))
				}
			}
		case v.HostPath != nil:
			if _, err := os.Stat(v.HostPath.Path); err == nil {
				src = v.HostPath.Path
			} else {
				mkdirAll(t, src)
			}
		default:
			t.Fatalf("volume %s: only ConfigMap, Secret and hostPath volumes are handled here", m.Name)
		}
		mounts = append(mounts, src+"="+m.MountPath)
	}
	sa := mkdirAll(t, filepath.Join(dir, "serviceaccount"))
	writeFile(t, filepath.Join(sa, "token"), []byte("token"))
	ca, err := os.ReadFile(c.pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sa, "ca.crt"), ca)
	mounts = append(mounts, sa+"=/var/run/secrets/kubernetes.io/serviceaccount")
	script := `set -e
R=$1; shift
mount -t tmpfs tmpfs "$R"
for d in proc sys dev tmp; do mkdir -p "$R/$d"; mount --rbind "/$d" "$R/$d"; done
mkdir -p "$R/bin" && touch "$R/bin/otelcol-gaudi" && mount --bind "$BIN" "$R/bin/otelcol-gaudi"
# The image's glibc, which the binary is linked against (for HLML's dlopen).
for lib in $(ldd "$BIN" | grep -o '/[^ ]*'); do mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"; done
for m in $MOUNTS; do
  mkdir -p "$R${m#*=}"
  mount --bind "${m%%=*}" "$R${m#*=}"
done
exec chroot "$R" /bin/otelcol-gaudi "$@"`
	args = []string{"--mount", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append(args, "--map-root-user")
	}
	args = append(args, "sh", "-c", script, "sh", mkdirAll(t, filepath.Join(dir, "root")))
	args = append(append(args, subcommand...), c.container.Args...)
	environ = []string{"BIN=" + collectorBin, "MOUNTS=" + strings.Join(mounts, " ")}
	for k, v := range podEnv {
		if over, ok := env[k]; ok {
			v = over
		}
		environ = append(environ, k+"="+v)
	}
	return mustLookPath(t, "util-linux", "unshare"), args, environ
}

// runInPod runs a one-shot subcommand (validate, print-config) in the pod's filesystem.
func (c k8sCollector) runInPod(t *testing.T, subcommand string) ([]byte, error) {
	t.Helper()
	bin, args, env := c.podCommand(t, nil, subcommand)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

func mkdirAll(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestKubePrometheusStackResources checks what deploy/kubernetes/kube-prometheus-stack adds to the base:
// the PodMonitor scrapes the collector's two metric ports as configs/prometheus/prometheus.yml's two jobs,
// the PrometheusRule holds exactly the shipped rules and passes their unit tests, and the dashboard
// ConfigMaps hold exactly dashboards/*.json with the Grafana sidecar's label.
func TestKubePrometheusStackResources(t *testing.T) {
	t.Parallel()
	objs := renderKustomization(t, "kube-prometheus-stack")
	c := loadK8sCollector(t, objs)
	podLabels := labels.Set(c.ds.Spec.Template.Labels)

	t.Run("PodMonitor", func(t *testing.T) {
		if len(objs.podMonitors) != 1 {
			t.Fatalf("%d PodMonitors, want 1", len(objs.podMonitors))
		}
		pm := objs.podMonitors[0]
		if sel, err := metav1LabelSelector(pm.Spec.Selector.MatchLabels); err != nil || len(pm.Spec.Selector.MatchExpressions) > 0 || !sel.Matches(podLabels) {
			t.Errorf("PodMonitor selector %+v does not select the collector pods", pm.Spec.Selector)
		}
		if !slices.Contains(pm.Spec.NamespaceSelector.MatchNames, c.ds.Namespace) {
			t.Errorf("PodMonitor namespaces %v miss %s", pm.Spec.NamespaceSelector.MatchNames, c.ds.Namespace)
		}
		jobs := map[string]string{}
		for _, ep := range pm.Spec.PodMetricsEndpoints {
			if ep.Port == nil {
				t.Fatalf("endpoint %+v has no port name", ep)
			}
			c.containerPort(t, *ep.Port)
			interval, err1 := model.ParseDuration(string(ep.Interval))
			timeout, err2 := model.ParseDuration(string(ep.ScrapeTimeout))
			if err1 != nil || err2 != nil || timeout >= interval {
				t.Errorf("port %s: scrape timeout %v must be set and below the interval %v", *ep.Port, ep.ScrapeTimeout, ep.Interval)
			}
			var instance bool
			for _, r := range ep.RelabelConfigs {
				if r.TargetLabel == "job" && r.Replacement != nil {
					jobs[*ep.Port] = *r.Replacement
				}
				instance = instance || r.TargetLabel == "instance" && slices.Equal(r.SourceLabels, []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"})
			}
			if !instance {
				t.Errorf("port %s: instance is not the node's name", *ep.Port)
			}
		}
		shipped := readPrometheusConfig(t, shippedPrometheusYML)
		var shippedJobs []string
		for _, sc := range shipped.ScrapeConfigs {
			shippedJobs = append(shippedJobs, sc.JobName)
		}
		if want := map[string]string{"metrics": "otelcol-gaudi", "telemetry": "otelcol-gaudi-telemetry"}; !reflect.DeepEqual(jobs, want) ||
			!slices.Contains(shippedJobs, want["metrics"]) || !slices.Contains(shippedJobs, want["telemetry"]) {
			t.Errorf("PodMonitor jobs %v, want %v as in %s (%v)", jobs, want, shippedPrometheusYML, shippedJobs)
		}
	})

	t.Run("PrometheusRule holds the shipped rules and passes their tests", func(t *testing.T) {
		if len(objs.prometheusRules) != 1 {
			t.Fatalf("%d PrometheusRules, want 1", len(objs.prometheusRules))
		}
		rendered := objs.prometheusRules[0].Spec.Groups
		files, _ := filepath.Glob(filepath.Join(repoRoot, "configs/prometheus/rules/*.rules.yaml"))
		dir := t.TempDir()
		var all []rulefmt.RuleGroup
		for _, f := range files {
			shipped := parseRuleFile(t, f, nil)
			all = append(all, shipped.Groups...)
			// This file's groups, taken from the PrometheusRule, in a file of the same name.
			var mine []monitoringv1.RuleGroup
			for _, g := range rendered {
				if slices.ContainsFunc(shipped.Groups, func(s rulefmt.RuleGroup) bool { return s.Name == g.Name }) {
					mine = append(mine, g)
				}
			}
			extracted, err := sigsyaml.Marshal(monitoringv1.PrometheusRuleSpec{Groups: mine})
			if err != nil {
				t.Fatal(err)
			}
			if got := parseRuleFile(t, filepath.Base(f), extracted); !reflect.DeepEqual(got, shipped) {
				t.Errorf("the PrometheusRule's groups of %s differ from the file:\n%+v\nwant\n%+v", filepath.Base(f), got, shipped)
			}
			writeFile(t, filepath.Join(dir, filepath.Base(f)), extracted)
			test := strings.TrimSuffix(f, ".yaml") + ".test.yaml"
			raw, err := os.ReadFile(test)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, filepath.Base(test)), raw)
		}
		if len(rendered) != len(all) {
			t.Errorf("the PrometheusRule has %d groups, the rule files %d", len(rendered), len(all))
		}
		tests, _ := filepath.Glob(filepath.Join(dir, "*.test.yaml"))
		out, err := runTool(t, mustLookPath(t, "prometheus", "promtool"), append([]string{"test", "rules"}, tests...)...)
		if err != nil {
			t.Errorf("promtool test rules on the PrometheusRule's rules with the shipped tests: %v\n%s", err, out)
		}
	})

	t.Run("dashboards", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(repoRoot, "dashboards/*.json"))
		want := map[string][]byte{}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want[filepath.Base(f)] = raw
		}
		got := map[string][]byte{}
		for _, cm := range objs.configMaps {
			if cm.Labels["grafana_dashboard"] != "1" {
				continue
			}
			for k, v := range cm.Data {
				got[k] = []byte(v)
			}
		}
		if !reflect.DeepEqual(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
			t.Fatalf("dashboard ConfigMaps hold %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		for name := range want {
			if !bytes.Equal(got[name], want[name]) {
				t.Errorf("the ConfigMap's %s differs from dashboards/%s (make generate)", name, name)
			}
		}
	})
}

// parseRuleFile parses a Prometheus rule file (content, or the file when content is nil) as Prometheus does.
func parseRuleFile(t *testing.T, name string, content []byte) *rulefmt.RuleGroups {
	t.Helper()
	if content == nil {
		var err error
		if content, err = os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
	}
	groups, errs := rulefmt.Parse(content, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("%s: %v", name, errs)
	}
	return groups
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestKubernetesTLSComponent renders deploy/kubernetes/kube-prometheus-stack-tls (the stack with
// components/tls) and runs it: the DaemonSet's merged configs validate in the pod's filesystem with the
// Secrets mounted, and the collector started there serves Prometheus configured exactly as the rendered
// PodMonitor says (https, the Secret's CA, the server name, the token Secret), while a scrape without the
// token gets 401 and the readiness probe (HTTPS, no token) still gets its answer.
func TestKubernetesTLSComponent(t *testing.T) {
	t.Parallel()
	objs := renderKustomization(t, "kube-prometheus-stack-tls")
	c := loadK8sCollector(t, objs)
	t.Run("env is what the configs read", func(t *testing.T) { checkPodEnv(t, c) })
	t.Run("mounts are what the configs read", func(t *testing.T) { checkPodMounts(t, c) })
	if out, err := c.runInPod(t, "validate"); err != nil {
		t.Fatalf("otelcol-gaudi validate in the pod's filesystem: %s\n%s", exitDescription(err), out)
	}
	for _, key := range []string{"receivers::otlp::protocols::grpc", "receivers::otlp::protocols::http", "exporters::prometheus"} {
		if lookup(c.effective, key+"::auth::authenticator") != "bearertokenauth" || lookup(c.effective, key+"::tls::cert_file") == nil {
			t.Errorf("%s has no TLS or no bearer token in the merged config", key)
		}
	}
	if lookup(c.effective, "extensions::hpu_health::tls::cert_file") == nil || lookup(c.effective, "extensions::hpu_health::auth") != nil {
		t.Errorf("hpu_health must have TLS and no authenticator (the kubelet's probe sends no token)")
	}

	if len(objs.podMonitors) != 1 {
		t.Fatalf("%d PodMonitors, want 1", len(objs.podMonitors))
	}
	ep := objs.podMonitors[0].Spec.PodMetricsEndpoints[0]
	if ep.Port == nil || *ep.Port != "metrics" || ep.Scheme == nil || strings.ToLower(ep.Scheme.String()) != "https" ||
		ep.TLSConfig == nil || ep.TLSConfig.CA.Secret == nil || ep.TLSConfig.ServerName == nil ||
		ep.Authorization == nil || ep.Authorization.Credentials == nil {
		t.Fatalf("the PodMonitor's metrics endpoint %+v: want https with a CA Secret, a server name and a token Secret", ep)
	}
	secretFile := func(name, key string) string {
		v, ok := c.secrets[name][key]
		if !ok {
			t.Fatalf("the PodMonitor reads Secret %s key %s, which the DaemonSet does not mount", name, key)
		}
		if _, err := os.Stat(v); err == nil {
			return v
		}
		f := filepath.Join(t.TempDir(), key)
		writeFile(t, f, []byte(v))
		return f
	}
	caFile := secretFile(ep.TLSConfig.CA.Secret.Name, ep.TLSConfig.CA.Secret.Key)
	tokenFile := secretFile(ep.Authorization.Credentials.Name, ep.Authorization.Credentials.Key)

	// The pod, on a loopback address of its own: the config's fixed ports cannot collide with another test's.
	podIP := fmt.Sprintf("127.%d.%d.%d", 100+os.Getpid()%100, freePort(t)%250+1, freePort(t)%250+1)
	bin, args, env := c.podCommand(t, map[string]string{"K8S_POD_IP": podIP})
	pod := startProcessEnv(t, "otelcol-gaudi (pod)", bin, env, args...)
	waitHTTP200(t, pod, fmt.Sprintf("http://%s:%d/", podIP, c.containerPort(t, "health")), startupDeadline)

	target := fmt.Sprintf("%s:%d", podIP, c.containerPort(t, "metrics"))
	prom := startPrometheusConfig(t, fmt.Appendf(nil, `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: otelcol-gaudi
    scheme: %s
    tls_config: {ca_file: %q, server_name: %q}
    authorization: {type: %s, credentials_file: %q}
    static_configs: [{targets: [%q]}]
`, strings.ToLower(ep.Scheme.String()), caFile, *ep.TLSConfig.ServerName, ep.Authorization.Type, tokenFile, target))
	eventually(t, startupDeadline, func() (bool, string) {
		pod.failIfExited(t)
		v, err := queryVector(context.Background(), prom.url, `hpu_devices{job="otelcol-gaudi"}`)
		return err == nil && len(v) == 1, fmt.Sprintf("hpu_devices scraped over TLS with the token: %v %v", v, err)
	})

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: c.pki.Pool(), ServerName: k8sServiceName, MinVersion: tls.VersionTLS12}}}
	if code, err := getWithToken(client, "https://"+target+"/metrics", ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token: %d %v, want 401", code, err)
	}
	// The kubelet's HTTPS probe: no token, no verification. No HPU here, so /ready is 503; what matters is not 401.
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // as the kubelet probes
	rp := c.container.ReadinessProbe.HTTPGet
	if code, err := getWithToken(probe, fmt.Sprintf("https://%s:%d%s", podIP, c.containerPort(t, rp.Port.String()), rp.Path), ""); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("the readiness probe over %s: %d %v, want hpu_health's 503 (no HPU on this machine)", rp.Scheme, code, err)
	}
}
