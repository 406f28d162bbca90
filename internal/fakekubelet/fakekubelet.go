// Package fakekubelet is a kubelet for tests: the real PodResources gRPC service (k8s.io/kubelet's
// podresources v1 server interface) on a unix socket, and the /stats/summary endpoint the kubelet_stats
// receiver reads, both describing the same pods. It can hang, go away and come back, as a real kubelet
// does when it stalls or restarts.
package fakekubelet

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// GaudiResource is the extended resource Habana's device plugin registers Gaudi devices under; its
// device IDs are the devices' serial numbers.
const GaudiResource = "habana.ai/gaudi"

// GaudiDRADriver is Intel's Gaudi DRA driver.
const GaudiDRADriver = "gaudi.intel.com"

// Pod is a pod of the fake node.
type Pod struct {
	Namespace, Name, UID string
	Containers           []Container
}

// Container is a container and what the kubelet allocated to it.
type Container struct {
	Name string
	// Devices are device-plugin devices by resource name.
	Devices map[string][]string
	// DRA are devices allocated through DRA resource claims.
	DRA    []DRADevice
	CPUIDs []int64
	// CPUCores and MemoryBytes are what /stats/summary reports it uses.
	CPUCores    float64
	MemoryBytes uint64
}

// DRADevice is one device of a resource claim.
type DRADevice struct {
	Claim, Driver, Pool, Device string
}

// Kubelet is a running fake kubelet.
type Kubelet struct {
	podresourcesv1.UnimplementedPodResourcesListerServer

	socket, node string
	started      time.Time

	mu          sync.Mutex
	pods        []Pod
	allocatable map[string][]string
	hang        bool
	lists       int
	hanging     int
	srv         *grpc.Server
	lis         *net.UnixListener
}

// Start serves the PodResources API on socket (created; removed by Stop).
func Start(socket, node string) (*Kubelet, error) {
	k := &Kubelet{socket: socket, node: node, started: time.Now(), allocatable: map[string][]string{}}
	return k, k.Serve()
}

// Serve listens on the socket again after Stop or Crash: the kubelet came back. As the kubelet does, it
// replaces a stale socket file.
func (k *Kubelet) Serve() error {
	if err := os.Remove(k.socket); err != nil && !os.IsNotExist(err) {
		return err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: k.socket, Net: "unix"})
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	podresourcesv1.RegisterPodResourcesListerServer(srv, k)
	k.mu.Lock()
	k.srv, k.lis = srv, l
	k.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
	return nil
}

// Stop stops serving and removes the socket, as a kubelet that was stopped (or a lost mount).
func (k *Kubelet) Stop() { k.stop(true) }

// Crash stops serving and leaves the socket file behind, as a kubelet that died or is restarting:
// connecting to it is refused.
func (k *Kubelet) Crash() { k.stop(false) }

func (k *Kubelet) stop(unlink bool) {
	k.mu.Lock()
	srv, l := k.srv, k.lis
	k.srv, k.lis = nil, nil
	k.mu.Unlock()
	if srv == nil {
		return
	}
	l.SetUnlinkOnClose(unlink)
	srv.Stop()
}

// SetPods replaces the node's pods.
func (k *Kubelet) SetPods(pods ...Pod) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pods = pods
}

// SetAllocatable sets the devices the kubelet manages for a resource (GetAllocatableResources).
func (k *Kubelet) SetAllocatable(resource string, ids ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.allocatable[resource] = ids
}

// SetHang makes List never answer: it returns only when the caller gives up.
func (k *Kubelet) SetHang(hang bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hang = hang
}

// Lists returns how many List calls reached the kubelet.
func (k *Kubelet) Lists() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lists
}

// Hanging returns how many List calls are waiting in SetHang's way now.
func (k *Kubelet) Hanging() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.hanging
}

