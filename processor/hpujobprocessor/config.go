package hpujobprocessor // import "github.com/otelcol-gaudi/otelcol-gaudi/processor/hpujobprocessor"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
)

// gaudiReceiverScope is the instrumentation scope of the gaudi receiver's metrics.
const gaudiReceiverScope = "github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver"

// Config configures the hpu_job processor.
type Config struct {
	// HostName is the host that device metrics without a host.name resource attribute (the gaudi
	// receiver's) belong to. Empty means the OS hostname, which is what OpenTelemetry SDKs report as
	// host.name on the same machine.
	HostName string `mapstructure:"host_name"`
	// Expiration is how long a job's claim on a device, and a device's identity learned from hpu.info,
	// stay valid without being seen again.
	Expiration time.Duration `mapstructure:"expiration"`
	// MaxMappings bounds the job-to-device mappings held at once, over all hosts.
	MaxMappings int `mapstructure:"max_mappings"`
	// MaxDevices bounds the device identities (index, module id, uuid) held at once, over all hosts.
	MaxDevices int `mapstructure:"max_devices"`
	// ScopeNames selects the device metrics to learn from and annotate, by instrumentation scope name.
	ScopeNames []string `mapstructure:"scope_names"`
	// Attributes are the job's resource attributes copied onto the data points of the devices it uses.
	Attributes []string `mapstructure:"attributes"`
	// Kubelet attributes devices to the pods and containers the kubelet allocated them to.
	Kubelet KubeletConfig `mapstructure:"kubelet"`
	// Slurm attributes devices to Slurm jobs through a job-mapping directory.
	Slurm SlurmConfig `mapstructure:"slurm"`

	_ struct{}
}

// KubeletConfig configures attribution from the kubelet's PodResources API.
type KubeletConfig struct {
	// Enabled turns pod attribution on. While the socket does not exist, it stays idle.
	Enabled bool `mapstructure:"enabled"`
	// Socket is the kubelet's PodResources unix socket.
	Socket string `mapstructure:"socket"`
	// ResourceNames are the device-plugin resources whose devices are HPUs.
	ResourceNames []string `mapstructure:"resource_names"`
	// DRADriverNames are the DRA drivers whose allocated devices are HPUs.
	DRADriverNames []string `mapstructure:"dra_driver_names"`
	// DeviceID is the identity the device plugin registers devices by: serial, uuid, module_id or pci_bus_id.
	DeviceID string `mapstructure:"device_id"`
	// RefreshInterval is how often the kubelet is asked; scrapes read the last answer.
	RefreshInterval time.Duration `mapstructure:"refresh_interval"`
	// Timeout bounds each call to the kubelet.
	Timeout time.Duration `mapstructure:"timeout"`

	_ struct{}
}

// SlurmConfig configures attribution from a Slurm job-mapping directory.
type SlurmConfig struct {
	// JobMappingDir holds one file per HPU module id, written by the prolog and removed by the epilog.
	// Empty turns Slurm attribution off.
	JobMappingDir string `mapstructure:"job_mapping_dir"`
	// RefreshInterval is how often the directory is read.
	RefreshInterval time.Duration `mapstructure:"refresh_interval"`

	_ struct{}
}

// Device identities the kubelet's device IDs can be matched by (the kubelet.device_id setting).
const (
	deviceIDSerial   = "serial"
	deviceIDUUID     = "uuid"
	deviceIDModuleID = "module_id"
	deviceIDPCIBusID = "pci_bus_id"
)

