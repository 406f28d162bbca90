package hlsmi

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The test binary doubles as a fake hl-smi: TestMain hands over to fakeHLSMI when envFake is
// set, and the Source under test runs the test binary itself. These variables drive it.
const (
	envFake = "FAKE_HLSMI"
	// envQuery is the fixture replayed for -Q; envQueryCols names its columns when it has no
	// header line.
	envQuery     = "FAKE_HLSMI_QUERY"
	envQueryCols = "FAKE_HLSMI_QUERY_COLS"
	// envNICDir holds link.txt (or link-<bus id>.txt) for -n link and ports.txt for -n ports.
	envNICDir = "FAKE_HLSMI_NIC_DIR"
	// envExit makes every run print envStderr to stderr and exit with this code.
	envExit   = "FAKE_HLSMI_EXIT"
	envStderr = "FAKE_HLSMI_STDERR"
	// envReject makes a -Q that asks for this field fail, as an hl-smi that does not know it.
	envReject = "FAKE_HLSMI_REJECT"
	// envGarble is "<line>:<how>": the output's line (1-based) loses its last column ("columns"),
	// gets "?" for its first column ("index") or is replaced by junk ("junk").
	envGarble = "FAKE_HLSMI_GARBLE"
	// envHang makes the fake start a helper child, write "<own pid> <helper pid>" to
	// envPidFile and sleep until killed.
	envHang    = "FAKE_HLSMI_HANG"
	envPidFile = "FAKE_HLSMI_PIDFILE"
	// envFlood makes the fake print more than maxStdout.
	envFlood = "FAKE_HLSMI_FLOOD"
	// envLog is a file the fake appends its arguments to, one run per line.
	envLog = "FAKE_HLSMI_LOG"
	// envRole marks the helper child of the hang mode.
	envRole = "FAKE_HLSMI_ROLE"
)

// fakeHLSMI acts as hl-smi for the arguments of this process and returns the exit code.
func fakeHLSMI() int {
	args := os.Args[1:]
	if os.Getenv(envRole) == "helper" {
		fmt.Println(os.Getpid())
		time.Sleep(time.Hour)
		return 0
	}
	if path := os.Getenv(envLog); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(f, strings.Join(args, " "))
		f.Close()
	}
	if code := os.Getenv(envExit); code != "" {
		fmt.Fprintln(os.Stderr, os.Getenv(envStderr))
		n, _ := strconv.Atoi(code)
		return n
	}
	if os.Getenv(envHang) != "" {
		return hang()
	}
	if os.Getenv(envFlood) != "" {
		out := strings.Repeat("x", maxStdout/2) + "\n"
		for range 3 {
			os.Stdout.WriteString(out)
		}
		return 0
	}
	var out string
	switch {
	case len(args) >= 2 && args[0] == "-Q":
		want := strings.Split(args[1], ",")
		if r := os.Getenv(envReject); r != "" && slices.Contains(want, r) {
			fmt.Fprintf(os.Stderr, "Invalid field in query: %s\n", r)
			return 2
		}
		fixture, err := os.ReadFile(os.Getenv(envQuery))
		if err != nil {
			return fail(err)
		}
		var cols []string
		if c := os.Getenv(envQueryCols); c != "" {
			cols = strings.Split(c, ",")
		}
		out = replay(string(fixture), cols, want)
	case len(args) == 4 && args[0] == "-n" && args[2] == "-i":
		dir := os.Getenv(envNICDir)
		name := filepath.Join(dir, args[1]+"-"+args[3]+".txt")
		if _, err := os.Stat(name); err != nil {
			name = filepath.Join(dir, args[1]+".txt")
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return fail(err)
		}
		out = string(b)
	default:
		return fail(fmt.Errorf("fake hl-smi does not know %q", args))
	}
	if g := os.Getenv(envGarble); g != "" {
		out = garble(out, g)
	}
	os.Stdout.WriteString(out)
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "fake hl-smi:", err)
	return 1
}

// hang starts a helper (as hl-smi might), reports both pids and sleeps until killed.
func hang() int {
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	helper := exec.Command(exe)
	helper.Env = append(os.Environ(), envRole+"=helper")
	stdout, err := helper.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := helper.Start(); err != nil {
		return fail(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fail(err)
	}
	pidFile := os.Getenv(envPidFile)
	tmp := pidFile + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %s", os.Getpid(), line), 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, pidFile); err != nil {
		return fail(err)
	}
	time.Sleep(time.Hour)
	return 0
}

// replay renders a fixture as hl-smi prints it for `-Q want`: the fixture's values verbatim,
// units and all, in the order asked for, N/A for fields the fixture lacks; a fixture's header
// is printed too, in the order asked for. cols names the fixture's columns when it has no
// header. A fixture without an index column gets the row number, as rows come in index order.
func replay(fixture string, cols, want []string) string {
	var rows [][]string
	for line := range strings.Lines(fixture) {
		if line = strings.TrimSpace(line); line != "" {
			rows = append(rows, strings.Split(line, ", "))
		}
	}
	var header []string
	if cols == nil {
		header, rows = rows[0], rows[1:]
		for _, h := range header {
			cols = append(cols, headerName(h))
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
		out := make([]string, len(want))
		for i, w := range want {
			switch j := slices.Index(cols, w); {
			case j >= 0:
				out[i] = row[j]
			case w == "index":
				out[i] = strconv.Itoa(r)
			default:
				out[i] = "N/A"
			}
		}
		b.WriteString(strings.Join(out, ", ") + "\n")
	}
	return b.String()
}

// garble spoils one line of out as spec ("<line>:<how>", see envGarble) says.
func garble(out, spec string) string {
	n, how, _ := strings.Cut(spec, ":")
	line, _ := strconv.Atoi(n)
	lines := strings.Split(out, "\n")
	l := lines[line-1]
	switch how {
	case "columns":
		l = l[:strings.LastIndex(l, ",")]
	case "index":
		_, rest, _ := strings.Cut(l, ",")
		l = "?," + rest
	case "junk":
		l = "@@@ segmentation fault @@@"
	}
	lines[line-1] = l
	return strings.Join(lines, "\n")
}
