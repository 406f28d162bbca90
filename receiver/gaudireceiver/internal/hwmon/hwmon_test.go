package hwmon

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hpu"
	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/sysfs/sysfstest"
)

func devDir(root string, accel int) string {
	return filepath.Join(root, "sys", "class", "accel", "accel"+strconv.Itoa(accel), "device")
}

func TestTemperatures(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		labels                bool
		dev                   sysfstest.Device
		chip, board, hbmValue hpu.Value[float64]
	}{
		{
			name: "labelled: the hottest channel of each kind, ignored ones aside", labels: true,
			dev:  sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors(),
			chip: hpu.Some(30.0), board: hpu.Some(31.0), hbmValue: hpu.Some(32.0),
		},
		{
			name: "without labels only temp1 is known",
			dev:  sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors(),
			chip: hpu.Some(29.0),
		},
		{
			name: "labels for another chip do not apply", labels: true,
			dev:  sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors().With(map[string]string{"hwmon/hwmon3/name": "HL325\n"}),
			chip: hpu.Some(29.0),
		},
		{
			name: "a channel that cannot be read is skipped", labels: true,
			dev: sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors().With(map[string]string{
				"hwmon/hwmon3/temp3_input": sysfstest.Unreadable, "hwmon/hwmon3/temp4_input": "garbage\n", "hwmon/hwmon3/temp12_input": "",
			}),
			chip: hpu.Some(29.0), board: hpu.Some(31.0), hbmValue: hpu.Some(32.0),
		},
		{
			name: "millidegrees", dev: sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").With(map[string]string{"hwmon/hwmon3/temp1_input": "-1250\n"}),
			chip: hpu.Some(-1.25),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			sysfstest.WriteTree(t, root, tc.dev)
			if tc.labels {
				sysfstest.WriteSensorsConf(t, root)
			}
			conf, err := LoadConfig(root)
			require.NoError(t, err)
			s, err := Open(devDir(root, 0), conf)
			require.NoError(t, err)
			defer s.Close()
			assert.Equal(t, tc.chip, s.Temperature(OnChip), "on chip")
			assert.Equal(t, tc.board, s.Temperature(OnBoard), "on board")
			assert.Equal(t, tc.hbmValue, s.Temperature(HBM), "HBM")
			assert.Equal(t, hpu.Value[float64]{}, s.Temperature(Unknown))
		})
	}
}

func TestOpenWithoutHwmon(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithoutHwmon())
	_, err := Open(devDir(root, 0), &Config{})
	require.ErrorIs(t, err, os.ErrNotExist)
	var none *Sensors
	assert.Equal(t, hpu.Value[float64]{}, none.Temperature(OnChip))
	assert.NoError(t, none.Close())
}

func TestTemperatureAllocatesNothing(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:43:00.0").WithSensors())
	sysfstest.WriteSensorsConf(t, root)
	conf, err := LoadConfig(root)
	require.NoError(t, err)
	s, err := Open(devDir(root, 0), conf)
	require.NoError(t, err)
	defer s.Close()
	assert.Zero(t, testing.AllocsPerRun(20, func() {
		s.Temperature(OnChip)
		s.Temperature(HBM)
	}))
}

func TestChipName(t *testing.T) {
	root := t.TempDir()
	sysfstest.WriteTree(t, root, sysfstest.Gaudi2Device(t, 0, "0000:b3:1f.7"))
	assert.Equal(t, "HL225-pci-b3ff", chipName("HL225", devDir(root, 0)), "bus<<8 | device<<3 | function, as libsensors")
	assert.Equal(t, "HL225-pci-0000", chipName("HL225", filepath.Join(root, "not-a-pci-device")))
}

func TestParseConfig(t *testing.T) {
	conf, err := ParseConfig(strings.NewReader(`
label temp1 "On Chip 0"     # before any chip: applies to none
chip "HL325L-pci-*" "HL325-pci-*"
  label temp1 "On Chip 0"
  label temp2 "HBM 0"
  label temp3 "On Board 1"
  label temp4 "VRM Temp"
  label temp999 "On Chip far"
  set temp1_max 90
chip "HL325-pci-4300"
  label temp7 "On Chip 7"
`))
	require.NoError(t, err)
	kinds, ok := conf.channels("HL325L-pci-1000")
	require.True(t, ok)
	assert.Equal(t, map[int]Kind{1: OnChip, 2: HBM, 3: OnBoard}, kinds, "an unknown label and a channel out of range are not kept")
	kinds, ok = conf.channels("HL325-pci-4300")
	require.True(t, ok)
	assert.Equal(t, map[int]Kind{7: OnChip}, kinds, "the last matching chip statement wins")
	_, ok = conf.channels("HL225-pci-4300")
	assert.False(t, ok)

	for _, bad := range []string{"chip\n", "chip \"HL225-pci-*\n", "chip \"x\"\n label temp1\n"} {
		_, err := ParseConfig(strings.NewReader(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestLoadConfigMissing(t *testing.T) {
	conf, err := LoadConfig(t.TempDir())
	require.NoError(t, err)
	_, ok := conf.channels("HL225-pci-4300")
	assert.False(t, ok)
}

// FuzzParseConfig feeds the parser of the sensor labels, a file from the host, with anything:
// it returns a Config or an error, never panics, and keeps only channels in range.
func FuzzParseConfig(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "sysfs", "testdata", "SYNTHETIC_hl_sensors.conf"))
	require.NoError(f, err)
	f.Add(string(b))
	f.Add("chip \"*\"\nlabel temp1 \"On Chip\"\nignore temp1\n")
	f.Add("chip \"a\" \"b\nlabel temp-1 \"HBM\"")
	f.Fuzz(func(t *testing.T, text string) {
		conf, err := ParseConfig(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, c := range conf.chips {
			for ch, k := range c.kinds {
				if ch < 1 || ch > maxChannel || k == Unknown {
					t.Fatalf("channel %d of kind %d kept from %q", ch, k, text)
				}
			}
		}
	})
}
