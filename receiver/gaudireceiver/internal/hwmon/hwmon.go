// Package hwmon reads the temperatures of a habanalabs device from its hwmon channels, for the
// sysfs source and for the HLML source, whose hlml_device_get_temperature leaks memory on every
// call in the libhlml releases nvtop examined (the label lookup inside it).
//
// The firmware defines the channels and the driver creates no label files. The labels come from
// the lm-sensors configuration the driver package installs, /etc/sensors.d/hl_sensors.conf
// (sensors.conf(5): `chip "HL225-pci-*"`, `label temp1 "On Chip 0"`, `ignore temp3`), which is
// also what HLML itself reads: its on-chip temperature is the hottest channel labelled "On Chip".
// So with the configuration:
//
//	on chip   the hottest channel labelled "On Chip ..."  (hl-smi -q: On Chip 0-3, On Chip TD 0-3)
//	on board  the hottest channel labelled "On Board ..."
//	HBM       the hottest channel labelled "HBM ..."
//
// Without it (or without a chip statement matching the device) only temp1 is known: a third-party
// map of HL-225 lists the channels in hl-smi -q's order, whose first is "On Chip 0" on Gaudi 2
// and Gaudi 3, so temp1 is the on-chip temperature and the others stay unknown.
//
// Values are m°C (hwmon ABI), reported in °C with their millidegree resolution (HLML truncates
// to whole degrees).
package hwmon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
)

// ConfigPath is where the driver package installs the sensor labels, relative to the host root.
const ConfigPath = "etc/sensors.d/hl_sensors.conf"

// maxConfigSize bounds the configuration read: the real one is a few KiB.
const maxConfigSize = 1 << 20

// maxChannel bounds the temperature channels taken from the configuration.
const maxChannel = 256

// Kind is what a temperature channel measures.
type Kind int

const (
	Unknown Kind = iota
	OnChip
	OnBoard
	HBM
)

// kindOf classifies a label as hl-smi -q prints them ("On Chip 0", "On Chip TD 1", "On Board 01
// Top", "HBM 3 Temp").
func kindOf(label string) Kind {
	switch l := strings.ToLower(strings.TrimSpace(label)); {
	case strings.HasPrefix(l, "on chip"):
		return OnChip
	case strings.HasPrefix(l, "on board"):
		return OnBoard
	case strings.HasPrefix(l, "hbm"):
		return HBM
	default:
		return Unknown
	}
}

// chipSection is one chip statement and the temperature labels under it.
type chipSection struct {
	patterns []string
	kinds    map[int]Kind // channel -> kind; ignored channels are absent
}

// Config is a parsed sensors configuration; the zero Config has no labels.
type Config struct {
	chips []chipSection
}

// LoadConfig reads the sensors configuration under root. A missing file is an empty Config.
func LoadConfig(root string) (*Config, error) {
	f, err := os.Open(filepath.Join(root, ConfigPath))
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the sensor labels: %w", err)
	}
	defer f.Close()
	c, err := ParseConfig(io.LimitReader(f, maxConfigSize))
	if err != nil {
		return nil, fmt.Errorf("reading the sensor labels %s: %w", f.Name(), err)
	}
	return c, nil
}

