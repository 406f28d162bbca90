package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"k8s.io/apimachinery/pkg/util/validation"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// Attributes the kubelet's view puts on the series of the devices it allocated (OTel semantic conventions).
const (
	attrPodName       = "k8s.pod.name"
	attrNamespaceName = "k8s.namespace.name"
	attrContainerName = "k8s.container.name"
	attrPodUID        = "k8s.pod.uid"
)

// maxKubeletResponse bounds the PodResources answers read (gRPC's default, stated here because it is the
// memory bound of a refresh): a node with hundreds of pods answers in a few hundred kilobytes.
const maxKubeletResponse = 4 << 20

// kubeletSource asks the kubelet's PodResources API which pod and container each HPU is allocated to, off
// the data path, and replaces the table's kubelet view with the answer.
type kubeletSource struct {
	sourceBase
	cfg       KubeletConfig
	kind      refKind // how the device plugin's device IDs name HPUs
	resources map[string]bool
	drivers   map[string]bool
	// hint is the last device_id diagnostic logged, so that it is logged once per change.
	hint string
}

// sourceBase is what the kubelet and Slurm sources share: where they put their view, and how they report.
type sourceBase struct {
	maxAllocs int
	table     *table
	now       func() time.Time
	logger    *zap.Logger
	tel       *telemetry
	state     stateLog
}

func newKubeletSource(cfg KubeletConfig, base sourceBase) *kubeletSource {
	base.logger = base.logger.With(zap.String("source", "kubelet"), zap.String("socket", cfg.Socket))
	base.state = stateLog{what: "the kubelet's PodResources API"}
	k := &kubeletSource{
		sourceBase: base, cfg: cfg, kind: deviceIDKinds[cfg.DeviceID],
		resources: make(map[string]bool), drivers: make(map[string]bool),
	}
	for _, r := range cfg.ResourceNames {
		k.resources[r] = true
	}
	for _, d := range cfg.DRADriverNames {
		k.drivers[d] = true
	}
	return k
}

func (k *kubeletSource) interval() time.Duration { return k.cfg.RefreshInterval }

// refresh asks the kubelet once. On failure the previous view stays until it expires.
func (k *kubeletSource) refresh(ctx context.Context) {
	pods, allocatable, err := k.call(ctx)
	if ctx.Err() != nil {
		return // shutting down: the call was cancelled, nothing failed
	}
	if err != nil {
		res := classify(err)
		k.tel.recordRefresh(ctx, srcKubelet, res)
		k.state.change(k.logger, res, err, zap.Duration("timeout", k.cfg.Timeout))
		return
	}
	now := k.now()
	allocs, holders, invalid, dropped := k.parse(pods)
	k.table.setView(srcKubelet, now, allocs, holders)
	k.tel.recordRefresh(ctx, srcKubelet, resultOK)
	k.tel.recordInvalid(ctx, srcKubelet, invalid)
	k.tel.recordDropped(ctx, dropped)
	k.diagnose(now, allocs, allocatable)
	k.state.change(k.logger, resultOK, nil, zap.Int("allocated_hpus", len(allocs)), zap.Int("pods", len(holders)))
	if invalid > 0 || dropped > 0 {
		k.logger.Debug("Kubelet answer had unusable or too many HPU allocations; they are skipped",
			zap.Int("invalid", invalid), zap.Int("dropped", dropped))
	}
}

// call lists the pods' resources and, for diagnostics, the devices the kubelet manages. A new connection
// per refresh follows the socket when the kubelet restarts and recreates it; the dial error is kept so that
// a missing socket, a refused connection and a permission problem can be told apart.
func (k *kubeletSource) call(ctx context.Context) (*podresourcesv1.ListPodResourcesResponse, *podresourcesv1.AllocatableResourcesResponse, error) {
	if _, err := os.Stat(k.cfg.Socket); err != nil {
		return nil, nil, err
	}
	var (
		mu      sync.Mutex
		dialErr error
	)
	conn, err := grpc.NewClient("passthrough:///kubelet",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, "unix", k.cfg.Socket)
			if err != nil {
				mu.Lock()
				dialErr = err
				mu.Unlock()
			}
			return c, err
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxKubeletResponse)))
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	client := podresourcesv1.NewPodResourcesListerClient(conn)
	pods, err := client.List(ctx, &podresourcesv1.ListPodResourcesRequest{})
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		if dialErr != nil {
			return nil, nil, dialErr
		}
		return nil, nil, err
	}
	// Older kubelets do not implement it; it only feeds diagnostics.
	allocatable, err := client.GetAllocatableResources(ctx, &podresourcesv1.AllocatableResourcesRequest{})
	if err != nil {
		k.logger.Debug("GetAllocatableResources failed; device_id diagnostics skipped", zap.Error(err))
	}
	return pods, allocatable, nil
}

