package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attribute names of the convention between training jobs, the gaudi receiver and this processor.
const (
	attrJobID     = "training.job.id"
	attrRank      = "training.rank"
	attrLocalRank = "training.local_rank"
	attrHostName  = "host.name"
	attrIndex     = "hpu.index"
	attrModuleID  = "hpu.module.id"
	attrUUID      = "hpu.uuid"
	attrSerial    = "hpu.serial"
	attrPCIBusID  = "hpu.pci.bus_id"
	// metricInfo is the gaudi receiver's metric that carries hpu.module.id next to hpu.index.
	metricInfo = "hpu.info"
)

// refKind is how a job names the device it uses.
type refKind uint8

const (
	refIndex  refKind = iota + 1 // hpu.index, the driver's enumeration (accelN)
	refModule                    // hpu.module.id, the OAM slot HABANA_VISIBLE_MODULES lists
	refUUID                      // hpu.uuid
	refSerial                    // hpu.serial, the Habana device plugin's device ID
	refPCI                       // hpu.pci.bus_id, normalised (see normalizePCIBusID)
)

// deviceRef is a device on one host, as a job or an orchestrator names it.
type deviceRef struct {
	kind refKind
	num  int64  // index or module id
	str  string // uuid, serial or PCI bus id
}

func (r deviceRef) String() string {
	switch r.kind {
	case refIndex:
		return attrIndex + "=" + strconv.FormatInt(r.num, 10)
	case refModule:
		return attrModuleID + "=" + strconv.FormatInt(r.num, 10)
	case refSerial:
		return attrSerial + "=" + r.str
	case refPCI:
		return attrPCIBusID + "=" + r.str
	default:
		return attrUUID + "=" + r.str
	}
}

// refOf reads a device ID of the given kind: a serial, uuid or PCI bus id string, or a module id number.
func refOf(kind refKind, id string) (deviceRef, bool) {
	id = strings.TrimSpace(id)
	switch kind {
	case refModule, refIndex:
		n, err := parseNumber(id)
		return deviceRef{kind: kind, num: n}, err == nil
	case refPCI:
		pci := normalizePCIBusID(id)
		return deviceRef{kind: refPCI, str: pci}, pci != ""
	default:
		return deviceRef{kind: kind, str: id}, id != ""
	}
}

// normalizePCIBusID returns a PCI address as domain:bus:device.function in the kernel's form
// (0000:4d:00.0), whatever the case and domain width ("00000000:4D:00.0", "4d:00.0"); "" if it is none.
func normalizePCIBusID(s string) string {
	if canonicalPCIBusID(s) {
		return s // the gaudi receiver's form: no allocation on the scrape path
	}
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) == 2 {
		parts = append([]string{"0"}, parts...)
	}
	if len(parts) != 3 {
		return ""
	}
	dev, fn, ok := strings.Cut(parts[2], ".")
	if !ok {
		return ""
	}
	var v [4]uint64
	for i, f := range [...]struct {
		s    string
		bits int
	}{{parts[0], 32}, {parts[1], 8}, {dev, 5}, {fn, 3}} {
		n, err := strconv.ParseUint(f.s, 16, f.bits)
		if err != nil || f.s == "" || len(f.s) > 8 {
			return ""
		}
		v[i] = n
	}
	return fmt.Sprintf("%04x:%02x:%02x.%x", v[0], v[1], v[2], v[3])
}

func canonicalPCIBusID(s string) bool {
	if len(s) != len("0000:00:00.0") || s[4] != ':' || s[7] != ':' || s[10] != '.' {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case i == 4 || i == 7 || i == 10:
		case i == 11:
			if c < '0' || c > '7' {
				return false
			}
		case i == 8 && c > '1': // device numbers are 5 bits: 00-1f
			return false
		case (c < '0' || c > '9') && (c < 'a' || c > 'f'):
			return false
		}
	}
	return true
}

// owner identifies who claims a device: a job and one of its ranks.
type owner struct {
	job, rank string
}

// attr is one attribute copied from a job's resource onto device data points. Slices of attr are never
// modified once built, so annotation can read them outside the lock.
type attr struct {
	key string
	typ pcommon.ValueType // Str, Int, Double or Bool; other types are copied as their string form
	str string
	num int64 // Int, and Bool as 0 or 1
	dbl float64
}

func attrOf(key string, v pcommon.Value) attr {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return attr{key: key, typ: pcommon.ValueTypeInt, num: v.Int()}
	case pcommon.ValueTypeDouble:
		return attr{key: key, typ: pcommon.ValueTypeDouble, dbl: v.Double()}
	case pcommon.ValueTypeBool:
		a := attr{key: key, typ: pcommon.ValueTypeBool}
		if v.Bool() {
			a.num = 1
		}
		return a
	default:
		return attr{key: key, typ: pcommon.ValueTypeStr, str: v.AsString()}
	}
}

func (a *attr) putInto(m pcommon.Map) {
	switch a.typ {
	case pcommon.ValueTypeInt:
		m.PutInt(a.key, a.num)
	case pcommon.ValueTypeDouble:
		m.PutDouble(a.key, a.dbl)
	case pcommon.ValueTypeBool:
		m.PutBool(a.key, a.num != 0)
	default:
		m.PutStr(a.key, a.str)
	}
}

