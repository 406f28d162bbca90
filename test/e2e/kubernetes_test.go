//go:build linux

// The Kubernetes tests need Linux: mount and network namespaces, chroot, /proc/net.

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
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
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// renderKustomization runs kustomize on deploy/kubernetes/<dir> and decodes every object strictly. With
// components (paths under deploy/kubernetes), it renders the overlay a user writes to add them to dir.
func renderKustomization(t *testing.T, dir string, components ...string) k8sObjects {
	t.Helper()
	root := filepath.Join(repoRoot, "deploy", "kubernetes", dir)
	if len(components) > 0 {
		// kustomize takes no absolute paths: the overlay names everything relative to itself.
		overlay := t.TempDir()
		rel := func(p string) string {
			r, err := filepath.Rel(overlay, filepath.Join(repoRoot, "deploy", "kubernetes", p))
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		k := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []string{rel(dir)}}
		var paths []string
		for _, c := range components {
			paths = append(paths, rel(c))
		}
		k["components"] = paths
		raw, err := sigsyaml.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(overlay, "kustomization.yaml"), raw)
		root = overlay
		dir += " with " + strings.Join(components, ", ")
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), root)
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

// podEnv is what the downward API gives the pod. The pod's IP is not a loopback address, so that an endpoint
// other pods reach can be told from one on the pod's own 127.0.0.1; a collector that runs (not only validates)
// does so in a network namespace of its own with that address (inPodNetwork). The node, where kubelet_stats
// dials, is 127.0.0.1 there: a running collector never dials out of its namespace.
var podEnv = map[string]string{"K8S_NODE_NAME": "gaudi-node-7", "K8S_NODE_IP": "127.0.0.1", "K8S_POD_IP": "10.42.0.7"}

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

// TestKubernetesManifests renders deploy/kubernetes, alone and with each component, and checks the DaemonSet
// against the configs it runs.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name, dir  string
		components []string
		root       bool // runs as UID 0 (for the kubelet's PodResources socket)
	}{
		{"base", "base", nil, true},
		{"non-root", "base", []string{"components/non-root"}, false},
		{"tls", "kube-prometheus-stack-tls", nil, true},
		// The two components together: each adds its --config file and its ConfigMap key to the other's.
		{"non-root and tls", "kube-prometheus-stack", []string{"components/non-root", "components/tls"}, false},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			checkK8sManifests(t, renderKustomization(t, v.dir, v.components...), v.root)
		})
	}
}

// checkK8sManifests checks one rendering of deploy/kubernetes; root says whether its pod runs as UID 0.
func checkK8sManifests(t *testing.T, objs k8sObjects, root bool) {
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
		// What may listen on each container port, by the config key of its server.
		want := map[string][]string{
			"otlp-grpc":  {"receivers::otlp::protocols::grpc"},
			"otlp-http":  {"receivers::otlp::protocols::http"},
			"metrics":    {"exporters::prometheus"},
			"health":     {"extensions::health_check"},
			"hpu-health": {"extensions::hpu_health"},
			// The SDK's reader in the base; components/tls serves it from an exporter with TLS instead.
			"telemetry": {"service::telemetry::metrics::readers", "exporters::prometheus/telemetry"},
		}
		servers := c.podServers(t)
		for _, p := range c.container.Ports {
			key, ok := servers[int(p.ContainerPort)]
			switch {
			case !ok:
				t.Errorf("container port %s (%d): nothing in the config listens there on the pod's IP", p.Name, p.ContainerPort)
			case !slices.Contains(want[p.Name], key):
				t.Errorf("container port %s (%d) is %s, want one of %v", p.Name, p.ContainerPort, key, want[p.Name])
			}
			if p.HostPort != 0 {
				t.Errorf("port %s takes host port %d", p.Name, p.HostPort)
			}
			delete(servers, int(p.ContainerPort))
		}
		for port, key := range servers {
			t.Errorf("%s listens on the pod's IP, port %d, which the container does not declare", key, port)
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
		pipelines, _ := lookup(c.effective, "service::pipelines").(map[string]any)
		for name, p := range pipelines {
			if procs, _ := lookup(p, "processors").([]any); len(procs) == 0 || procs[0] != "memory_limiter" {
				t.Errorf("pipeline %s does not start with memory_limiter: %v", name, procs)
			}
		}
	})

	t.Run("security context", func(t *testing.T) { checkPodSecurity(t, c, root) })

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

