package hlsmi

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(envFake) != "" {
		os.Exit(fakeHLSMI())
	}
	goleak.VerifyTestMain(m)
}
