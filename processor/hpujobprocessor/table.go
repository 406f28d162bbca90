package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"sync"
	"time"
)

// forcedSweepInterval spaces the sweeps a full table triggers, so that a table that stays full does not
// cost a sweep per new entry.
const forcedSweepInterval = time.Second

// table is the processor's state: which owner claims which device, and which index each device's module
// id, uuid, serial and PCI bus id belong to, per host; and what the orchestrators (kubelet, Slurm) of this
// node allocated. Every method locks; the lock is held for map updates and lookups only.
type table struct {
	expiration  time.Duration
	maxMappings int
	maxDevices  int
	// local is the host the orchestrators' allocations are about: the processor's host_name.
	local string

	mu         sync.Mutex
	hosts      map[string]*hostState
	mappings   int // claims over all hosts
	devices    int // device identities over all hosts
	seq        uint64
	nextSweep  time.Time
	nextForced time.Time
	views      [numSources]view
	// podUIDs are the uids of the pods in the kubelet's view, learned from resources in the pipeline (the
	// PodResources API does not report them); pruned to the view's pods at every refresh.
	podUIDs map[podKey]string
}

// source is an orchestrator that allocates devices on this node. Its allocations add attributes beside the
// jobs' own claims; they do not conflict with them.
type source uint8

const (
	srcKubelet source = iota
	srcSlurm
	numSources
)

func (s source) String() string {
	if s == srcKubelet {
		return "kubelet"
	}
	return "slurm"
}

// allocation is a device an orchestrator allocated, and the attributes that say to whom.
type allocation struct {
	ref   deviceRef
	attrs []attr // shared by the devices of one container or job; never modified once built
	pod   podKey // kubelet: the pod, whose uid is added when learned
}

type podKey struct{ namespace, name string }

// view is an orchestrator's last successful answer. It applies until expiration after it was taken: while
// the kubelet restarts nothing on the node changes allocations, so the last answer stays right for a while.
type view struct {
	allocs []allocation
	pods   map[podKey]struct{} // kubelet: the pods that hold HPUs
	seen   time.Time
}

// counts are what the table refused or replaced while applying one batch.
type counts struct {
	droppedMappings int64
	droppedDevices  int64
	conflicts       int64
}

type hostState struct {
	claims  map[deviceRef]*claim // keyed by the device as the job named it
	devices map[int64]*device    // keyed by hpu.index, learned from hpu.info
}

type claim struct {
	owner owner
	attrs []attr
	seen  time.Time
	seq   uint64 // order of the last refresh; the most recent claim on a device wins
}

type device struct {
	identity
	seen time.Time
}

// identity is what hpu.info says about a device besides its index.
type identity struct {
	module    int64
	hasModule bool
	uuid      string
	serial    string
	pci       string // normalised
}

// deviceSeen is one hpu.info data point.
type deviceSeen struct {
	host  string
	index int64
	identity
}

// assignment says: the device with this index (and uuid, when known) gets these attributes.
type assignment struct {
	index int64
	uuid  string
	attrs []attr // the job's
	seq   uint64
	orch  [numSources][]attr
	// podUID is the kubelet pod's uid, when learned.
	podUID string
}

// conflict is a claim that took a device from another owner.
type conflict struct {
	host     string
	ref      deviceRef
	old, new owner
}

func newTable(expiration time.Duration, maxMappings, maxDevices int, local string) *table {
	return &table{
		expiration:  expiration,
		maxMappings: maxMappings,
		maxDevices:  maxDevices,
		local:       local,
		hosts:       make(map[string]*hostState),
		podUIDs:     make(map[podKey]string),
	}
}

// batch is the table's input and output for one ConsumeMetrics call.
type batch struct {
	claims []jobClaim
	seen   []deviceSeen
	// hosts lists the hosts whose device metrics are in the batch; apply fills their assignments.
	hosts []hostAssignments
	// wantConflicts asks apply to describe conflicts (for debug logs).
	conflicts     []conflict
	wantConflicts bool
	counts        counts
	// pods are the pod identities (with uid) that resources of the batch carry.
	pods []podSeen
}

type podSeen struct {
	key podKey
	uid string
}

type hostAssignments struct {
	host string
	as   []assignment
}

// apply learns the batch's claims and device identities, then computes the assignments of its hosts.
func (t *table) apply(now time.Time, b *batch) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !now.Before(t.nextSweep) {
		t.sweep(now)
	}
	for i := range b.seen {
		t.learnDevice(now, &b.seen[i], b)
	}
	for i := range b.claims {
		t.learnClaim(now, &b.claims[i], b)
	}
	if pods := t.views[srcKubelet].pods; len(pods) > 0 {
		for i := range b.pods {
			if _, ok := pods[b.pods[i].key]; ok {
				t.podUIDs[b.pods[i].key] = b.pods[i].uid
			}
		}
	}
	for i := range b.hosts {
		b.hosts[i].as = t.assignments(now, b.hosts[i].host, b.hosts[i].as[:0])
	}
}