// List implements the PodResourcesLister service: every pod, with the devices, DRA claims and CPUs
// of its containers, as the kubelet's podresources server answers.
func (k *Kubelet) List(ctx context.Context, _ *podresourcesv1.ListPodResourcesRequest) (*podresourcesv1.ListPodResourcesResponse, error) {
	k.mu.Lock()
	k.lists++
	hang, pods := k.hang, k.pods
	k.mu.Unlock()
	if hang {
		k.mu.Lock()
		k.hanging++
		k.mu.Unlock()
		<-ctx.Done()
		k.mu.Lock()
		k.hanging--
		k.mu.Unlock()
		return nil, ctx.Err()
	}
	resp := &podresourcesv1.ListPodResourcesResponse{}
	for _, p := range pods {
		pr := &podresourcesv1.PodResources{Name: p.Name, Namespace: p.Namespace}
		for _, c := range p.Containers {
			cr := &podresourcesv1.ContainerResources{Name: c.Name, CpuIds: c.CPUIDs}
			for res, ids := range c.Devices {
				cr.Devices = append(cr.Devices, &podresourcesv1.ContainerDevices{
					ResourceName: res, DeviceIds: ids,
					Topology: &podresourcesv1.TopologyInfo{Nodes: []*podresourcesv1.NUMANode{{ID: 0}}},
				})
			}
			for _, d := range c.DRA {
				cr.DynamicResources = append(cr.DynamicResources, &podresourcesv1.DynamicResource{
					ClaimName: d.Claim, ClaimNamespace: p.Namespace,
					ClaimResources: []*podresourcesv1.ClaimResource{{
						DriverName: d.Driver, PoolName: d.Pool, DeviceName: d.Device,
						CdiDevices: []*podresourcesv1.CDIDevice{{Name: "intel.com/gaudi=" + d.Device}},
					}},
				})
			}
			pr.Containers = append(pr.Containers, cr)
		}
		resp.PodResources = append(resp.PodResources, pr)
	}
	return resp, nil
}

// GetAllocatableResources implements the PodResourcesLister service: the devices the kubelet manages.
func (k *Kubelet) GetAllocatableResources(context.Context, *podresourcesv1.AllocatableResourcesRequest) (*podresourcesv1.AllocatableResourcesResponse, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	resp := &podresourcesv1.AllocatableResourcesResponse{CpuIds: []int64{0, 1, 2, 3, 4, 5, 6, 7}}
	for res, ids := range k.allocatable {
		resp.Devices = append(resp.Devices, &podresourcesv1.ContainerDevices{ResourceName: res, DeviceIds: ids})
	}
	return resp, nil
}

// ServeHTTP serves /stats/summary for the same pods, as the kubelet's stats endpoint does: counters grow
// with the time since Start at each container's CPUCores, so rates come out right.
func (k *Kubelet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/stats/summary" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(k.summary(time.Now())); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (k *Kubelet) summary(now time.Time) statsv1alpha1.Summary {
	k.mu.Lock()
	pods := k.pods
	k.mu.Unlock()
	ts, start := metav1.NewTime(now), metav1.NewTime(k.started)
	elapsed := now.Sub(k.started).Seconds()
	u := func(v float64) *uint64 { n := uint64(v); return &n }
	cpu := func(cores float64) *statsv1alpha1.CPUStats {
		return &statsv1alpha1.CPUStats{Time: ts, UsageNanoCores: u(cores * 1e9), UsageCoreNanoSeconds: u(cores * 1e9 * elapsed)}
	}
	mem := func(b uint64) *statsv1alpha1.MemoryStats {
		return &statsv1alpha1.MemoryStats{Time: ts, UsageBytes: u(float64(b) * 1.2), WorkingSetBytes: &b, RSSBytes: u(float64(b) * 0.9),
			PageFaults: u(1000 + elapsed), MajorPageFaults: u(3)}
	}
	sum := statsv1alpha1.Summary{Node: statsv1alpha1.NodeStats{
		NodeName: k.node, StartTime: start,
		CPU: cpu(12), Memory: mem(96 << 30),
		Network: &statsv1alpha1.NetworkStats{Time: ts, InterfaceStats: statsv1alpha1.InterfaceStats{
			Name: "eth0", RxBytes: u(1e6 * elapsed), TxBytes: u(4e5 * elapsed), RxErrors: u(0), TxErrors: u(0)}},
		Fs: &statsv1alpha1.FsStats{Time: ts, CapacityBytes: u(1 << 40), AvailableBytes: u(600 << 30), UsedBytes: u(424 << 30)},
	}}
	for _, p := range pods {
		ps := statsv1alpha1.PodStats{
			PodRef:    statsv1alpha1.PodReference{Name: p.Name, Namespace: p.Namespace, UID: p.UID},
			StartTime: start,
			Network: &statsv1alpha1.NetworkStats{Time: ts, InterfaceStats: statsv1alpha1.InterfaceStats{
				Name: "eth0", RxBytes: u(2e5 * elapsed), TxBytes: u(1e5 * elapsed), RxErrors: u(0), TxErrors: u(0)}},
		}
		var cores float64
		var bytes uint64
		for _, c := range p.Containers {
			ps.Containers = append(ps.Containers, statsv1alpha1.ContainerStats{
				Name: c.Name, StartTime: start, CPU: cpu(c.CPUCores), Memory: mem(c.MemoryBytes),
				Rootfs: &statsv1alpha1.FsStats{Time: ts, UsedBytes: u(64 << 20), CapacityBytes: u(1 << 40), AvailableBytes: u(600 << 30)},
				Logs:   &statsv1alpha1.FsStats{Time: ts, UsedBytes: u(1 << 20), CapacityBytes: u(1 << 40), AvailableBytes: u(600 << 30)},
			})
			cores += c.CPUCores
			bytes += c.MemoryBytes
		}
		ps.CPU, ps.Memory = cpu(cores), mem(bytes)
		sum.Pods = append(sum.Pods, ps)
	}
	return sum
}

