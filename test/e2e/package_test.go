package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The package tests build the .deb and .rpm with internal/tools/pkgbuild (what `make package` runs) from
// the binary under test. The .deb is installed with dpkg into this machine's real system paths, so the
// test needs root: in CI (CI=true) it fails without root; elsewhere it skips, saying why. It refuses to
// touch an otelcol-gaudi that it did not install, and its cleanup purges the package and removes the
// system user and group it created.

const pkgName = "otelcol-gaudi"

// requireRoot fails the test in CI and skips it elsewhere when the test does not run as root.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("this test must run as root in CI: %s", why)
	}
	t.Skipf("not root: %s; run the e2e tests as root (CI does) to run it", why)
}

// buildPackages builds the otelcol-gaudi package of the given format once per version, concurrently (the
// compression is most of the time), each into its own directory, and returns their paths in order.
func buildPackages(t *testing.T, format string, versions ...string) []string {
	t.Helper()
	// Go's build cache makes every build after the first a link step.
	pkgbuildBin := filepath.Join(t.TempDir(), "pkgbuild")
	cmd := exec.Command("go", "build", "-o", pkgbuildBin, "./internal/tools/pkgbuild")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./internal/tools/pkgbuild: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	paths := make([]string, len(versions))
	errs := make([]error, len(versions))
	var wg sync.WaitGroup
	for i, version := range versions {
		dir := t.TempDir()
		wg.Go(func() {
			start := time.Now()
			out, err := exec.CommandContext(ctx, pkgbuildBin, "-root", repoRoot, "-bin", collectorBin, "-version", version,
				"-out", dir, "-formats", format).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("pkgbuild %s %s: %v\n%s", format, version, err, out)
				return
			}
			paths[i] = strings.TrimSpace(string(out))
			t.Logf("built %s in %s", filepath.Base(paths[i]), time.Since(start).Round(time.Millisecond))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return paths
}

// dpkg runs dpkg, waiting for the dpkg lock while another package manager holds it.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	return dpkgIn(t, nil, args...)
}

// dpkgIn is dpkg run by the command wrap (e.g. fakeDevices'), which ends by executing its arguments.
func dpkgIn(t *testing.T, wrap []string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	argv := append(slices.Clone(wrap), append([]string{"dpkg"}, args...)...)
	for {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err == nil {
			return string(out)
		}
		if strings.Contains(string(out), "lock") && time.Now().Before(deadline) {
			time.Sleep(2 * time.Second)
			continue
		}
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// installedVersion is the installed version of the package, or "" when it is not installed.
func installedVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Abbrev}|${Version}", pkgName).Output()
	if err != nil {
		return ""
	}
	status, version, _ := strings.Cut(string(out), "|")
	if status = strings.TrimSpace(status); status != "ii" {
		return status
	}
	return strings.TrimSpace(version)
}

// unitDirectives parses a systemd unit file into its directives (the last value of each, as systemd reads
// repeated keys that are not lists).
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		d[k] = append(d[k], v)
	}
	return d
}