// parse turns the kubelet's answer into allocations of HPUs: device-plugin devices of the configured
// resource names, and DRA devices of the configured drivers (whose device names are PCI addresses). Entries
// with invalid names or IDs are counted and skipped; at most maxAllocs are kept.
func (k *kubeletSource) parse(resp *podresourcesv1.ListPodResourcesResponse) (allocs []allocation, pods map[podKey]struct{}, invalid, dropped int) {
	pods = make(map[podKey]struct{})
	add := func(ref deviceRef, attrs []attr, pod podKey) {
		if len(allocs) >= k.maxAllocs {
			dropped++
			return
		}
		allocs = append(allocs, allocation{ref: ref, attrs: attrs, pod: pod})
		pods[pod] = struct{}{}
	}
	for _, pod := range resp.GetPodResources() {
		key := podKey{namespace: pod.GetNamespace(), name: pod.GetName()}
		podOK := len(validation.IsDNS1123Label(key.namespace)) == 0 && len(validation.IsDNS1123Subdomain(key.name)) == 0
		for _, c := range pod.GetContainers() {
			var refs []deviceRef
			for _, d := range c.GetDevices() {
				if !k.resources[d.GetResourceName()] {
					continue
				}
				for _, id := range d.GetDeviceIds() {
					ref, ok := refOf(k.kind, id)
					if !ok || len(id) > 256 {
						invalid++
						continue
					}
					refs = append(refs, ref)
				}
			}
			for _, dr := range c.GetDynamicResources() {
				for _, cr := range dr.GetClaimResources() {
					if !k.drivers[cr.GetDriverName()] {
						continue
					}
					pci := draPCIBusID(cr)
					if pci == "" {
						invalid++
						continue
					}
					refs = append(refs, deviceRef{kind: refPCI, str: pci})
				}
			}
			if len(refs) == 0 {
				continue
			}
			if !podOK || len(validation.IsDNS1123Label(c.GetName())) != 0 {
				invalid += len(refs)
				continue
			}
			attrs := []attr{
				{key: attrPodName, typ: pcommon.ValueTypeStr, str: key.name},
				{key: attrNamespaceName, typ: pcommon.ValueTypeStr, str: key.namespace},
				{key: attrContainerName, typ: pcommon.ValueTypeStr, str: c.GetName()},
			}
			for _, ref := range refs {
				add(ref, attrs, key)
			}
		}
	}
	return allocs, pods, invalid, dropped
}

// draPCIBusID reads the PCI address of a DRA device. Intel's Gaudi DRA driver names devices by PCI address
// and device id, with dashes for colons and dots ("0000-4d-00-0-0x1020"), in the device name and in its
// CDI device names ("intel.com/gaudi=0000-4d-00-0-0x1020").
func draPCIBusID(cr *podresourcesv1.ClaimResource) string {
	names := []string{cr.GetDeviceName()}
	for _, cdi := range cr.GetCdiDevices() {
		if _, name, ok := strings.Cut(cdi.GetName(), "="); ok {
			names = append(names, name)
		}
	}
	for _, n := range names {
		if pci := pciFromDeviceName(n); pci != "" {
			return pci
		}
	}
	return ""
}

// pciFromDeviceName reads "dddd-bb-dd-f[-anything]" as the PCI address dddd:bb:dd.f.
func pciFromDeviceName(name string) string {
	parts := strings.SplitN(name, "-", 5)
	if len(parts) < 4 || len(name) > 253 {
		return ""
	}
	return normalizePCIBusID(parts[0] + ":" + parts[1] + ":" + parts[2] + "." + parts[3])
}

