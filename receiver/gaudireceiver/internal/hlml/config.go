package hlml

import "errors"

// DefaultLibraryPath is where the Intel Gaudi software stack installs libhlml.so.
const DefaultLibraryPath = "/usr/lib/habanalabs/libhlml.so"

// Config is the user configuration of the HLML source.
type Config struct {
	// LibraryPath is the libhlml.so to load: a path, or a bare name that the dynamic loader
	// looks up (LD_LIBRARY_PATH, ld.so.cache).
	LibraryPath string `mapstructure:"library_path"`
	_           struct{}
}

// DefaultConfig loads the library from its installed place.
func DefaultConfig() Config {
	return Config{LibraryPath: DefaultLibraryPath}
}

// Validate checks the configuration without touching the library, which may be absent on the
// machine that validates it.
func (c Config) Validate() error {
	if c.LibraryPath == "" {
		return errors.New("library_path must not be empty")
	}
	return nil
}
