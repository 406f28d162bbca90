// Package hlsmitest is a fake hl-smi for tests: Run answers hl-smi's command lines from
// recorded outputs, configured by environment variables, and the program fakehlsmi runs it.
// Tests of package hlsmi run it inside their own test binary; tests of other packages build
// the program (BuildFakeHLSMI).
package hlsmitest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The environment variables that drive the fake.
const (
	// EnvQuery is the fixture replayed for -Q; EnvQueryCols names its columns (comma-separated)
	// when it has no header line.
	EnvQuery     = "FAKE_HLSMI_QUERY"
	EnvQueryCols = "FAKE_HLSMI_QUERY_COLS"
	// EnvDetail is the fixture replayed for -q; without it, the recorded -q of one Gaudi 2
	// (testdata/gaudi2_q_single_device.txt, device 0 of the SYNTHETIC -Q fixture).
	EnvDetail = "FAKE_HLSMI_DETAIL"
	// EnvNICDir holds link.txt (or link-<bus id>.txt) for -n link and ports.txt (or
	// ports-<bus id>.txt) for -n ports.
	EnvNICDir = "FAKE_HLSMI_NIC_DIR"
	// EnvExit makes every run print EnvStderr to stderr and exit with this code.
	EnvExit   = "FAKE_HLSMI_EXIT"
	EnvStderr = "FAKE_HLSMI_STDERR"
	// EnvExitAfter makes every run print its output as usual, then EnvStderr to stderr, and
	// exit with this code, as an hl-smi that could not read one device.
	EnvExitAfter = "FAKE_HLSMI_EXIT_AFTER_OUTPUT"
	// EnvReject makes a -Q that asks for this field fail, as an hl-smi that does not know it.
	EnvReject = "FAKE_HLSMI_REJECT"
	// EnvGarble is "<line>:<how>": the -Q output's line (1-based) loses its last column ("columns"),
	// gets "?" for its first column ("index") or is replaced by junk ("junk").
	EnvGarble = "FAKE_HLSMI_GARBLE"
	// EnvLog is a file the fake appends its arguments to, one run per line.
	EnvLog = "FAKE_HLSMI_LOG"
	// EnvEscape makes every run first start a copy of the fake that leaves the run's process
	// group and session with setsid, as a daemonising child would, and sleeps for an hour:
	// "hold" keeps the run's stdout open in it, "daemon" gives it no stdio. "<own pid> <its
	// pid>" is written to EnvPidFile when that is set.
	EnvEscape  = "FAKE_HLSMI_ESCAPE"
	EnvPidFile = "FAKE_HLSMI_PIDFILE"
	// EnvHangIf names a file: while it exists, every run hangs (for an hour) before answering.
	EnvHangIf = "FAKE_HLSMI_HANG_IF"
	// envRole marks the sleeping copy of EnvEscape.
	envRole = "FAKE_HLSMI_ROLE"
)

// Run acts as hl-smi for args (without the program name) and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	if os.Getenv(envRole) == "sleeper" {
		time.Sleep(time.Hour)
		return 0
	}
	if mode := os.Getenv(EnvEscape); mode != "" {
		if err := escape(mode, stdout); err != nil {
			return fail(stderr, err)
		}
	}
	if path := os.Getenv(EnvHangIf); path != "" {
		if _, err := os.Stat(path); err == nil {
			time.Sleep(time.Hour)
		}
	}
	if path := os.Getenv(EnvLog); path != "" {
		if err := appendLine(path, strings.Join(args, " ")); err != nil {
			return fail(stderr, err)
		}
	}
	if code := os.Getenv(EnvExit); code != "" {
		fmt.Fprintln(stderr, os.Getenv(EnvStderr))
		n, _ := strconv.Atoi(code)
		return n
	}
	var out string
	switch {
	case len(args) >= 2 && args[0] == "-Q":
		want := strings.Split(args[1], ",")
		if r := os.Getenv(EnvReject); r != "" && slices.Contains(want, r) {
			fmt.Fprintf(stderr, "Invalid field in query: %s\n", r)
			return 2
		}
		fixture, err := os.ReadFile(os.Getenv(EnvQuery))
		if err != nil {
			return fail(stderr, err)
		}
		var cols []string
		if c := os.Getenv(EnvQueryCols); c != "" {
			cols = strings.Split(c, ",")
		}
		out = Replay(string(fixture), cols, want)
		if g := os.Getenv(EnvGarble); g != "" {
			out = garble(out, g)
		}
	case len(args) == 1 && args[0] == "-q":
		fixture := os.Getenv(EnvDetail)
		if fixture == "" {
			fixture = Fixture("gaudi2_q_single_device.txt")
		}
		b, err := os.ReadFile(fixture)
		if err != nil {
			return fail(stderr, err)
		}
		out = string(b)
	case len(args) == 4 && args[0] == "-n" && args[2] == "-i":
		b, err := os.ReadFile(nicFile(os.Getenv(EnvNICDir), args[1], args[3]))
		if err != nil {
			return fail(stderr, err)
		}
		out = string(b)
	default:
		return fail(stderr, fmt.Errorf("fake hl-smi does not know %q", args))
	}
	if _, err := io.WriteString(stdout, out); err != nil {
		return fail(stderr, err)
	}
	if code := os.Getenv(EnvExitAfter); code != "" {
		fmt.Fprintln(stderr, os.Getenv(EnvStderr))
		n, _ := strconv.Atoi(code)
		return n
	}
	return 0
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "fake hl-smi:", err)
	return 1
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// nicFile is the answer to `-n what -i bus`: the device's own file if there is one, else the
// one for every device.
func nicFile(dir, what, bus string) string {
	name := filepath.Join(dir, what+"-"+bus+".txt")
	if _, err := os.Stat(name); err != nil {
		name = filepath.Join(dir, what+".txt")
	}
	return name
}