// ParseConfig reads the chip, label and ignore statements of a sensors configuration; other
// statements (compute, set, bus) are skipped. A statement that cannot be read is an error.
func ParseConfig(r io.Reader) (*Config, error) {
	c := &Config{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	var cur *chipSection
	for lineNo := 1; sc.Scan(); lineNo++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		words, err := splitWords(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if len(words) == 0 {
			continue
		}
		switch words[0] {
		case "chip":
			if len(words) < 2 {
				return nil, fmt.Errorf("line %d: chip without a name", lineNo)
			}
			c.chips = append(c.chips, chipSection{patterns: words[1:], kinds: map[int]Kind{}})
			cur = &c.chips[len(c.chips)-1]
		case "label", "ignore":
			if cur == nil {
				continue // before any chip statement: applies to no chip we know
			}
			ch, ok := tempChannel(words)
			if !ok {
				continue // another feature (in0, power1, ...), or not a statement we read
			}
			if words[0] == "ignore" {
				delete(cur.kinds, ch)
				continue
			}
			if len(words) != 3 {
				return nil, fmt.Errorf("line %d: label needs a feature and a label", lineNo)
			}
			if k := kindOf(words[2]); k != Unknown {
				cur.kinds[ch] = k
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// tempChannel is N of a "label tempN ..." or "ignore tempN" statement.
func tempChannel(words []string) (int, bool) {
	if len(words) < 2 {
		return 0, false
	}
	n, ok := strings.CutPrefix(words[1], "temp")
	if !ok {
		return 0, false
	}
	ch, err := strconv.Atoi(n)
	if err != nil || ch < 1 || ch > maxChannel {
		return 0, false
	}
	return ch, true
}

// splitWords splits a statement into words, a double-quoted string being one word.
func splitWords(line string) ([]string, error) {
	var words []string
	for {
		line = strings.TrimLeft(line, " \t\r")
		if line == "" {
			return words, nil
		}
		if line[0] == '"' {
			end := strings.IndexByte(line[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated string")
			}
			words = append(words, line[1:end+1])
			line = line[end+2:]
			continue
		}
		end := strings.IndexAny(line, " \t\r")
		if end < 0 {
			end = len(line)
		}
		words = append(words, line[:end])
		line = line[end:]
	}
}

// channels returns the labelled channels of the chip named chip (lm-sensors' "HL225-pci-4300"),
// from the last chip statement that matches it, as libsensors does.
func (c *Config) channels(chip string) (map[int]Kind, bool) {
	for i := len(c.chips) - 1; i >= 0; i-- {
		for _, p := range c.chips[i].patterns {
			if ok, _ := path.Match(p, chip); ok {
				return c.chips[i].kinds, true
			}
		}
	}
	return nil, false
}

// Sensors are the temperature channels of one device, kept open: a steady-state read allocates
// nothing.
type Sensors struct {
	files [HBM][]*os.File // by Kind-1
	buf   [64]byte
}

// Open finds the hwmon directory of the PCI device at devDir (the "device" directory of an accel
// device, or /sys/bus/pci/devices/<bus id>) and opens the channels conf labels for it.
// os.ErrNotExist means the device has no hwmon directory.
func Open(devDir string, conf *Config) (*Sensors, error) {
	dir, err := hwmonDir(devDir)
	if err != nil {
		return nil, err
	}
	name, err := os.ReadFile(filepath.Join(dir, "name"))
	kinds, labelled := map[int]Kind{1: OnChip}, false
	if err == nil && conf != nil {
		if k, ok := conf.channels(chipName(strings.TrimSpace(string(name)), devDir)); ok {
			kinds, labelled = k, true
		}
	}
	s := &Sensors{}
	channels := make([]int, 0, len(kinds))
	for ch := range kinds {
		channels = append(channels, ch)
	}
	slices.Sort(channels)
	for _, ch := range channels {
		f, err := os.Open(filepath.Join(dir, "temp"+strconv.Itoa(ch)+"_input"))
		if err != nil {
			if labelled && errors.Is(err, os.ErrNotExist) {
				continue // a label for a channel this firmware does not have
			}
			s.Close()
			return nil, err
		}
		k := kinds[ch]
		s.files[k-1] = append(s.files[k-1], f)
	}
	return s, nil
}

// hwmonDir is the hwmon directory the driver registers under the PCI device.
func hwmonDir(devDir string) (string, error) {
	entries, err := os.ReadDir(filepath.Join(devDir, "hwmon"))
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "hwmon") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("%s/hwmon: %w", devDir, os.ErrNotExist)
	}
	return filepath.Join(devDir, "hwmon", slices.Min(names)), nil
}

// chipName is the lm-sensors name of the chip: "<hwmon name>-pci-<bus, device, function>", the
// PCI address taken from where devDir resolves to ("HL225-pci-4300" for 0000:43:00.0).
func chipName(name, devDir string) string {
	addr := devDir
	if resolved, err := filepath.EvalSymlinks(devDir); err == nil {
		addr = resolved
	}
	var domain, bus, dev, fn uint
	if _, err := fmt.Sscanf(filepath.Base(addr), "%x:%x:%x.%x", &domain, &bus, &dev, &fn); err != nil {
		return name + "-pci-0000"
	}
	return fmt.Sprintf("%s-pci-%04x", name, bus<<8|dev<<3|fn)
}

// Temperature is the hottest readable channel of kind, in °C; invalid when the device has none
// or none can be read (the driver answers -ENODEV while the device is not operational).
func (s *Sensors) Temperature(kind Kind) hpu.Value[float64] {
	if s == nil || kind < OnChip || kind > HBM {
		return hpu.Value[float64]{}
	}
	var hottest hpu.Value[float64]
	for _, f := range s.files[kind-1] {
		milli, ok := s.readInt(f)
		if !ok {
			continue
		}
		if c := float64(milli) / 1000; !hottest.Valid || c > hottest.V {
			hottest = hpu.Some(c)
		}
	}
	return hottest
}

// readInt rereads an attribute from its start: sysfs regenerates the content on every read at
// offset 0.
func (s *Sensors) readInt(f *os.File) (int64, bool) {
	n, err := f.ReadAt(s.buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	return parseInt(s.buf[:n])
}

// parseInt parses a decimal integer surrounded by whitespace without allocating.
func parseInt(b []byte) (int64, bool) {
	i, j := 0, len(b)
	for i < j && isSpace(b[i]) {
		i++
	}
	for j > i && isSpace(b[j-1]) {
		j--
	}
	b = b[i:j]
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// Close closes the channels' files.
func (s *Sensors) Close() error {
	if s == nil {
		return nil
	}
	var errs []error
	for k := range s.files {
		for _, f := range s.files[k] {
			errs = append(errs, f.Close())
		}
		s.files[k] = nil
	}
	return errors.Join(errs...)
}
