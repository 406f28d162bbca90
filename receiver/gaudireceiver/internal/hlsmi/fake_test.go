package hlsmi

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
)

// The test binary doubles as a fake hl-smi: TestMain hands over to fakeHLSMI when envFake is
// set, and the Source under test runs the test binary itself. hlsmitest's variables drive the
// replay; these drive the modes only a test of this package needs.
const (
	envFake = "FAKE_HLSMI"
	// envHang makes the fake start a helper child, write "<own pid> <helper pid>" to
	// envPidFile and sleep until killed: on every run, or only on the run whose first argument
	// it names ("-q").
	envHang    = "FAKE_HLSMI_HANG"
	envPidFile = hlsmitest.EnvPidFile
	// envFlood makes the fake print more than maxStdout.
	envFlood = "FAKE_HLSMI_FLOOD"
	// envRole marks the helper child of the hang mode.
	envRole = "FAKE_HLSMI_ROLE"
)

// fakeHLSMI acts as hl-smi for the arguments of this process and returns the exit code.
func fakeHLSMI() int {
	switch {
	case os.Getenv(envRole) == "helper":
		fmt.Println(os.Getpid())
		time.Sleep(time.Hour)
		return 0
	case os.Getenv(envHang) == "1" || len(os.Args) > 1 && os.Getenv(envHang) == os.Args[1]:
		if err := hang(); err != nil {
			fmt.Fprintln(os.Stderr, "fake hl-smi:", err)
			return 1
		}
		return 0
	case os.Getenv(envFlood) != "":
		out := strings.Repeat("x", maxStdout/2) + "\n"
		for range 3 {
			os.Stdout.WriteString(out)
		}
		return 0
	}
	return hlsmitest.Run(os.Args[1:], os.Stdout, os.Stderr)
}

// hang starts a helper (as hl-smi might), reports both pids and sleeps until killed.
func hang() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	helper := exec.Command(exe)
	helper.Env = append(os.Environ(), envRole+"=helper")
	stdout, err := helper.StdoutPipe()
	if err != nil {
		return err
	}
	if err := helper.Start(); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return err
	}
	if err := hlsmitest.WritePids(os.Getenv(envPidFile), line); err != nil {
		return err
	}
	time.Sleep(time.Hour)
	return nil
}
