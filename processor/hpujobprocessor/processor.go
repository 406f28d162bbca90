package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"context"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"
)

// logInterval spaces the warnings about full tables and unusable job resources.
const logInterval = time.Minute

type hpuJobProcessor struct {
	logger *zap.Logger
	tel    *telemetry
	now    func() time.Time
	// host is the normalised host name of device metrics without host.name, and the node the kubelet and
	// Slurm sources describe.
	host   string
	scopes []string
	attrs  []string
	table  *table
	// sources are the orchestrators read in the background (kubelet, Slurm); learnPods is set when the
	// kubelet is one, so that pod uids are learned from the pipeline.
	sources   []orchestrator
	learnPods bool
	stop      context.CancelFunc
	done      sync.WaitGroup
	scratch   sync.Pool // of *scratch

	fullLog, noHostLog, invalidLog logLimiter
}

// scratch is a batch's working memory, pooled so that a scrape of a node's devices allocates none of it.
type scratch struct {
	targets [4]target
	hosts   [2]hostAssignments
	seen    [16]deviceSeen
	assign  [16]assignment // the first host's assignments
}

// clear drops what the batch referenced (its resources, the table's attribute slices) before reuse.
func (sc *scratch) clear() {
	clear(sc.targets[:])
	clear(sc.hosts[:])
	clear(sc.seen[:])
	clear(sc.assign[:])
}

// orchestrator is a source of device allocations, read off the data path every interval.
type orchestrator interface {
	refresh(ctx context.Context)
	interval() time.Duration
}

func newHPUJobProcessor(cfg *Config, set component.TelemetrySettings, now func() time.Time, osHostname func() (string, error)) (*hpuJobProcessor, error) {
	host, err := resolveHostName(cfg, osHostname)
	if err != nil {
		return nil, err
	}
	t := newTable(cfg.Expiration, cfg.MaxMappings, cfg.MaxDevices, host)
	tel, err := newTelemetry(set, t, now)
	if err != nil {
		return nil, err
	}
	p := &hpuJobProcessor{
		logger: set.Logger,
		tel:    tel,
		now:    now,
		host:   host,
		scopes: cfg.ScopeNames,
		attrs:  cfg.Attributes,
		table:  t,
	}
	p.scratch.New = func() any { return new(scratch) }
	base := sourceBase{maxAllocs: cfg.MaxMappings, table: t, now: now, logger: set.Logger, tel: tel}
	if cfg.Kubelet.Enabled {
		p.sources = append(p.sources, newKubeletSource(cfg.Kubelet, base))
		p.learnPods = true
	}
	if cfg.Slurm.JobMappingDir != "" {
		p.sources = append(p.sources, newSlurmSource(cfg.Slurm, base))
	}
	return p, nil
}

func (p *hpuJobProcessor) start(context.Context, component.Host) error {
	p.logger.Info("Attributing HPU metrics to training jobs",
		zap.String("host_name", p.host), zap.Strings("scope_names", p.scopes), zap.Strings("attributes", p.attrs))
	if len(p.sources) == 0 {
		return nil
	}
	// The sources outlive Start's context; shutdown stops them.
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	for _, src := range p.sources {
		p.done.Add(1)
		go func() {
			defer p.done.Done()
			poll(ctx, src)
		}()
	}
	return nil
}

// poll refreshes a source now and then every interval until ctx ends. A slow source delays only its own
// next refresh: scrapes read the table, never the source.
func poll(ctx context.Context, src orchestrator) {
	t := time.NewTicker(src.interval())
	defer t.Stop()
	for {
		src.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *hpuJobProcessor) shutdown(context.Context) error {
	if p.stop != nil {
		p.stop()
		p.done.Wait()
	}
	return p.tel.shutdown()
}

// target is a resource whose device metrics are annotated, and the entry of batch.hosts for its host.
type target struct {
	rm   pmetric.ResourceMetrics
	host int
}

// processMetrics learns from the batch (job resources, hpu.info points), then annotates the batch's device
// data points. Both passes over the data run outside the lock; only the table update and the lookup of the
// batch's hosts' assignments hold it.
func (p *hpuJobProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	var b batch
	sc := p.scratch.Get().(*scratch)
	defer p.scratch.Put(sc)
	defer sc.clear()
	targets := sc.targets[:0]
	sc.hosts[0].as = sc.assign[:0]
	b.hosts = sc.hosts[:0]
	b.seen = sc.seen[:0]
	b.wantConflicts = p.logger.Core().Enabled(zap.DebugLevel)
	now := p.now()

	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		res := rm.Resource().Attributes()
		if v, ok := res.Get(attrJobID); ok {
			if id := v.AsString(); id != "" {
				p.learnJob(ctx, now, res, id, &b)
			}
		}
		if p.learnPods {
			if uid := strAttr(res, attrPodUID); uid != "" {
				b.pods = append(b.pods, podSeen{key: podKey{namespace: strAttr(res, attrNamespaceName), name: strAttr(res, attrPodName)}, uid: uid})
			}
		}
		host := ""
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			sm := sms.At(j)
			if !p.selected(sm.Scope().Name()) {
				continue
			}
			if host == "" {
				host = p.hostOf(res)
			}
			ms := sm.Metrics()
			for k := range ms.Len() {
				if m := ms.At(k); m.Name() == metricInfo && m.Type() == pmetric.MetricTypeGauge {
					b.seen = appendDevices(b.seen, host, m.Gauge().DataPoints())
				}
			}
		}
		if host != "" {
			targets = append(targets, target{rm: rm, host: b.hostEntry(host)})
		}
	}
	if len(b.claims) == 0 && len(b.seen) == 0 && len(targets) == 0 && len(b.pods) == 0 {
		return md, nil
	}

	p.table.apply(now, &b)
	p.report(ctx, now, &b)

	var annotated int64
	for _, t := range targets {
		if as := b.hosts[t.host].as; len(as) > 0 {
			annotated += p.annotate(t.rm, as)
		}
	}
	if annotated > 0 {
		p.tel.annotated.Add(ctx, annotated)
	}
	return md, nil
}