func (t *table) expired(seen, now time.Time) bool {
	return now.Sub(seen) >= t.expiration
}

func (t *table) sweep(now time.Time) {
	for name, hs := range t.hosts {
		for ref, c := range hs.claims {
			if t.expired(c.seen, now) {
				delete(hs.claims, ref)
				t.mappings--
			}
		}
		for idx, d := range hs.devices {
			if t.expired(d.seen, now) {
				delete(hs.devices, idx)
				t.devices--
			}
		}
		if len(hs.claims) == 0 && len(hs.devices) == 0 {
			delete(t.hosts, name)
		}
	}
	for src := range t.views {
		if v := &t.views[src]; v.allocs != nil && t.expired(v.seen, now) {
			*v = view{}
			if source(src) == srcKubelet {
				clear(t.podUIDs)
			}
		}
	}
	t.nextSweep = now.Add(t.expiration / 2)
}

// makeRoom reports whether one more entry fits under limit, sweeping expired entries first if the table is
// full and it has not just been swept.
func (t *table) makeRoom(now time.Time, n *int, limit int) bool {
	if *n < limit {
		return true
	}
	if now.Before(t.nextForced) {
		return false
	}
	t.nextForced = now.Add(forcedSweepInterval)
	t.sweep(now)
	return *n < limit
}

func (t *table) host(name string) *hostState {
	hs := t.hosts[name]
	if hs == nil {
		hs = &hostState{claims: make(map[deviceRef]*claim), devices: make(map[int64]*device)}
		t.hosts[name] = hs
	}
	return hs
}

func (t *table) learnDevice(now time.Time, s *deviceSeen, b *batch) {
	hs := t.hosts[s.host]
	if hs != nil {
		if d := hs.devices[s.index]; d != nil {
			if d.identity != s.identity {
				d.identity = s.identity
				t.forgetOtherIndexes(hs, s)
			}
			d.seen = now
			return
		}
	}
	if !t.makeRoom(now, &t.devices, t.maxDevices) {
		b.counts.droppedDevices++
		return
	}
	hs = t.host(s.host)
	t.forgetOtherIndexes(hs, s)
	hs.devices[s.index] = &device{identity: s.identity, seen: now}
	t.devices++
}

// forgetOtherIndexes drops identities that another index held for the same module or uuid: the driver
// renumbered the devices, and the old entries would make claims ambiguous. (The uuid goes with the serial
// and the PCI address, so those need no check of their own.)
func (t *table) forgetOtherIndexes(hs *hostState, s *deviceSeen) {
	for idx, d := range hs.devices {
		if idx == s.index {
			continue
		}
		if (s.hasModule && d.hasModule && d.module == s.module) || (s.uuid != "" && d.uuid == s.uuid) {
			delete(hs.devices, idx)
			t.devices--
		}
	}
}

// resolve returns the index (and uuid, if known) of the device ref names on this host.
func (t *table) resolve(hs *hostState, ref deviceRef, now time.Time) (int64, string, bool) {
	switch ref.kind {
	case refIndex:
		if d := hs.devices[ref.num]; d != nil && !t.expired(d.seen, now) {
			return ref.num, d.uuid, true
		}
		return ref.num, "", true
	default:
		for idx, d := range hs.devices {
			if d.identity.is(ref) && !t.expired(d.seen, now) {
				return idx, d.uuid, true
			}
		}
	}
	return 0, "", false
}

// is reports whether the device is the one ref names by module id, uuid, serial or PCI bus id.
func (id *identity) is(ref deviceRef) bool {
	switch ref.kind {
	case refModule:
		return id.hasModule && id.module == ref.num
	case refUUID:
		return id.uuid != "" && id.uuid == ref.str
	case refSerial:
		return id.serial != "" && id.serial == ref.str
	case refPCI:
		return id.pci != "" && id.pci == ref.str
	}
	return false
}

func (t *table) learnClaim(now time.Time, c *jobClaim, b *batch) {
	t.seq++
	hs := t.hosts[c.host]
	if hs != nil {
		// The most recent claim wins: drop live claims of other owners that name the same device
		// another way (index vs module id vs uuid).
		if idx, _, ok := t.resolve(hs, c.ref, now); ok {
			for ref, old := range hs.claims {
				if ref == c.ref || old.owner == c.owner || t.expired(old.seen, now) {
					continue
				}
				if oi, _, ok := t.resolve(hs, ref, now); ok && oi == idx {
					t.conflict(b, c.host, ref, old.owner, c.owner)
					delete(hs.claims, ref)
					t.mappings--
				}
			}
		}
		if old := hs.claims[c.ref]; old != nil {
			if old.owner != c.owner && !t.expired(old.seen, now) {
				t.conflict(b, c.host, c.ref, old.owner, c.owner)
			}
			old.owner = c.owner
			if !sameAttrs(old.attrs, c.attrs) {
				old.attrs = c.attrs // replaced, never modified: annotation may still read the old slice
			}
			old.seen, old.seq = now, t.seq
			return
		}
	}
	if !t.makeRoom(now, &t.mappings, t.maxMappings) {
		b.counts.droppedMappings++
		return
	}
	t.host(c.host).claims[c.ref] = &claim{owner: c.owner, attrs: c.attrs, seen: now, seq: t.seq}
	t.mappings++
}