// Replay renders a fixture as hl-smi prints it for `-Q want`: the fixture's values verbatim,
// units and all, in the order asked for, N/A for fields the fixture lacks; a fixture's header
// is printed too, in the order asked for. cols names the fixture's columns when it has no
// header. A fixture without an index column gets the row number, as rows come in index order.
func Replay(fixture string, cols, want []string) string {
	var rows [][]string
	for line := range strings.Lines(fixture) {
		if line = strings.TrimSpace(line); line != "" {
			rows = append(rows, strings.Split(line, ", "))
		}
	}
	var header []string
	if cols == nil && len(rows) > 0 {
		header, rows = rows[0], rows[1:]
		for _, h := range header {
			// "power.draw [W]" names the field power.draw.
			name, _, _ := strings.Cut(h, "[")
			cols = append(cols, strings.TrimSpace(name))
		}
	}
	var b strings.Builder
	if header != nil {
		out := make([]string, len(want))
		for i, w := range want {
			out[i] = w
			if j := slices.Index(cols, w); j >= 0 {
				out[i] = header[j]
			}
		}
		b.WriteString(strings.Join(out, ", ") + "\n")
	}
	for r, row := range rows {
		out := make([]string, 0, len(want))
		for _, w := range want {
			switch j := slices.Index(cols, w); {
			case j >= len(row):
				// A garbled fixture's short row stays short.
			case j >= 0:
				out = append(out, row[j])
			case w == "index":
				out = append(out, strconv.Itoa(r))
			default:
				out = append(out, "N/A")
			}
		}
		b.WriteString(strings.Join(out, ", ") + "\n")
	}
	return b.String()
}

// garble spoils one line of out as spec ("<line>:<how>", see EnvGarble) says.
func garble(out, spec string) string {
	n, how, _ := strings.Cut(spec, ":")
	line, _ := strconv.Atoi(n)
	lines := strings.Split(out, "\n")
	if line < 1 || line > len(lines) {
		return out
	}
	l := lines[line-1]
	switch how {
	case "columns":
		if i := strings.LastIndex(l, ","); i >= 0 {
			l = l[:i]
		}
	case "index":
		_, rest, _ := strings.Cut(l, ",")
		l = "?," + rest
	case "junk":
		l = "@@@ segmentation fault @@@"
	}
	lines[line-1] = l
	return strings.Join(lines, "\n")
}

// escape starts the sleeping copy of EnvEscape.
func escape(mode string, stdout io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	sleeper := exec.Command(exe)
	sleeper.Env = append(os.Environ(), envRole+"=sleeper")
	sleeper.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if mode == "hold" {
		f, ok := stdout.(*os.File)
		if !ok {
			return fmt.Errorf("%s=hold needs stdout to be a file, not %T", EnvEscape, stdout)
		}
		sleeper.Stdout = f
	}
	if err := sleeper.Start(); err != nil {
		return err
	}
	if path := os.Getenv(EnvPidFile); path != "" {
		return WritePids(path, strconv.Itoa(sleeper.Process.Pid))
	}
	return nil
}

// WritePids writes "<own pid> <other>" to path, atomically.
func WritePids(path, other string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %s", os.Getpid(), other), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