// TestDebPackage installs the .deb with dpkg, checks what it put on the system, verifies the unit with
// systemd-analyze, runs the installed binary on the installed config as the package's user (there is no
// systemd as PID 1 here), upgrades to a second build while keeping an edited config, then removes and
// purges it.
func TestDebPackage(t *testing.T) {
	t.Parallel()
	requireRoot(t, "it installs the .deb with dpkg into the system")
	for _, tool := range []string{"dpkg", "dpkg-query", "runuser"} {
		mustLookPath(t, "dpkg", tool)
	}
	analyze := mustLookPath(t, "systemd", "systemd-analyze")
	if v := installedVersion(); v != "" {
		t.Fatalf("%s is already on this machine (%s): this test installs and purges it, and will not touch an installation it did not make", pkgName, v)
	}
	_, errUser := user.Lookup(pkgName)
	_, errGroup := user.LookupGroup(pkgName)
	t.Cleanup(func() {
		if installedVersion() != "" {
			_ = exec.Command("dpkg", "--purge", pkgName).Run()
		}
		// The package keeps its system user on purge, as Debian's policy asks; the test removes what it made.
		if errUser != nil {
			_ = exec.Command("userdel", pkgName).Run()
		}
		if errGroup != nil {
			_ = exec.Command("groupdel", pkgName).Run()
		}
	})
	debs := buildPackages(t, "deb", "0.1.0", "0.1.1")
	v1, v2 := debs[0], debs[1]

	// The first install sees Gaudi device nodes: a /dev of its own (a mount namespace) with an accel node
	// and a habanalabs one, each owned by a group made for the test, and a root-owned control node.
	devGroups := []string{"otelcol-gaudi-e2e-accel", "otelcol-gaudi-e2e-hl"}
	for _, g := range devGroups {
		if _, err := user.LookupGroup(g); err == nil {
			t.Fatalf("group %s exists already: this test creates and deletes it", g)
		}
		if out, err := exec.Command("groupadd", "--system", g).CombinedOutput(); err != nil {
			t.Fatalf("groupadd %s: %v\n%s", g, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("groupdel", g).Run() })
	}
	dpkgIn(t, fakeDevices(t, map[string]string{
		"/dev/accel/accel0":          devGroups[0],
		"/dev/accel/accel_controlD0": "root",
		"/dev/hl0":                   devGroups[1],
	}), "--install", v1)
	if v := installedVersion(); v != "0.1.0" {
		t.Fatalf("after dpkg --install: version %q, want 0.1.0", v)
	}
	const (
		unitFile = "/usr/lib/systemd/system/otelcol-gaudi.service"
		config   = "/etc/otelcol-gaudi/config.yaml"
	)

	t.Run("files, conffiles and the system user", func(t *testing.T) {
		for path, want := range map[string]string{
			"/usr/bin/otelcol-gaudi":                  "-rwxr-xr-x root root",
			unitFile:                                  "-rw-r--r-- root root",
			config:                                    "-rw-r----- root otelcol-gaudi",
			"/etc/otelcol-gaudi/secure.yaml":          "-rw-r----- root otelcol-gaudi",
			"/etc/otelcol-gaudi/otelcol-gaudi.env":    "-rw-r----- root otelcol-gaudi",
			"/etc/otelcol-gaudi/tls":                  "drwxr-x--- root otelcol-gaudi",
			"/etc/otelcol-gaudi/training-scrape.yaml": "-rw-r----- root otelcol-gaudi",
			"/usr/libexec/otelcol-gaudi/otelcol-gaudi-task-prolog.sh":                            "-rwxr-xr-x root root",
			"/usr/libexec/otelcol-gaudi/otelcol-gaudi-task-epilog.sh":                            "-rwxr-xr-x root root",
			"/usr/libexec/otelcol-gaudi/otelcol-gaudi-prolog.sh":                                 "-rwxr-xr-x root root",
			"/usr/libexec/otelcol-gaudi/otelcol-gaudi-epilog.sh":                                 "-rwxr-xr-x root root",
			"/usr/lib/tmpfiles.d/otelcol-gaudi.conf":                                             "-rw-r--r-- root root",
			"/usr/share/otelcol-gaudi/configs/prometheus/rules/hpu.rules.yaml":                   "-rw-r--r-- root root",
			"/usr/share/otelcol-gaudi/configs/prometheus/rules/training.rules.yaml":              "-rw-r--r-- root root",
			"/usr/share/otelcol-gaudi/configs/prometheus/rules/compat/original-names.rules.yaml": "-rw-r--r-- root root",
			// Created by the postinstall through systemd-tmpfiles, for the Slurm task prologs.
			"/run/otelcol-gaudi/targets": "drwxrwxrwt root root",
		} {
			out, err := exec.Command("stat", "-c", "%A %U %G", path).Output()
			if got := strings.TrimSpace(string(out)); err != nil || got != want {
				t.Errorf("%s: %q (%v), want %q", path, got, err, want)
			}
		}
		shipped, err := os.ReadFile(filepath.Join(repoRoot, "configs", "node.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if installed, _ := os.ReadFile(config); string(installed) != string(shipped) {
			t.Errorf("%s is not configs/node.yaml", config)
		}
		out, _ := exec.Command("dpkg-query", "-W", "-f=${Conffiles}", pkgName).Output()
		var conffiles []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			conffiles = append(conffiles, strings.Fields(line)[0])
		}
		slices.Sort(conffiles)
		if want := []string{config, "/etc/otelcol-gaudi/otelcol-gaudi.env", "/etc/otelcol-gaudi/secure.yaml", "/etc/otelcol-gaudi/training-scrape.yaml"}; !slices.Equal(conffiles, want) {
			t.Errorf("conffiles %v, want %v", conffiles, want)
		}
		u, err := user.Lookup(pkgName)
		if err != nil {
			t.Fatalf("the package created no user %s: %v", pkgName, err)
		}
		if uid, _ := strconv.Atoi(u.Uid); uid >= 1000 || uid == 0 {
			t.Errorf("user %s has uid %d, want a system uid (1-999)", pkgName, uid)
		}
		passwd, _ := exec.Command("getent", "passwd", pkgName).Output()
		if !strings.HasSuffix(strings.TrimSpace(string(passwd)), ":/usr/sbin/nologin") {
			t.Errorf("user %s: %s, want the nologin shell", pkgName, passwd)
		}
	})

	t.Run("the install added the user to the groups owning the device nodes", func(t *testing.T) {
		out, err := exec.Command("id", "-nG", pkgName).Output()
		if err != nil {
			t.Fatalf("id -nG %s: %v", pkgName, err)
		}
		groups := strings.Fields(string(out))
		for _, g := range devGroups {
			if !slices.Contains(groups, g) {
				t.Errorf("%s is in the groups %v, want %s, which owns a device node", pkgName, groups, g)
			}
		}
		if slices.Contains(groups, "root") {
			t.Errorf("%s is in the groups %v: root owns a control node, and must not be given", pkgName, groups)
		}
	})

	t.Run("systemd accepts the unit", func(t *testing.T) {
		out, err := exec.Command(analyze, "verify", unitFile).CombinedOutput()
		if err != nil || strings.Contains(string(out), "otelcol-gaudi.service:") {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
		}
		d := unitDirectives(t, unitFile)
		for k, want := range map[string]string{
			"User": "otelcol-gaudi", "Restart": "on-failure", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
			"ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
			"StateDirectory": "otelcol-gaudi", "EnvironmentFile": "-/etc/otelcol-gaudi/otelcol-gaudi.env",
		} {
			if got := d[k]; len(got) == 0 || got[len(got)-1] != want {
				t.Errorf("%s=%q, want %q", k, got, want)
			}
		}
		// systemd's own exposure score of the unit (0 = fully locked down, 10 = unprotected).
		out, _ = exec.Command(analyze, "security", "--offline=true", "--no-pager", unitFile).CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for otelcol-gaudi.service: ([0-9.]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("systemd-analyze security --offline=true %s: no exposure level in\n%s", unitFile, out)
		}
		score, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("systemd-analyze security: exposure %.1f", score)
		if score > 3.0 {
			t.Errorf("exposure %.1f, want at most 3.0 (systemd's OK band):\n%s", score, out)
		}
	})

	t.Run("the installed configs validate where the unit runs them", func(t *testing.T) {
		// As the unit: the package's user, in its WorkingDirectory, where the configs' relative rule files resolve.
		workDir := unitDirectives(t, unitFile)["WorkingDirectory"]
		if len(workDir) != 1 {
			t.Fatalf("WorkingDirectory=%v, want one", workDir)
		}
		for _, cfg := range []string{config, "/etc/otelcol-gaudi/secure.yaml", "/etc/otelcol-gaudi/training-scrape.yaml"} {
			cmd := exec.Command("runuser", "-u", pkgName, "--", "/usr/bin/otelcol-gaudi", "validate", "--config", cfg)
			cmd.Dir = workDir[0]
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("otelcol-gaudi validate --config %s as %s in %s: %v\n%s", cfg, pkgName, cmd.Dir, err, out)
			}
		}
	})

	t.Run("the unit's command line with the environment file serves", func(t *testing.T) {
		d := unitDirectives(t, unitFile)
		if len(d["ExecStart"]) != 1 || len(d["EnvironmentFile"]) != 1 || len(d["WorkingDirectory"]) != 1 {
			t.Fatalf("ExecStart=%q EnvironmentFile=%q WorkingDirectory=%q, want one each", d["ExecStart"], d["EnvironmentFile"], d["WorkingDirectory"])
		}
		envFile := strings.TrimPrefix(d["EnvironmentFile"][0], "-")
		// An operator's edit of the installed file: flags in OTELCOL_GAUDI_OPTIONS, here the ports moved off
		// the defaults (which other collectors on this machine may hold). The file is restored afterwards.
		shipped, err := os.ReadFile(envFile)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.WriteFile(envFile, shipped, 0); err != nil {
				t.Errorf("restoring %s: %v", envFile, err)
			}
		})
		promPort, healthPort := freePort(t), freePort(t)
		options := strings.Join([]string{
			fmt.Sprintf("--set=extensions::health_check::endpoint=127.0.0.1:%d", healthPort),
			fmt.Sprintf("--set=extensions::hpu_health::endpoint=127.0.0.1:%d", freePort(t)),
			fmt.Sprintf("--set=receivers::otlp::protocols::grpc::endpoint=127.0.0.1:%d", freePort(t)),
			fmt.Sprintf("--set=receivers::otlp::protocols::http::endpoint=127.0.0.1:%d", freePort(t)),
			fmt.Sprintf("--set=exporters::prometheus::endpoint=127.0.0.1:%d", promPort),
			"--set=receivers::host_metrics::collection_interval=1s",
			"--set=service::telemetry::metrics::level=none", // no :8888
		}, " ")
		optionsLine := regexp.MustCompile(`(?m)^OTELCOL_GAUDI_OPTIONS=.*$`)
		if !optionsLine.Match(shipped) {
			t.Fatalf("%s has no OTELCOL_GAUDI_OPTIONS= line", envFile)
		}
		if err := os.WriteFile(envFile, optionsLine.ReplaceAll(shipped, []byte(`OTELCOL_GAUDI_OPTIONS="`+options+`"`)), 0); err != nil {
			t.Fatal(err)
		}

		// The environment as systemd builds it: Environment=, then the file, which overrides it.
		env := map[string]string{}
		for _, kv := range d["Environment"] {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		maps.Copy(env, readEnvironmentFile(t, envFile))
		argv := expandExecStart(t, d["ExecStart"][0], env)
		t.Logf("ExecStart expands to %q", argv)
		if want := []string{"/usr/bin/otelcol-gaudi", "--config", "/etc/otelcol-gaudi/config.yaml"}; !slices.Equal(argv[:min(3, len(argv))], want) {
			t.Errorf("ExecStart expands to %q, want it to start with %q", argv, want)
		}
		// As the unit runs it: the package's user, in its WorkingDirectory, with its environment.
		wrapped := []string{"-u", pkgName, "--", "env", "-C", d["WorkingDirectory"][0]}
		for _, k := range slices.Sorted(maps.Keys(env)) {
			wrapped = append(wrapped, k+"="+env[k])
		}
		p := startProcess(t, "otelcol-gaudi (installed)", "runuser", append(wrapped, argv...)...)
		// Served on the ports from the environment file, so its options reached the command line.
		waitHTTP200(t, p, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), startupDeadline)
		// No HPU here: the gaudi receiver reports zero devices; the host's metrics flow.
		waitForFamilies(t, p, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort), "system_cpu_time_seconds_total", "hpu_devices")
	})

	t.Run("an upgrade keeps the edited config", func(t *testing.T) {
		edited := "# edited by the operator\n"
		f, err := os.OpenFile(config, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(edited); err != nil {
			t.Fatal(err)
		}
		f.Close()
		dpkg(t, "--install", v2)
		if v := installedVersion(); v != "0.1.1" {
			t.Fatalf("after the upgrade: version %q, want 0.1.1", v)
		}
		if got, _ := os.ReadFile(config); !strings.HasSuffix(string(got), edited) {
			t.Errorf("the upgrade replaced the edited %s", config)
		}
		if matches, _ := filepath.Glob("/etc/otelcol-gaudi/*.dpkg-*"); len(matches) > 0 {
			t.Errorf("the upgrade left %v", matches)
		}
	})

	t.Run("remove keeps the config, purge removes everything", func(t *testing.T) {
		dpkg(t, "--remove", pkgName)
		for _, gone := range []string{"/usr/bin/otelcol-gaudi", unitFile} {
			if _, err := os.Stat(gone); err == nil {
				t.Errorf("%s is still there after dpkg --remove", gone)
			}
		}
		if _, err := os.Stat(config); err != nil {
			t.Errorf("dpkg --remove removed the config %s: %v", config, err)
		}
		dpkg(t, "--purge", pkgName)
		for _, gone := range []string{"/etc/otelcol-gaudi", "/var/lib/otelcol-gaudi", "/var/log/otelcol-gaudi", "/run/otelcol-gaudi"} {
			if _, err := os.Stat(gone); err == nil {
				t.Errorf("%s is still there after dpkg --purge", gone)
			}
		}
		if v := installedVersion(); v != "" {
			t.Errorf("after purge dpkg still knows %s: %s", pkgName, v)
		}
	})
}