func (t *table) conflict(b *batch, host string, ref deviceRef, old, new owner) {
	b.counts.conflicts++
	if b.wantConflicts {
		b.conflicts = append(b.conflicts, conflict{host: host, ref: ref, old: old, new: new})
	}
}

// assignments appends to dst the devices of host that a live claim names, each with the most recent
// claim's attributes.
func (t *table) assignments(now time.Time, host string, dst []assignment) []assignment {
	hs := t.hosts[host]
	if hs == nil {
		return dst
	}
next:
	for ref, c := range hs.claims {
		if t.expired(c.seen, now) {
			continue
		}
		idx, uuid, ok := t.resolve(hs, ref, now)
		if !ok {
			continue
		}
		for i := range dst {
			if dst[i].index == idx {
				if c.seq > dst[i].seq {
					dst[i] = assignment{index: idx, uuid: uuid, attrs: c.attrs, seq: c.seq}
				}
				continue next
			}
		}
		dst = append(dst, assignment{index: idx, uuid: uuid, attrs: c.attrs, seq: c.seq})
	}
	if host != t.local {
		return dst
	}
	for src := range t.views {
		v := &t.views[src]
		if v.allocs == nil || t.expired(v.seen, now) {
			continue
		}
	allocs:
		for i := range v.allocs {
			al := &v.allocs[i]
			idx, uuid, ok := t.resolve(hs, al.ref, now)
			if !ok {
				continue
			}
			for j := range dst {
				if dst[j].index == idx {
					if dst[j].orch[src] == nil { // the first allocation of a device wins
						dst[j].orch[src] = al.attrs
						if source(src) == srcKubelet {
							dst[j].podUID = t.podUIDs[al.pod]
						}
					}
					continue allocs
				}
			}
			a := assignment{index: idx, uuid: uuid}
			a.orch[src] = al.attrs
			if source(src) == srcKubelet {
				a.podUID = t.podUIDs[al.pod]
			}
			dst = append(dst, a)
		}
	}
	return dst
}

// setView replaces an orchestrator's allocations with its latest answer. pods lists the pods of the
// kubelet's answer; the uids of other pods are forgotten.
func (t *table) setView(src source, now time.Time, allocs []allocation, pods map[podKey]struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if allocs == nil {
		allocs = []allocation{}
	}
	t.views[src] = view{allocs: allocs, pods: pods, seen: now}
	if src == srcKubelet {
		for k := range t.podUIDs {
			if _, ok := pods[k]; !ok {
				delete(t.podUIDs, k)
			}
		}
	}
}

// matchCounts says how the device IDs an orchestrator reports match this node's HPUs.
type matchCounts struct {
	matched         [refPCI + 1]int // IDs that name an HPU, by the kind of identity tried
	devices         int             // HPUs of this node known from hpu.info
	unmatchedAllocs int             // allocations that name no HPU
}

// match counts, for diagnostics, how many of ids name a live HPU of this node when read as each kind of
// identity, and how many allocations name none.
func (t *table) match(now time.Time, ids []string, allocs []allocation) matchCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	var mc matchCounts
	hs := t.hosts[t.local]
	if hs == nil {
		return mc
	}
	for _, d := range hs.devices {
		if !t.expired(d.seen, now) {
			mc.devices++
		}
	}
	for _, id := range ids {
		for _, kind := range [...]refKind{refSerial, refUUID, refModule, refPCI} {
			if ref, ok := refOf(kind, id); ok {
				if _, _, ok := t.resolve(hs, ref, now); ok {
					mc.matched[kind]++
				}
			}
		}
	}
	for i := range allocs {
		if _, _, ok := t.resolve(hs, allocs[i].ref, now); !ok {
			mc.unmatchedAllocs++
		}
	}
	return mc
}

// viewSizes returns the number of allocations each orchestrator's live view holds.
func (t *table) viewSizes(now time.Time) (n [numSources]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for src := range t.views {
		if v := &t.views[src]; !t.expired(v.seen, now) {
			n[src] = len(v.allocs)
		}
	}
	return n
}

// sizes returns the number of mappings and device identities held.
func (t *table) sizes() (mappings, devices int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mappings, t.devices
}
