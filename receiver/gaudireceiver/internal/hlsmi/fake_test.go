package hlsmi

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-gaudi/otelcol-gaudi/receiver/gaudireceiver/internal/hlsmi/hlsmitest"
)

// The test binary doubles as a fake hl-smi: TestMain hands over to fakeHLSMI when envFake is
// set, and the Source under test runs the test binary itself. hlsmitest's variables drive the
// replay; these drive the modes only a test of this package needs.
const (
	envFake = "FAKE_HLSMI"
	// envHang makes the fake start a helper child, write "<own pid> <helper pid>" to
	// envPidFile and sleep until killed.
	envHang    = "FAKE_HLSMI_HANG"
	envPidFile = "FAKE_HLSMI_PIDFILE"
	// envFlood makes the fake print more than maxStdout.
	envFlood = "FAKE_HLSMI_FLOOD"
	// envRole marks the helper child of the hang mode.
	envRole = "FAKE_HLSMI_ROLE"
	// envEscape makes the fake start a helper that leaves its process group and session with
	// setsid, as a daemonising child would, write "<own pid> <helper pid>" to envPidFile, and
	// then answer as usual (or hang with envHang). "hold": the helper keeps the fake's stdout
	// open; "daemon": it has no stdio.
	envEscape = "FAKE_HLSMI_ESCAPE"
)

// fakeHLSMI acts as hl-smi for the arguments of this process and returns the exit code.
func fakeHLSMI() int {
	switch {
	case os.Getenv(envRole) == "helper":
		if os.Getenv(envEscape) == "" { // the hang mode's helper says it runs
			fmt.Println(os.Getpid())
		}
		time.Sleep(time.Hour)
		return 0
	case os.Getenv(envEscape) != "":
		if err := escape(os.Getenv(envEscape)); err != nil {
			fmt.Fprintln(os.Stderr, "fake hl-smi:", err)
			return 1
		}
		if os.Getenv(envHang) != "" {
			time.Sleep(time.Hour)
		}
	case os.Getenv(envHang) != "":
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
	if err := writePids(line); err != nil {
		return err
	}
	time.Sleep(time.Hour)
	return nil
}

// escape starts a helper in a new session, as mode (see envEscape) says, and reports both pids.
func escape(mode string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	helper := exec.Command(exe)
	helper.Env = append(os.Environ(), envRole+"=helper")
	helper.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if mode == "hold" {
		helper.Stdout = os.Stdout
	}
	if err := helper.Start(); err != nil {
		return err
	}
	return writePids(fmt.Sprint(helper.Process.Pid))
}

// writePids writes "<own pid> <helper pid>" to envPidFile, atomically.
func writePids(helper string) error {
	pidFile := os.Getenv(envPidFile)
	tmp := pidFile + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %s", os.Getpid(), helper), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, pidFile)
}