// fakeDevices returns a command that runs its arguments in a mount namespace of their own, where /dev is a
// tmpfs holding the host's null, zero, full, random, urandom and tty, and the character devices given (path:
// owning group), for what a package's scripts make of a Gaudi node's device nodes.
func fakeDevices(t *testing.T, devices map[string]string) []string {
	t.Helper()
	script := `set -e
real=$1; shift
mount --bind /dev "$real"
mount -t tmpfs -o mode=0755 tmpfs /dev
for n in null zero full random urandom tty; do touch /dev/$n; mount --bind "$real/$n" /dev/$n; done
ln -s /proc/self/fd /dev/fd
`
	// accel's major (include/drm/drm_accel.h); the minors only tell the nodes apart.
	minor := 0
	for _, path := range slices.Sorted(maps.Keys(devices)) {
		script += fmt.Sprintf("mkdir -p %s\nmknod -m 0660 %s c 261 %d\nchgrp %s %s\n", filepath.Dir(path), path, minor, devices[path], path)
		minor++
	}
	script += `exec "$@"`
	return []string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", t.TempDir()}
}

// readEnvironmentFile reads a systemd EnvironmentFile: KEY=VALUE lines, # and ; comments, a value in matching
// quotes taken without them (the shipped file needs no escapes or continued lines).
func readEnvironmentFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[strings.TrimSpace(k)] = v
	}
	return env
}

