package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"sync"
	"time"
)

// forcedSweepInterval spaces the sweeps a full table triggers, so that a table that stays full does not
// cost a sweep per new entry.
const forcedSweepInterval = time.Second

// table is the processor's state: which owner claims which device, and which index each device's module
// id and uuid belong to, per host. Every method locks; the lock is held for map updates and lookups only.
type table struct {
	expiration  time.Duration
	maxMappings int
	maxDevices  int

	mu         sync.Mutex
	hosts      map[string]*hostState
	mappings   int // claims over all hosts
	devices    int // device identities over all hosts
	seq        uint64
	nextSweep  time.Time
	nextForced time.Time
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
	module    int64
	hasModule bool
	uuid      string
	seen      time.Time
}

// deviceSeen is one hpu.info data point.
type deviceSeen struct {
	host      string
	index     int64
	module    int64
	hasModule bool
	uuid      string
}

// assignment says: the device with this index (and uuid, when known) gets these attributes.
type assignment struct {
	index int64
	uuid  string
	attrs []attr
	seq   uint64
}

// conflict is a claim that took a device from another owner.
type conflict struct {
	host     string
	ref      deviceRef
	old, new owner
}

func newTable(expiration time.Duration, maxMappings, maxDevices int) *table {
	return &table{
		expiration:  expiration,
		maxMappings: maxMappings,
		maxDevices:  maxDevices,
		hosts:       make(map[string]*hostState),
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
			if d.module != s.module || d.hasModule != s.hasModule || d.uuid != s.uuid {
				d.module, d.hasModule, d.uuid = s.module, s.hasModule, s.uuid
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
	hs.devices[s.index] = &device{module: s.module, hasModule: s.hasModule, uuid: s.uuid, seen: now}
	t.devices++
}

// forgetOtherIndexes drops identities that another index held for the same module or uuid: the driver
// renumbered the devices, and the old entries would make module and uuid claims ambiguous.
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
	case refModule:
		for idx, d := range hs.devices {
			if d.hasModule && d.module == ref.num && !t.expired(d.seen, now) {
				return idx, d.uuid, true
			}
		}
	case refUUID:
		for idx, d := range hs.devices {
			if d.uuid == ref.uuid && !t.expired(d.seen, now) {
				return idx, d.uuid, true
			}
		}
	}
	return 0, "", false
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
	return dst
}

// sizes returns the number of mappings and device identities held.
func (t *table) sizes() (mappings, devices int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mappings, t.devices
}