func (p *hpuJobProcessor) selected(scope string) bool {
	for _, s := range p.scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// hostOf is the host of device metrics: the resource's host.name, else this node's.
func (p *hpuJobProcessor) hostOf(res pcommon.Map) string {
	if v, ok := res.Get(attrHostName); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		return normalizeHost(v.Str())
	}
	return p.host
}

func (b *batch) hostEntry(host string) int {
	for i := range b.hosts {
		if b.hosts[i].host == host {
			return i
		}
	}
	if len(b.hosts) < cap(b.hosts) {
		// Keep the buffer an entry of the backing array may already hold (scratch.assign, the first host's).
		b.hosts = b.hosts[:len(b.hosts)+1]
		b.hosts[len(b.hosts)-1].host = host
	} else {
		b.hosts = append(b.hosts, hostAssignments{host: host})
	}
	return len(b.hosts) - 1
}

func (p *hpuJobProcessor) learnJob(ctx context.Context, now time.Time, res pcommon.Map, jobID string, b *batch) {
	c, reason, err := parseJob(res, jobID, p.attrs)
	if reason == "" {
		b.claims = append(b.claims, c)
		return
	}
	p.tel.recordSkipped(ctx, reason)
	switch reason {
	case skipNoDevice:
		// Launchers and other processes of a job that drive no device are expected.
		if ce := p.logger.Check(zap.DebugLevel, "Job resource names no HPU (hpu.index, hpu.module.id or hpu.uuid); not used for attribution"); ce != nil {
			ce.Write(zap.String(attrJobID, jobID), zap.String(attrRank, c.owner.rank))
		}
	case skipNoHost:
		if n, ok := p.noHostLog.note(now, 1); ok {
			p.logger.Warn("Job resource has no host.name; its HPU cannot be attributed (set host.name, e.g. with the SDK's host resource detector)",
				zap.String(attrJobID, jobID), zap.String(attrRank, c.owner.rank), zap.Int64("resources_since_last_message", n))
		}
	default:
		if n, ok := p.invalidLog.note(now, 1); ok {
			p.logger.Warn("Job resource names its HPU with an unusable value; not used for attribution",
				zap.String(attrJobID, jobID), zap.String(attrRank, c.owner.rank), zap.Error(err), zap.Int64("resources_since_last_message", n))
		}
	}
}

// appendDevices reads the identities on hpu.info points: hpu.index with hpu.module.id, hpu.uuid, hpu.serial
// and hpu.pci.bus_id.
// Points without hpu.index are skipped; an unknown (negative) module id is left out.
func appendDevices(dst []deviceSeen, host string, dps pmetric.NumberDataPointSlice) []deviceSeen {
	for i := range dps.Len() {
		attrs := dps.At(i).Attributes()
		idx, ok := intAttr(attrs, attrIndex)
		if !ok {
			continue
		}
		d := deviceSeen{host: host, index: idx}
		// The receiver reports -1 when its source cannot tell the slot (sysfs, for example).
		if m, ok := intAttr(attrs, attrModuleID); ok && m >= 0 {
			d.module, d.hasModule = m, true
		}
		d.uuid = strAttr(attrs, attrUUID)
		d.serial = strAttr(attrs, attrSerial)
		if pci := strAttr(attrs, attrPCIBusID); pci != "" {
			d.pci = normalizePCIBusID(pci)
		}
		dst = append(dst, d)
	}
	return dst
}

// strAttr reads a string attribute; "" when it is missing or not a string.
func strAttr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return ""
}