// diagnose tells, once per change, why allocated devices would carry no pod: the device plugin's IDs name
// no HPU of this node by the configured device_id, or the HPUs' resource has another name. That is the cause
// of most "pod labels empty" reports about GPU exporters, and the answer is in the kubelet's own data.
func (k *kubeletSource) diagnose(now time.Time, allocs []allocation, allocatable *podresourcesv1.AllocatableResourcesResponse) {
	var ids, others []string
	for _, d := range allocatable.GetDevices() {
		if k.resources[d.GetResourceName()] {
			ids = append(ids, d.GetDeviceIds()...)
		} else if n := d.GetResourceName(); !slices.Contains(others, n) {
			others = append(others, n)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	mc := k.table.match(now, ids, allocs)
	if mc.devices == 0 {
		return // no hpu.info seen yet: nothing to judge against
	}
	k.tel.setUnmatched(srcKubelet, mc.unmatchedAllocs)

	hint := ""
	switch {
	case len(ids) > 0 && mc.matched[k.kind] < len(ids):
		var better []string
		for _, name := range []string{deviceIDSerial, deviceIDUUID, deviceIDModuleID, deviceIDPCIBusID} {
			if kind := deviceIDKinds[name]; kind != k.kind && mc.matched[kind] > mc.matched[k.kind] {
				better = append(better, fmt.Sprintf("by %s %d match", name, mc.matched[kind]))
			}
		}
		hint = fmt.Sprintf("%d of the kubelet's %d devices of %v match no HPU of this node by device_id %s",
			len(ids)-mc.matched[k.kind], len(ids), k.cfg.ResourceNames, k.cfg.DeviceID)
		if len(better) > 0 {
			hint += " (" + strings.Join(better, ", ") + ": set kubelet.device_id)"
		}
	case len(ids) == 0 && len(allocs) == 0:
		var near []string
		for _, n := range others {
			if l := strings.ToLower(n); strings.Contains(l, "habana") || strings.Contains(l, "gaudi") {
				near = append(near, n)
			}
		}
		if len(near) > 0 {
			hint = fmt.Sprintf("the kubelet manages no devices of %v but has %v: add them to kubelet.resource_names", k.cfg.ResourceNames, near)
		}
	}
	if hint != k.hint {
		k.hint = hint
		if hint != "" {
			k.logger.Warn("HPUs the kubelet allocates cannot be matched to this node's HPUs, so their series would carry no pod: "+hint,
				zap.Int("hpus_known", mc.devices))
		}
	}
}

// Results of a refresh, the result attribute of otelcol_processor_hpu_job_source_refreshes.
const (
	resultOK               = "ok"
	resultAbsent           = "absent"
	resultPermissionDenied = "permission_denied"
	resultUnavailable      = "unavailable"
	resultTimeout          = "timeout"
	resultMalformed        = "malformed"
	resultError            = "error"
)

var results = []string{resultOK, resultAbsent, resultPermissionDenied, resultUnavailable, resultTimeout, resultMalformed, resultError}

// stateLog logs a source's state once per change: a failure is logged when it starts, not per refresh.
// Only the source's own goroutine uses it.
type stateLog struct {
	what  string // "the kubelet's PodResources API", "the Slurm job-mapping directory"
	last  string
	wasOK bool
}

func (s *stateLog) change(logger *zap.Logger, state string, err error, fields ...zap.Field) {
	if state == s.last {
		return
	}
	prev := s.last
	s.last = state
	switch {
	case state == resultOK:
		s.wasOK = true
		logger.Info("Attributing HPUs from "+s.what, fields...)
	case state == resultAbsent && !s.wasOK:
		// Not a Kubernetes (or Slurm) node, or not yet one: idle and quiet, as documented.
		logger.Debug("Nothing to read from "+s.what+"; attribution stays idle until it appears", zap.Error(err))
	default:
		logger.Warn("Cannot read "+s.what+" ("+state+"); HPU metrics continue, its attributions stay until they expire",
			zap.String("previous_state", prev), zap.Error(err))
	}
}

// classify maps a failed refresh to its result.
func classify(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return resultAbsent
	case errors.Is(err, os.ErrPermission):
		return resultPermissionDenied
	case errors.Is(err, syscall.ECONNREFUSED):
		return resultUnavailable // the socket exists and nobody listens: the kubelet is restarting
	case errors.Is(err, context.DeadlineExceeded):
		return resultTimeout
	}
	switch status.Code(err) {
	case codes.DeadlineExceeded:
		return resultTimeout
	case codes.Unavailable:
		return resultUnavailable
	case codes.Internal, codes.ResourceExhausted:
		return resultMalformed // an answer that does not decode, or exceeds maxKubeletResponse
	}
	return resultError
}