// expandExecStart expands a unit's ExecStart as systemd does for the forms ours uses: a word "${NAME}" is the
// value as one argument, a word "$NAME" the value split at whitespace (no argument when empty).
func expandExecStart(t *testing.T, line string, env map[string]string) []string {
	t.Helper()
	var argv []string
	for _, word := range strings.Fields(line) {
		if name, ok := strings.CutPrefix(word, "$"); ok {
			if braced, ok := strings.CutPrefix(name, "{"); ok {
				argv = append(argv, env[strings.TrimSuffix(braced, "}")])
			} else {
				argv = append(argv, strings.Fields(env[name])...)
			}
			continue
		}
		if strings.Contains(word, "$") {
			t.Fatalf("ExecStart=%s: %q is a form this test does not expand", line, word)
		}
		argv = append(argv, word)
	}
	return argv
}

// TestRPMPackage builds the .rpm and reads it back with rpm: the same files as the .deb with the same
// owners and modes, the config files %config(noreplace), the scripts and the dependencies. Installing it
// would need an RPM-based machine.
func TestRPMPackage(t *testing.T) {
	t.Parallel()
	rpm := mustLookPath(t, "rpm", "rpm")
	path := buildPackages(t, "rpm", "0.1.0")[0]
	query := func(args ...string) string {
		out, err := exec.Command(rpm, append(args, path)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out := query("-K", "--nosignature"); !strings.HasSuffix(out, "digests OK") {
		t.Errorf("rpm -K: %s", out)
	}
	if got := query("-qp", "--qf", "%{NAME} %{VERSION} %{ARCH}"); got != "otelcol-gaudi 0.1.0 x86_64" && !strings.HasPrefix(got, "otelcol-gaudi 0.1.0 ") {
		t.Errorf("name, version, arch: %s", got)
	}
	files := map[string]string{}
	for _, line := range strings.Split(query("-qp", "--qf", "[%{FILEFLAGS:fflags}|%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME}|%{FILENAMES}\n]"), "\n") {
		parts := strings.Split(line, "|")
		files[parts[2]] = parts[0] + "|" + parts[1]
	}
	want := map[string]string{
		"/usr/bin/otelcol-gaudi":                                                             "|-rwxr-xr-x root root",
		"/usr/lib/systemd/system/otelcol-gaudi.service":                                      "|-rw-r--r-- root root",
		"/etc/otelcol-gaudi/config.yaml":                                                     "cn|-rw-r----- root otelcol-gaudi",
		"/etc/otelcol-gaudi/secure.yaml":                                                     "cn|-rw-r----- root otelcol-gaudi",
		"/etc/otelcol-gaudi/otelcol-gaudi.env":                                               "cn|-rw-r----- root otelcol-gaudi",
		"/etc/otelcol-gaudi/tls":                                                             "|drwxr-x--- root otelcol-gaudi",
		"/usr/share/doc/otelcol-gaudi/security.md":                                           "|-rw-r--r-- root root",
		"/etc/otelcol-gaudi/training-scrape.yaml":                                            "cn|-rw-r----- root otelcol-gaudi",
		"/usr/libexec/otelcol-gaudi/otelcol-gaudi-task-prolog.sh":                            "|-rwxr-xr-x root root",
		"/usr/libexec/otelcol-gaudi/otelcol-gaudi-task-epilog.sh":                            "|-rwxr-xr-x root root",
		"/usr/libexec/otelcol-gaudi/otelcol-gaudi-prolog.sh":                                 "|-rwxr-xr-x root root",
		"/usr/libexec/otelcol-gaudi/otelcol-gaudi-epilog.sh":                                 "|-rwxr-xr-x root root",
		"/usr/lib/tmpfiles.d/otelcol-gaudi.conf":                                             "|-rw-r--r-- root root",
		"/usr/share/otelcol-gaudi/configs/prometheus/rules/hpu.rules.yaml":                   "|-rw-r--r-- root root",
		"/usr/share/otelcol-gaudi/configs/prometheus/rules/training.rules.yaml":              "|-rw-r--r-- root root",
		"/usr/share/otelcol-gaudi/configs/prometheus/rules/compat/original-names.rules.yaml": "|-rw-r--r-- root root",
	}
	for f, w := range want {
		if files[f] != w {
			t.Errorf("%s: %q, want %q (c: %%config, n: noreplace)", f, files[f], w)
		}
	}
	if len(files) != len(want) {
		t.Errorf("the rpm holds %v, want %v", slices.Sorted(maps.Keys(files)), slices.Sorted(maps.Keys(want)))
	}
	scripts := query("-qp", "--scripts")
	for _, s := range []string{"preinstall scriptlet", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", "useradd --system"} {
		if !strings.Contains(scripts, s) {
			t.Errorf("the rpm's scripts lack %q", s)
		}
	}
	requires := query("-qp", "--requires")
	for _, r := range []string{"glibc", "shadow-utils"} {
		if !slices.Contains(strings.Split(requires, "\n"), r) {
			t.Errorf("the rpm does not require %s: %s", r, requires)
		}
	}
}