// podResourcesDir is the kubelet's PodResources directory, which hpu_job's kubelet socket is in.
const podResourcesDir = "/var/lib/kubelet/pod-resources"

// checkPodSecurity checks what the pod may do. Every variant drops every capability, escalates nothing and
// has a read-only root filesystem. The one deviation from non-root is bounded: UID 0 (root) only with all
// of that and only where it buys something, the kubelet's root-only PodResources socket for hpu_job;
// without it (components/non-root) the pod runs as the image's user with the device group.
func checkPodSecurity(t *testing.T, c k8sCollector, root bool) {
	pod := c.ds.Spec.Template.Spec
	sc := c.container.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged == nil || *sc.Privileged ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 {
		t.Errorf("container securityContext %+v: want no privilege escalation, not privileged, read-only root, all capabilities dropped", sc)
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("the pod shares the host's network, PID or IPC namespace")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Fatalf("pod securityContext %+v: want the RuntimeDefault seccomp profile", psc)
	}

	// Who the container runs as: its own securityContext over the pod's over the image's USER.
	imageUID, imageGID := imageUser(t)
	uid, gid, nonRoot := &imageUID, &imageGID, psc.RunAsNonRoot
	if psc.RunAsUser != nil {
		uid = psc.RunAsUser
	}
	if psc.RunAsGroup != nil {
		gid = psc.RunAsGroup
	}
	if sc.RunAsUser != nil {
		uid = sc.RunAsUser
	}
	if sc.RunAsGroup != nil {
		gid = sc.RunAsGroup
	}
	if sc.RunAsNonRoot != nil {
		nonRoot = sc.RunAsNonRoot
	}
	podResources := slices.ContainsFunc(c.container.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == podResourcesDir })
	kubelet := lookup(c.effective, "processors::hpu_job::kubelet::enabled") == true
	if (*uid == 0) != root {
		t.Fatalf("the container runs as UID %d, want root %v", *uid, root)
	}
	if root {
		// The deviation, visible: root without capabilities (checked above), for PodResources alone.
		if !podResources || !kubelet {
			t.Errorf("UID 0 without the PodResources directory mounted (%v) and hpu_job's kubelet enabled (%v): root buys nothing here, run as non-root", podResources, kubelet)
		}
		if nonRoot != nil && *nonRoot {
			t.Errorf("runAsNonRoot with UID 0: the kubelet would refuse to start the container")
		}
		return
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("UID %d without runAsNonRoot: true, which makes the kubelet refuse a root image user", *uid)
	}
	if *uid != imageUID || *gid != imageGID {
		t.Errorf("runs as %d:%d, want the image's user %d:%d (deploy/Dockerfile)", *uid, *gid, imageUID, imageGID)
	}
	if len(psc.SupplementalGroups) == 0 || slices.Contains(psc.SupplementalGroups, 0) {
		t.Errorf("supplementalGroups %v: want the device group (the GID owning /dev/accel/*), and not root's group", psc.SupplementalGroups)
	}
	if podResources || kubelet {
		t.Errorf("non-root cannot connect to the kubelet's root-only PodResources socket: the directory is mounted (%v), hpu_job's kubelet enabled (%v)", podResources, kubelet)
	}
	// The components mount their Secrets 0400, root's: the pod's user reads them through fsGroup, which the
	// kubelet gives the files (group-readable).
	for _, v := range pod.Volumes {
		if v.Secret != nil && (psc.FSGroup == nil || *psc.FSGroup == 0) {
			t.Errorf("Secret volume %s: the non-root user can read it only with the pod's fsGroup, which is %v", v.Name, psc.FSGroup)
		}
	}
}