// GaudiNode returns the pods of a Gaudi node as its kubelet lists them. serials and pciBusIDs are the
// node's HPUs by index (at least four). Allocated through Habana's device plugin (IDs are serials): HPUs 0
// and 1 to the trainer of a two-container training pod, HPU 2 to a single-container pod; HPU 3 through a DRA
// claim of Intel's Gaudi driver (device named by its PCI address). The device plugin and the monitoring
// agent hold none; neither do the trainer's log sidecar and HPUs 4 and up. Another vendor's NIC is
// allocated too, to be ignored.
func GaudiNode(serials, pciBusIDs []string) []Pod {
	return []Pod{
		{Namespace: "kube-system", Name: "habanalabs-device-plugin-daemonset-x7k2p", UID: "6f1c0c7e-0d8a-4f4e-9a51-1f0b5e2c3d01",
			Containers: []Container{{Name: "habana-device-plugin", CPUCores: 0.01, MemoryBytes: 24 << 20}}},
		{Namespace: "monitoring", Name: "otelcol-gaudi-4wz9q", UID: "0a9d3c55-51b6-4f0e-8c1e-7d2f7b1e9a02",
			Containers: []Container{{Name: "otelcol-gaudi", CPUCores: 0.05, MemoryBytes: 120 << 20}}},
		{Namespace: "training", Name: "llama3-8b-worker-0", UID: "c3b5e7a1-2f44-4d3b-9e6a-0b8c1d2e3f03",
			Containers: []Container{
				{Name: "trainer", Devices: map[string][]string{GaudiResource: {serials[0], serials[1]}, "example.com/rdma": {"mlx5_0"}},
					CPUIDs: []int64{2, 3, 4, 5}, CPUCores: 3.5, MemoryBytes: 48 << 30},
				{Name: "log-shipper", CPUCores: 0.1, MemoryBytes: 64 << 20},
			}},
		{Namespace: "training", Name: "bert-finetune-7f9c4-qx2lm", UID: "7e2d4c6b-8a1f-4b3c-a5d6-e7f8091a2b04",
			Containers: []Container{{Name: "main", Devices: map[string][]string{GaudiResource: {serials[2]}}, CPUCores: 1.5, MemoryBytes: 16 << 30}}},
		{Namespace: "research", Name: "vision-dra-0", UID: "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c05",
			Containers: []Container{{Name: "train", DRA: []DRADevice{{Claim: "vision-dra-0-gaudi-k2j4h", Driver: GaudiDRADriver, Pool: "node",
				Device: dashed(pciBusIDs[3]) + "-0x1060"}}, CPUCores: 2, MemoryBytes: 24 << 30}}},
	}
}

// dashed writes a PCI address as Intel's DRA driver names devices: 0000:4d:00.0 → 0000-4d-00-0.
func dashed(pci string) string { return strings.NewReplacer(":", "-", ".", "-").Replace(pci) }

// Socket returns a path for a kubelet socket in a new directory, removed when the test ends, short
// enough for a unix socket address (108 bytes), which a test's TempDir can exceed.
func Socket(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kubelet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir + "/kubelet.sock"
}