func sameAttrs(a, b []attr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// jobClaim is what one job resource says: this owner uses this device of this host.
type jobClaim struct {
	host  string
	ref   deviceRef
	owner owner
	attrs []attr
}

// skipReason says why a job resource did not name a device.
type skipReason string

const (
	skipNoHost        skipReason = "no_host"
	skipNoDevice      skipReason = "no_device"
	skipInvalidDevice skipReason = "invalid_device"
)

// parseJob reads a resource that carries training.job.id. It returns the claim, or why there is none and,
// for invalid values, what is wrong.
func parseJob(res pcommon.Map, jobID string, copyKeys []string) (jobClaim, skipReason, error) {
	c := jobClaim{owner: owner{job: jobID}}
	if v, ok := res.Get(attrRank); ok {
		c.owner.rank = v.AsString()
	}
	ref, reason, err := deviceOf(res)
	if reason != "" {
		return c, reason, err
	}
	c.ref = ref
	h, ok := res.Get(attrHostName)
	if !ok || h.Type() != pcommon.ValueTypeStr || h.Str() == "" {
		return c, skipNoHost, nil
	}
	c.host = normalizeHost(h.Str())
	c.attrs = make([]attr, 0, len(copyKeys))
	for _, k := range copyKeys {
		if v, ok := res.Get(k); ok {
			c.attrs = append(c.attrs, attrOf(k, v))
		}
	}
	return c, "", nil
}

// deviceOf finds the device a job resource names: hpu.index, else hpu.module.id, else hpu.uuid. The
// numeric keys may be a list in the HABANA_VISIBLE_MODULES form ("4,5,6,7", or a slice), of which local
// rank i uses the i-th entry.
func deviceOf(res pcommon.Map) (deviceRef, skipReason, error) {
	for _, k := range [...]struct {
		key  string
		kind refKind
	}{{attrIndex, refIndex}, {attrModuleID, refModule}} {
		v, ok := res.Get(k.key)
		if !ok {
			continue
		}
		n, err := deviceNumber(v, res)
		if err != nil {
			return deviceRef{}, skipInvalidDevice, fmt.Errorf("%s: %w", k.key, err)
		}
		return deviceRef{kind: k.kind, num: n}, "", nil
	}
	if v, ok := res.Get(attrUUID); ok {
		if v.Type() != pcommon.ValueTypeStr || strings.TrimSpace(v.Str()) == "" {
			return deviceRef{}, skipInvalidDevice, fmt.Errorf("%s: want a non-empty string, got %s %q", attrUUID, v.Type(), v.AsString())
		}
		return deviceRef{kind: refUUID, str: strings.TrimSpace(v.Str())}, "", nil
	}
	return deviceRef{}, skipNoDevice, nil
}

// deviceNumber reads an index or module id: a non-negative integer (int, integral double or decimal
// string), or a list of them from which training.local_rank picks one.
func deviceNumber(v pcommon.Value, res pcommon.Map) (int64, error) {
	var list []int64
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.Str())
		if !strings.Contains(s, ",") {
			return parseNumber(s)
		}
		for f := range strings.SplitSeq(s, ",") {
			n, err := parseNumber(strings.TrimSpace(f))
			if err != nil {
				return 0, fmt.Errorf("list %q: %w", s, err)
			}
			list = append(list, n)
		}
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		for i := range sl.Len() {
			n, err := scalarNumber(sl.At(i))
			if err != nil {
				return 0, fmt.Errorf("list %s: %w", v.AsString(), err)
			}
			list = append(list, n)
		}
	default:
		return scalarNumber(v)
	}
	switch {
	case len(list) == 0:
		return 0, fmt.Errorf("empty list %q", v.AsString())
	case len(list) == 1:
		return list[0], nil
	}
	lv, ok := res.Get(attrLocalRank)
	if !ok {
		return 0, fmt.Errorf("list %q names %d devices and %s is missing", v.AsString(), len(list), attrLocalRank)
	}
	lr, err := scalarNumber(lv)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", attrLocalRank, err)
	}
	if lr >= int64(len(list)) {
		return 0, fmt.Errorf("list %q names %d devices, %s %d is out of range", v.AsString(), len(list), attrLocalRank, lr)
	}
	return list[lr], nil
}

func scalarNumber(v pcommon.Value) (int64, error) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if v.Int() < 0 {
			return 0, fmt.Errorf("negative value %d", v.Int())
		}
		return v.Int(), nil
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d < 0 || d != math.Trunc(d) || d > math.MaxInt32 {
			return 0, fmt.Errorf("not a non-negative integer: %v", d)
		}
		return int64(d), nil
	case pcommon.ValueTypeStr:
		return parseNumber(strings.TrimSpace(v.Str()))
	default:
		return 0, fmt.Errorf("want an integer, got %s %q", v.Type(), v.AsString())
	}
}

func parseNumber(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a non-negative integer: %q", s)
	}
	return n, nil
}