// imageUser is the UID and GID the image runs as: deploy/Dockerfile's last USER.
func imageUser(t *testing.T) (uid, gid int64) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\d+):(\d+)\s*$`).FindAllStringSubmatch(string(raw), -1)
	if len(users) == 0 {
		t.Fatal("deploy/Dockerfile has no numeric USER uid:gid")
	}
	last := users[len(users)-1]
	uid, _ = strconv.ParseInt(last[1], 10, 64)
	gid, _ = strconv.ParseInt(last[2], 10, 64)
	return uid, gid
}

// podServers returns what listens where other pods reach it, by port: every server endpoint of the effective
// config on the pod's IP or on all addresses, and the telemetry readers there, as their config keys.
func (c k8sCollector) podServers(t *testing.T) map[int]string {
	t.Helper()
	servers := map[int]string{}
	add := func(key, host string, port int) {
		if host != podEnv["K8S_POD_IP"] && host != "" && host != "0.0.0.0" && host != "::" {
			return
		}
		if other, ok := servers[port]; ok {
			t.Errorf("%s and %s both listen on port %d", other, key, port)
		}
		servers[port] = key
	}
	walkStrings(c.effective, "", func(key, v string) {
		parent, ok := strings.CutSuffix(key, "::endpoint")
		host, port, err := net.SplitHostPort(v)
		if !ok || err != nil {
			return // not a server's host:port (kubelet_stats' endpoint is a URL)
		}
		p, _ := strconv.Atoi(port)
		add(parent, host, p)
	})
	readers, _ := lookup(c.effective, "service::telemetry::metrics::readers").([]any)
	for _, r := range readers {
		if prom := lookup(r, "pull::exporter::prometheus"); prom != nil {
			port, _ := lookup(prom, "port").(int)
			add("service::telemetry::metrics::readers", lookupString(prom, "host"), port)
		}
	}
	return servers
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
	// hpu_job applies the kubelet's allocations to the device series of its own host: the node's name on
	// both, or the pod's hostname on hpu_job would match no HPU.
	for _, key := range []string{"receivers::gaudi::host_name", "processors::hpu_job::host_name"} {
		if got := lookup(c.raw, key); got != "${env:K8S_NODE_NAME}" {
			t.Errorf("%s is %v, want ${env:K8S_NODE_NAME}", key, got)
		}
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
		if !strings.HasPrefix(v, "/") || disabledSection(c.effective, key) {
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
		used := mp == path.Dir(c.container.Args[1])
		for _, p := range paths {
			used = used || withinDir(p, mp) || withinDir(mp, p)
		}
		if !used {
			t.Errorf("%s is mounted, but nothing in the config reads it", mp)
		}
	}
	for _, v := range c.ds.Spec.Template.Spec.Volumes {
		if v.HostPath != nil && (v.HostPath.Path == "/" || strings.HasSuffix(v.HostPath.Path, ".sock")) {
			t.Errorf("volume %s mounts the host's %s: mount the directory the sources read, not the host or a socket", v.Name, v.HostPath.Path)
		}
	}
}

// disabledSection says whether key is inside a section of cfg with `enabled: false` (hpu_job's kubelet in
// components/non-root): its paths are defaults nothing reads.
func disabledSection(cfg any, key string) bool {
	parts := strings.Split(key, "::")
	for i := 1; i < len(parts); i++ {
		if lookup(cfg, strings.Join(parts[:i], "::")+"::enabled") == false {
			return true
		}
	}
	return false
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
  mount --rbind "${m%%=*}" "$R${m#*=}"
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

	t.Run("kube-prometheus-stack picks them up", func(t *testing.T) {
		// The stack installed as its README does (`helm install kube-prometheus-stack ... -n monitoring`): its
		// Prometheus selects PodMonitors and PrometheusRules labelled release=<Helm release> (the default
		// podMonitorSelector and ruleSelector), in any namespace; Grafana's dashboard sidecar reads ConfigMaps
		// of its own namespace, from which the NetworkPolicy admits Prometheus's scrapes.
		const release, namespace = "kube-prometheus-stack", "monitoring"
		if len(objs.podMonitors) != 1 || len(objs.prometheusRules) != 1 {
			t.Fatalf("%d PodMonitors and %d PrometheusRules, want one of each", len(objs.podMonitors), len(objs.prometheusRules))
		}
		for _, m := range []metav1.ObjectMeta{objs.podMonitors[0].ObjectMeta, objs.prometheusRules[0].ObjectMeta} {
			if m.Labels["release"] != release {
				t.Errorf("%s: label release=%q, want %q, which kube-prometheus-stack's selectors require", m.Name, m.Labels["release"], release)
			}
			if m.Namespace != c.ds.Namespace {
				t.Errorf("%s is in namespace %q, want the collector's %q", m.Name, m.Namespace, c.ds.Namespace)
			}
		}
		dashboards := 0
		for _, cm := range objs.configMaps {
			if cm.Labels["grafana_dashboard"] != "1" {
				continue
			}
			dashboards++
			if cm.Namespace != namespace {
				t.Errorf("dashboard ConfigMap %s is in namespace %q, want Grafana's %q", cm.Name, cm.Namespace, namespace)
			}
		}
		if dashboards == 0 {
			t.Error("no dashboard ConfigMap")
		}
		var admitted []string
		for _, np := range objs.networkPolicies {
			for _, rule := range np.Spec.Ingress {
				if !slices.ContainsFunc(rule.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port != nil && p.Port.String() == "metrics" }) {
					continue
				}
				for _, from := range rule.From {
					if from.NamespaceSelector != nil {
						admitted = append(admitted, from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
					}
				}
			}
		}
		if !slices.Equal(admitted, []string{namespace}) {
			t.Errorf("the NetworkPolicy admits scrapes of port metrics from namespaces %q, want %q", admitted, namespace)
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
// components/tls) and runs it in a network namespace of its own, as a pod: the DaemonSet's merged configs
// validate in the pod's filesystem with the Secrets mounted; every port that listens on the pod's IP, except
// the liveness probe's, takes TLS with the Secret's certificate, and every one but the probes' refuses a
// client without the token; a real Prometheus configured exactly as the rendered PodMonitor says (https, the
// Secret's CA, the server name, the token Secret, the metric relabelings) scrapes the HPU series and the
// collector's own telemetry, under the names its plain reader serves on the pod's 127.0.0.1.
func TestKubernetesTLSComponent(t *testing.T) {
	t.Parallel()
	inPodNetwork(t, func(t *testing.T) {
		objs := renderKustomization(t, "kube-prometheus-stack-tls")
		c := loadK8sCollector(t, objs)
		t.Run("env is what the configs read", func(t *testing.T) { checkPodEnv(t, c) })
		t.Run("mounts are what the configs read", func(t *testing.T) { checkPodMounts(t, c) })
		if out, err := c.runInPod(t, "validate"); err != nil {
			t.Fatalf("otelcol-gaudi validate in the pod's filesystem: %s\n%s", exitDescription(err), out)
		}
		if len(objs.podMonitors) != 1 {
			t.Fatalf("%d PodMonitors, want 1", len(objs.podMonitors))
		}

		bin, args, env := c.podCommand(t, nil)
		pod := startProcessEnv(t, "otelcol-gaudi (pod)", bin, env, args...)
		podIP := podEnv["K8S_POD_IP"]
		waitHTTP200(t, pod, fmt.Sprintf("http://%s:%d/", podIP, c.containerPort(t, "health")), startupDeadline)

		token := c.secrets["otelcol-gaudi-token"]["token"]
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: c.pki.Pool(), ServerName: k8sServiceName, MinVersion: tls.VersionTLS12}}}
		t.Run("every port on the pod's IP takes TLS and the token", func(t *testing.T) { checkPodPortsTLS(t, c, client, token) })

		// Prometheus with every endpoint of the PodMonitor, as the Prometheus Operator configures it.
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
		jobOf := map[string]string{}
		var jobs []map[string]any
		for _, ep := range objs.podMonitors[0].Spec.PodMetricsEndpoints {
			if ep.Port == nil || ep.Scheme == nil || strings.ToLower(ep.Scheme.String()) != "https" ||
				ep.TLSConfig == nil || ep.TLSConfig.CA.Secret == nil || ep.TLSConfig.ServerName == nil ||
				ep.Authorization == nil || ep.Authorization.Credentials == nil {
				t.Fatalf("the PodMonitor's endpoint %+v: want https with a CA Secret, a server name and a token Secret", ep)
			}
			for _, r := range ep.RelabelConfigs {
				if r.TargetLabel == "job" && r.Replacement != nil {
					jobOf[*ep.Port] = *r.Replacement
				}
			}
			jobs = append(jobs, map[string]any{
				"job_name": jobOf[*ep.Port],
				"scheme":   "https",
				"tls_config": map[string]any{"ca_file": secretFile(ep.TLSConfig.CA.Secret.Name, ep.TLSConfig.CA.Secret.Key),
					"server_name": *ep.TLSConfig.ServerName},
				"authorization": map[string]any{"type": ep.Authorization.Type,
					"credentials_file": secretFile(ep.Authorization.Credentials.Name, ep.Authorization.Credentials.Key)},
				"static_configs":         []any{map[string]any{"targets": []string{fmt.Sprintf("%s:%d", podIP, c.containerPort(t, *ep.Port))}}},
				"metric_relabel_configs": promRelabelConfigs(ep.MetricRelabelConfigs),
			})
		}
		if jobOf["metrics"] == "" || jobOf["telemetry"] == "" {
			t.Fatalf("the PodMonitor's jobs %v: want both the metrics and the telemetry port", jobOf)
		}
		promConfig, err := sigsyaml.Marshal(map[string]any{"global": map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s"}, "scrape_configs": jobs})
		if err != nil {
			t.Fatal(err)
		}
		prom := startPrometheusConfig(t, promConfig)
		eventually(t, startupDeadline, func() (bool, string) {
			pod.failIfExited(t)
			hpu, err1 := queryVector(context.Background(), prom.url, fmt.Sprintf(`hpu_devices{job=%q}`, jobOf["metrics"]))
			uptime, err2 := queryVector(context.Background(), prom.url, fmt.Sprintf(`otelcol_process_uptime{job=%q}`, jobOf["telemetry"]))
			return err1 == nil && err2 == nil && len(hpu) == 1 && len(uptime) == 1,
				fmt.Sprintf("hpu_devices %v %v and otelcol_process_uptime %v %v, scraped over TLS with the token", hpu, err1, uptime, err2)
		})
		// The receiver's own up and scrape_* series about 127.0.0.1:8888 are dropped: up is Prometheus's alone.
		if up := query(t, prom.url, fmt.Sprintf(`up{job=%q}`, jobOf["telemetry"])); len(up) != 1 || len(up[0].Metric) != 3 {
			t.Errorf("up of the telemetry job: %v, want Prometheus's own series alone (job, instance)", up)
		}

		t.Run("the telemetry over TLS has the reader's names", func(t *testing.T) {
			readers, _ := lookup(c.effective, "service::telemetry::metrics::readers").([]any)
			var readerCfg any
			if len(readers) == 1 {
				readerCfg = lookup(readers[0], "pull::exporter::prometheus")
			}
			if lookupString(readerCfg, "host") != "127.0.0.1" {
				t.Fatalf("the telemetry reader %v is not on the pod's 127.0.0.1 alone", readers)
			}
			reader := fmt.Sprintf("http://127.0.0.1:%v/metrics", lookup(readerCfg, "port"))
			telemetry := fmt.Sprintf("https://%s:%d/metrics", podIP, c.containerPort(t, "telemetry"))
			eventually(t, startupDeadline, func() (bool, string) {
				plain, err1 := familyNames(httpClient, reader, "")
				served, err2 := familyNames(client, telemetry, token)
				if err1 != nil || err2 != nil {
					return false, fmt.Sprintf("%v %v", err1, err2)
				}
				var missing []string
				for name := range plain {
					if !served[name] {
						missing = append(missing, name)
					}
				}
				slices.Sort(missing)
				return len(missing) == 0, fmt.Sprintf("%s lacks %v of the reader's metrics", telemetry, missing)
			})
		})
	})
}

// promRelabelConfigs is a PodMonitor's relabelings as Prometheus's relabel_configs, as the operator writes them.
func promRelabelConfigs(rs []monitoringv1.RelabelConfig) []map[string]any {
	out := []map[string]any{}
	for _, r := range rs {
		m := map[string]any{}
		if len(r.SourceLabels) > 0 {
			m["source_labels"] = r.SourceLabels
		}
		if r.Separator != nil {
			m["separator"] = *r.Separator
		}
		if r.TargetLabel != "" {
			m["target_label"] = r.TargetLabel
		}
		if r.Regex != "" {
			m["regex"] = r.Regex
		}
		if r.Modulus != 0 {
			m["modulus"] = r.Modulus
		}
		if r.Replacement != nil {
			m["replacement"] = *r.Replacement
		}
		if r.Action != "" {
			m["action"] = strings.ToLower(r.Action)
		}
		out = append(out, m)
	}
	return out
}

// checkPodPortsTLS holds every TCP port listening in the pod's network namespace on the pod's IP (or on all
// addresses) against the container's ports and the TLS component: the liveness probe's port is the only
// plain one; every other one completes a TLS handshake verified with the Secret's CA for the Service's name;
// the readiness probe's answers without a token (the kubelet sends none) and every other one refuses a
// client without the token, HTTP with 401, gRPC with Unauthenticated, and accepts one with it.
func checkPodPortsTLS(t *testing.T, c k8sCollector, client *http.Client, token string) {
	podIP := netip.MustParseAddr(podEnv["K8S_POD_IP"])
	servers := c.podServers(t)
	declared := map[int]string{}
	for _, p := range c.container.Ports {
		declared[int(p.ContainerPort)] = p.Name
	}
	liveness := c.containerPort(t, c.container.LivenessProbe.HTTPGet.Port.String())
	readiness := c.containerPort(t, c.container.ReadinessProbe.HTTPGet.Port.String())
	checked := 0
	for l := range tcpListeners(t) {
		if l.Addr() != podIP && !l.Addr().IsUnspecified() {
			continue // the pod's loopback: no other pod reaches it
		}
		port := int(l.Port())
		addr := net.JoinHostPort(podIP.String(), strconv.Itoa(port))
		name, key := declared[port], servers[port]
		if name == "" || key == "" {
			t.Errorf("%s listens, which the container (%q) or the config (%q) does not declare", l, name, key)
			continue
		}
		checked++
		if port == liveness {
			if code, err := getWithToken(httpClient, "http://"+addr+c.container.LivenessProbe.HTTPGet.Path, ""); err != nil || code != http.StatusOK {
				t.Errorf("the liveness probe's port %s (%s): %d %v, want a plain 200", name, key, code, err)
			}
			continue
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{
			RootCAs: c.pki.Pool(), ServerName: k8sServiceName, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Errorf("port %s (%s): no TLS with the Secret's certificate: %v", name, key, err)
			continue
		}
		_ = conn.Close()
		switch {
		case port == readiness:
			p := c.container.ReadinessProbe.HTTPGet
			// No HPU on this machine, so /ready is hpu_health's 503; what matters is that it is not a 401.
			if code, err := getWithToken(client, fmt.Sprintf("https://%s%s", addr, p.Path), ""); err != nil || code != http.StatusServiceUnavailable {
				t.Errorf("the readiness probe's port %s (%s) without a token: %d %v, want hpu_health's 503", name, key, code, err)
			}
		case key == "receivers::otlp::protocols::grpc":
			if err := otlpGRPCExport(addr, client.Transport.(*http.Transport).TLSClientConfig, ""); status.Code(err) != codes.Unauthenticated {
				t.Errorf("port %s (%s): an export without the token got %v, want Unauthenticated", name, key, err)
			}
			if err := otlpGRPCExport(addr, client.Transport.(*http.Transport).TLSClientConfig, token); err != nil {
				t.Errorf("port %s (%s): an export with the token: %v", name, key, err)
			}
		default:
			if code, err := getWithToken(client, "https://"+addr+"/", ""); err != nil || code != http.StatusUnauthorized {
				t.Errorf("port %s (%s) without the token: %d %v, want 401", name, key, code, err)
			}
			if code, err := getWithToken(client, "https://"+addr+"/", token); err != nil || code == http.StatusUnauthorized {
				t.Errorf("port %s (%s) with the token: %d %v, want it accepted", name, key, code, err)
			}
		}
	}
	if checked != len(c.container.Ports) {
		t.Errorf("%d of the container's %d ports listen on the pod's IP", checked, len(c.container.Ports))
	}
}

// otlpGRPCExport sends an empty OTLP metrics export over TLS, with the bearer token unless it is empty.
func otlpGRPCExport(addr string, tlsConfig *tls.Config, token string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(tlsConfig)))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequest())
	return err
}

// familyNames returns the metric family names url serves, fetched with the token unless it is empty.
func familyNames(client *http.Client, url, token string) (map[string]bool, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", textFormat)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	names := map[string]bool{}
	for name := range families {
		names[name] = true
	}
	return names, nil
}

// tcpListeners returns the addresses TCP sockets listen on in this process's network namespace.
func tcpListeners(t *testing.T) map[netip.AddrPort]bool {
	t.Helper()
	listeners := map[netip.AddrPort]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "0A" { // TCP_LISTEN
				continue
			}
			hexAddr, hexPort, _ := strings.Cut(fields[1], ":")
			b, err1 := hex.DecodeString(hexAddr)
			port, err2 := strconv.ParseUint(hexPort, 16, 16)
			if err1 != nil || err2 != nil || len(b)%4 != 0 {
				t.Fatalf("%s: undecodable local address %q", f, fields[1])
			}
			// The kernel prints each 32-bit word of the address as a number in host byte order.
			for i := 0; i < len(b); i += 4 {
				binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(b[i:]))
			}
			addr, _ := netip.AddrFromSlice(b)
			listeners[netip.AddrPortFrom(addr.Unmap(), uint16(port))] = true
		}
	}
	return listeners
}

// podNetworkEnv names the test that runs, in a process of its own, inside a network namespace of its own.
const podNetworkEnv = "OTELCOL_GAUDI_E2E_POD_NETWORK"

// inPodNetwork runs fn in a network namespace of its own, as a pod has: the loopback interface up with the pod's
// IP (podEnv) on it, so that the pod's fixed ports (the config's) and its 127.0.0.1 are its alone and what
// other pods reach can be told from what they cannot. The test binary runs itself again under unshare with
// only this test selected; that run's verdict and output are this test's.
func inPodNetwork(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	if os.Getenv(podNetworkEnv) == t.Name() {
		upPodLoopback(t, netip.MustParseAddr(podEnv["K8S_POD_IP"]))
		fn(t)
		return
	}
	args := []string{"--net"}
	if os.Geteuid() != 0 {
		args = append(args, "--map-root-user")
	}
	args = append(args, os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	if deadline, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout="+time.Until(deadline).String())
	}
	cmd := exec.CommandContext(t.Context(), mustLookPath(t, "util-linux", "unshare"), args...)
	cmd.Env = append(os.Environ(), podNetworkEnv+"="+t.Name(), "OTELCOL_GAUDI_BIN="+collectorBin)
	cmd.SysProcAttr = childSysProcAttr()
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace of its own:\n%s", out)
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name()+" (")) {
		t.Errorf("%s in a network namespace of its own: %s (output above)", t.Name(), exitDescription(err))
	}
}

// upPodLoopback brings up the loopback interface of a new network namespace and adds addr to it.
func upPodLoopback(t *testing.T, addr netip.Addr) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	lo, err := unix.NewIfreq("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, lo); err != nil {
		t.Fatalf("lo's flags: %v", err)
	}
	lo.SetUint16(lo.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, lo); err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	alias, err := unix.NewIfreq("lo:pod")
	if err != nil {
		t.Fatal(err)
	}
	if err := alias.SetInet4Addr(addr.AsSlice()); err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, alias); err != nil {
		t.Fatalf("adding %s to lo: %v", addr, err)
	}
}