var deviceIDKinds = map[string]refKind{
	deviceIDSerial:   refSerial,
	deviceIDUUID:     refUUID,
	deviceIDModuleID: refModule,
	deviceIDPCIBusID: refPCI,
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() component.Config {
	return &Config{
		Expiration:  2 * time.Minute,
		MaxMappings: 4096,
		MaxDevices:  4096,
		ScopeNames:  []string{gaudiReceiverScope},
		Attributes:  []string{attrJobID, attrRank},
		Kubelet: KubeletConfig{
			Enabled:         true,
			Socket:          "/var/lib/kubelet/pod-resources/kubelet.sock",
			ResourceNames:   []string{"habana.ai/gaudi"},
			DRADriverNames:  []string{"gaudi.intel.com"},
			DeviceID:        deviceIDSerial,
			RefreshInterval: 5 * time.Second,
			Timeout:         2 * time.Second,
		},
		Slurm: SlurmConfig{RefreshInterval: 5 * time.Second},
	}
}

// Validate checks the settings; it reports every problem, not only the first.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Expiration <= 0 {
		errs = append(errs, fmt.Errorf("expiration must be positive, got %s", cfg.Expiration))
	}
	if cfg.MaxMappings <= 0 {
		errs = append(errs, fmt.Errorf("max_mappings must be positive, got %d", cfg.MaxMappings))
	}
	if cfg.MaxDevices <= 0 {
		errs = append(errs, fmt.Errorf("max_devices must be positive, got %d", cfg.MaxDevices))
	}
	if len(cfg.ScopeNames) == 0 {
		errs = append(errs, errors.New("scope_names: at least one scope name is required"))
	}
	for i, s := range cfg.ScopeNames {
		if s == "" {
			errs = append(errs, fmt.Errorf("scope_names[%d] is empty", i))
		}
	}
	if len(cfg.Attributes) == 0 {
		errs = append(errs, errors.New("attributes: at least one attribute is required"))
	}
	seen := make(map[string]bool, len(cfg.Attributes))
	for i, a := range cfg.Attributes {
		switch {
		case a == "":
			errs = append(errs, fmt.Errorf("attributes[%d] is empty", i))
		case strings.HasPrefix(a, "hpu."):
			errs = append(errs, fmt.Errorf("attributes[%d] %q: hpu.* attributes identify the device and are not copied from jobs", i, a))
		case seen[a]:
			errs = append(errs, fmt.Errorf("attributes[%d] %q is listed twice", i, a))
		}
		seen[a] = true
	}
	errs = append(errs, cfg.Kubelet.validate()...)
	if cfg.Slurm.JobMappingDir != "" && cfg.Slurm.RefreshInterval <= 0 {
		errs = append(errs, fmt.Errorf("slurm.refresh_interval must be positive, got %s", cfg.Slurm.RefreshInterval))
	}
	return errors.Join(errs...)
}

func (k *KubeletConfig) validate() []error {
	if !k.Enabled {
		return nil
	}
	var errs []error
	if k.Socket == "" {
		errs = append(errs, errors.New("kubelet.socket is empty (set kubelet.enabled: false to turn pod attribution off)"))
	}
	if _, ok := deviceIDKinds[k.DeviceID]; !ok {
		errs = append(errs, fmt.Errorf("kubelet.device_id %q: want serial, uuid, module_id or pci_bus_id", k.DeviceID))
	}
	if k.RefreshInterval <= 0 {
		errs = append(errs, fmt.Errorf("kubelet.refresh_interval must be positive, got %s", k.RefreshInterval))
	}
	if k.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("kubelet.timeout must be positive, got %s", k.Timeout))
	}
	if len(k.ResourceNames) == 0 && len(k.DRADriverNames) == 0 {
		errs = append(errs, errors.New("kubelet: resource_names and dra_driver_names are both empty, so no device could be attributed"))
	}
	for _, l := range []struct {
		key  string
		vals []string
	}{{"resource_names", k.ResourceNames}, {"dra_driver_names", k.DRADriverNames}} {
		seen := map[string]bool{}
		for i, v := range l.vals {
			switch {
			case v == "":
				errs = append(errs, fmt.Errorf("kubelet.%s[%d] is empty", l.key, i))
			case seen[v]:
				errs = append(errs, fmt.Errorf("kubelet.%s[%d] %q is listed twice", l.key, i, v))
			}
			seen[v] = true
		}
	}
	return errs
}

// resolveHostName returns the configured host name, or the OS hostname, normalised for comparison.
func resolveHostName(cfg *Config, osHostname func() (string, error)) (string, error) {
	if cfg.HostName != "" {
		return normalizeHost(cfg.HostName), nil
	}
	h, err := osHostname()
	if err != nil {
		return "", fmt.Errorf("host_name is not set and the OS hostname cannot be read: %w", err)
	}
	if h == "" {
		return "", errors.New("host_name is not set and the OS hostname is empty")
	}
	return normalizeHost(h), nil
}

// normalizeHost lowercases a host name (host names are case-insensitive) without allocating when it
// already is lowercase.
func normalizeHost(h string) string {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}