// intAttr reads an integer attribute, also when a producer wrote it as a decimal string.
func intAttr(m pcommon.Map, key string) (int64, bool) {
	v, ok := m.Get(key)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(v.Str(), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (p *hpuJobProcessor) report(ctx context.Context, now time.Time, b *batch) {
	p.tel.record(ctx, b.counts)
	for _, c := range b.conflicts {
		p.logger.Debug("Two jobs claim the same HPU; the most recent claim wins",
			zap.String("host", c.host), zap.Stringer("device", c.ref),
			zap.String("previous_job", c.old.job), zap.String("previous_rank", c.old.rank),
			zap.String("job", c.new.job), zap.String("rank", c.new.rank))
	}
	if dropped := b.counts.droppedMappings + b.counts.droppedDevices; dropped > 0 {
		if n, ok := p.fullLog.note(now, dropped); ok {
			p.logger.Warn("hpu_job tables are full; new job mappings or device identities are dropped until entries expire (raise max_mappings or max_devices)",
				zap.Int("max_mappings", p.table.maxMappings), zap.Int("max_devices", p.table.maxDevices),
				zap.Int64("dropped_since_last_message", n))
		}
	}
}

// annotate adds the assigned attributes to the data points of the resource's selected scopes whose
// device has an assignment, and returns how many points it changed.
func (p *hpuJobProcessor) annotate(rm pmetric.ResourceMetrics, as []assignment) int64 {
	var n int64
	sms := rm.ScopeMetrics()
	for j := range sms.Len() {
		sm := sms.At(j)
		if !p.selected(sm.Scope().Name()) {
			continue
		}
		ms := sm.Metrics()
		for k := range ms.Len() {
			m := ms.At(k)
			switch m.Type() {
			case pmetric.MetricTypeGauge:
				n += annotatePoints(m.Gauge().DataPoints(), as)
			case pmetric.MetricTypeSum:
				n += annotatePoints(m.Sum().DataPoints(), as)
			case pmetric.MetricTypeHistogram:
				n += annotatePoints(m.Histogram().DataPoints(), as)
			case pmetric.MetricTypeExponentialHistogram:
				n += annotatePoints(m.ExponentialHistogram().DataPoints(), as)
			case pmetric.MetricTypeSummary:
				n += annotatePoints(m.Summary().DataPoints(), as)
			}
		}
	}
	return n
}

type point interface{ Attributes() pcommon.Map }

type pointSlice[P point] interface {
	Len() int
	At(int) P
}

func annotatePoints[P point, S pointSlice[P]](dps S, as []assignment) int64 {
	var n int64
	for i := range dps.Len() {
		attrs := dps.At(i).Attributes()
		a := lookup(attrs, as)
		if a == nil {
			continue
		}
		a.putInto(attrs)
		n++
	}
	return n
}

// putInto adds the assignment's attributes to a point. Each source owns its keys: where the kubelet or
// Slurm attributes the device, a job attribute of the same name (k8s.pod.name copied from a job's
// resource, say) is left out, so that a device never gets the same label twice.
func (a *assignment) putInto(m pcommon.Map) {
	n := len(a.attrs) + len(a.orch[srcKubelet]) + len(a.orch[srcSlurm])
	if a.podUID != "" {
		n++
	}
	m.EnsureCapacity(m.Len() + n) // one exact growth instead of append's doubling
	for j := range a.attrs {
		if !a.ownedByOrchestrator(a.attrs[j].key) {
			a.attrs[j].putInto(m)
		}
	}
	for src := range a.orch {
		for j := range a.orch[src] {
			a.orch[src][j].putInto(m)
		}
	}
	if a.podUID != "" {
		m.PutStr(attrPodUID, a.podUID)
	}
}

func (a *assignment) ownedByOrchestrator(key string) bool {
	switch key {
	case attrPodName, attrNamespaceName, attrContainerName, attrPodUID:
		return a.orch[srcKubelet] != nil
	case attrSlurmJobID, attrSlurmUser, attrSlurmPartition:
		return a.orch[srcSlurm] != nil
	}
	return false
}

// lookup finds the assignment of the point's device, by hpu.index, or by hpu.uuid for points without an
// index. Points of no device (the receiver's self-metrics) have neither.
func lookup(attrs pcommon.Map, as []assignment) *assignment {
	if idx, ok := intAttr(attrs, attrIndex); ok {
		for i := range as {
			if as[i].index == idx {
				return &as[i]
			}
		}
		return nil
	}
	if v, ok := attrs.Get(attrUUID); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		for i := range as {
			if as[i].uuid == v.Str() {
				return &as[i]
			}
		}
	}
	return nil
}

// logLimiter lets a message through at most once per logInterval and counts the occurrences in between.
type logLimiter struct {
	mu      sync.Mutex
	next    time.Time
	pending int64
}

// note records n occurrences; when a message may be logged it returns the occurrences since the last one.
func (l *logLimiter) note(now time.Time, n int64) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending += n
	if now.Before(l.next) {
		return 0, false
	}
	n, l.pending = l.pending, 0
	l.next = now.Add(logInterval)
	return n, true
}
