package hpujobprocessor

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id           component.ID
		want         func(*Config)
		unmarshalErr string
		wantErr      []string
	}{
		{id: component.NewID(metadata.Type), want: func(*Config) {}},
		{id: component.NewIDWithName(metadata.Type, "full"), want: func(c *Config) {
			c.HostName = "gaudi-node-07"
			c.Expiration = 5 * time.Minute
			c.MaxMappings = 100
			c.MaxDevices = 64
			c.ScopeNames = []string{gaudiReceiverScope, "my.other.hpu.scraper"}
			c.Attributes = []string{attrJobID, attrRank, attrLocalRank, "service.name"}
			c.Kubelet = KubeletConfig{
				Enabled: true, Socket: "/host/pod-resources/kubelet.sock",
				ResourceNames: []string{"habana.ai/gaudi", "habana.ai/gaudi3"}, DRADriverNames: []string{"gaudi.intel.com"},
				DeviceID: "uuid", RefreshInterval: 10 * time.Second, Timeout: time.Second,
			}
			c.Slurm = SlurmConfig{JobMappingDir: "/var/run/otelcol-gaudi/slurm-jobs", RefreshInterval: 2 * time.Second}
		}},
		{id: component.NewIDWithName(metadata.Type, "no_kubelet"), want: func(c *Config) { c.Kubelet.Enabled, c.Kubelet.Socket = false, "" }},
		{id: component.NewIDWithName(metadata.Type, "invalid_sources"), wantErr: []string{
			"kubelet.socket is empty (set kubelet.enabled: false to turn pod attribution off)",
			`kubelet.device_id "index": want serial, uuid, module_id or pci_bus_id`,
			"kubelet.refresh_interval must be positive, got 0s",
			"kubelet.timeout must be positive, got -1s",
			"kubelet: resource_names and dra_driver_names are both empty, so no device could be attributed",
			"slurm.refresh_interval must be positive, got 0s",
		}},
		{id: component.NewIDWithName(metadata.Type, "invalid_names"), wantErr: []string{
			"kubelet.resource_names[1] is empty",
			`kubelet.resource_names[2] "habana.ai/gaudi" is listed twice`,
			"kubelet.dra_driver_names[0] is empty",
		}},
		{id: component.NewIDWithName(metadata.Type, "invalid"), wantErr: []string{
			"expiration must be positive, got 0s",
			"max_mappings must be positive, got -1",
			"max_devices must be positive, got 0",
			"scope_names[0] is empty",
			"attributes[0] is empty",
			`attributes[1] "hpu.index": hpu.* attributes identify the device and are not copied from jobs`,
			`attributes[3] "training.rank" is listed twice`,
		}},
		{id: component.NewIDWithName(metadata.Type, "empty_lists"), wantErr: []string{
			"scope_names: at least one scope name is required",
			"attributes: at least one attribute is required",
		}},
		{id: component.NewIDWithName(metadata.Type, "unknown_key"), unmarshalErr: "has invalid keys: expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			err = sub.Unmarshal(cfg)
			if tt.unmarshalErr != "" {
				require.ErrorContains(t, err, tt.unmarshalErr)
				return
			}
			require.NoError(t, err)
			err = confmap.Validate(cfg)
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				assert.Len(t, strings.Split(err.Error(), "\n"), len(tt.wantErr), "one line per problem")
				return
			}
			require.NoError(t, err)
			want := createDefaultConfig().(*Config)
			tt.want(want)
			assert.Equal(t, want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, componenttest.CheckConfigStruct(cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, &Config{
		Expiration:  2 * time.Minute,
		MaxMappings: 4096,
		MaxDevices:  4096,
		ScopeNames:  []string{"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver"},
		Attributes:  []string{"training.job.id", "training.rank"},
		Kubelet: KubeletConfig{
			Enabled:         true,
			Socket:          "/var/lib/kubelet/pod-resources/kubelet.sock",
			ResourceNames:   []string{"habana.ai/gaudi"},
			DRADriverNames:  []string{"gaudi.intel.com"},
			DeviceID:        "serial",
			RefreshInterval: 5 * time.Second,
			Timeout:         2 * time.Second,
		},
		Slurm: SlurmConfig{RefreshInterval: 5 * time.Second},
	}, cfg)
}

func TestResolveHostName(t *testing.T) {
	osHost := func(h string, err error) func() (string, error) { return func() (string, error) { return h, err } }
	tests := []struct {
		name, configured string
		os               func() (string, error)
		want, wantErr    string
	}{
		{name: "configured", configured: "gaudi-07", os: osHost("ignored", nil), want: "gaudi-07"},
		{name: "configured, lowercased", configured: "Gaudi-07.Cluster", os: osHost("ignored", nil), want: "gaudi-07.cluster"},
		{name: "OS hostname by default", os: osHost("HLS3-node12", nil), want: "hls3-node12"},
		{name: "OS hostname fails", os: osHost("", errors.New("uts: boom")), wantErr: "host_name is not set and the OS hostname cannot be read: uts: boom"},
		{name: "OS hostname empty", os: osHost("", nil), wantErr: "host_name is not set and the OS hostname is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.HostName = tt.configured
			got, err := resolveHostName(cfg, tt.os)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
