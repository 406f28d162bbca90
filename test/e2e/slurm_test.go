package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// TestSlurmTaskPrologAndEpilog runs deploy/slurm's scripts as Slurm runs them, with a task's environment,
// and reads what the prolog writes with Prometheus' own file_sd types. Input a job controls (the job
// name) is escaped; input that cannot be a task's identity registers nothing and never fails the task.
func TestSlurmTaskPrologAndEpilog(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	task := func(dir string, extra ...string) []string {
		return append([]string{"OTELCOL_GAUDI_TARGETS_DIR=" + dir, "SLURM_JOB_ID=77", "SLURM_STEP_ID=0", "SLURM_PROCID=9",
			"SLURM_LOCALID=1", "SLURM_NTASKS=16", "HABANA_VISIBLE_MODULES=4,5,6,7", "TRAINING_METRICS_PORT="}, extra...)
	}
	t.Run("registers the task", func(t *testing.T) {
		dir := t.TempDir()
		out := runTaskProlog(t, task(dir, "SLURM_JOB_NAME=llama \"3\"\n\\pretrain"))
		if out != "export TRAINING_METRICS_PORT=9201\n" {
			t.Errorf("stdout %q, want the port 9200 + SLURM_LOCALID exported", out)
		}
		groups := readTargetGroups(t, filepath.Join(dir, "77.0.9.json"))
		want := model.LabelSet{"training_job_id": "77", "training_rank": "9", "training_local_rank": "1",
			"training_world_size": "16", "hpu_module_id": "5", "host_name": model.LabelValue(host), "job": "llama \"3\"\\pretrain"}
		if len(groups) != 1 || len(groups[0].Targets) != 1 || groups[0].Targets[0][model.AddressLabel] != "127.0.0.1:9201" ||
			!groups[0].Labels.Equal(want) {
			t.Errorf("file_sd entry %+v, want target 127.0.0.1:9201 with labels %v", groups, want)
		}
	})
	t.Run("epilog removes the task, then the job", func(t *testing.T) {
		dir := t.TempDir()
		runTaskProlog(t, task(dir))
		runTaskProlog(t, task(dir, "SLURM_PROCID=10", "SLURM_LOCALID=2"))
		runTaskProlog(t, task(dir, "SLURM_JOB_ID=78"))
		if _, stderr, err := runSlurmScript(t, "otelcol-gaudi-task-epilog.sh", task(dir)); err != nil {
			t.Fatalf("task epilog: %v\n%s", err, stderr)
		}
		if got := listDir(t, dir); !slices.Equal(got, []string{"77.0.10.json", "78.0.9.json"}) {
			t.Errorf("after the task epilog of job 77 rank 9: %v", got)
		}
		// The node's Epilog runs as root at the job's end, without a task.
		if _, stderr, err := runSlurmScript(t, "otelcol-gaudi-task-epilog.sh", []string{"OTELCOL_GAUDI_TARGETS_DIR=" + dir, "SLURM_JOB_ID=77", "SLURM_PROCID="}); err != nil {
			t.Fatalf("epilog: %v\n%s", err, stderr)
		}
		if got := listDir(t, dir); !slices.Equal(got, []string{"78.0.9.json"}) {
			t.Errorf("after the epilog of job 77: %v, want only job 78's entry", got)
		}
	})
	for _, tc := range []struct{ name, env, reason string }{
		{"job id not a number", "SLURM_JOB_ID=77;rm", "SLURM_JOB_ID is '77;rm', not a number"},
		{"no rank", "SLURM_PROCID=", "SLURM_PROCID is '', not a number"},
		{"port not a number", "TRAINING_METRICS_PORT=92x", "TRAINING_METRICS_PORT is '92x', not a number"},
		{"port out of range", "TRAINING_METRICS_PORT=70000", "port 70000 is out of range"},
		{"no module for the local rank", "HABANA_VISIBLE_MODULES=4", "no module for local rank 1"},
		{"module not a number", "HABANA_VISIBLE_MODULES=4,x", "no module for local rank 1"},
		{"no directory", "OTELCOL_GAUDI_TARGETS_DIR=/nonexistent/otelcol-gaudi", "cannot write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			stdout, stderr, err := runSlurmScript(t, "otelcol-gaudi-task-prolog.sh", task(dir, tc.env))
			if err != nil {
				t.Fatalf("the prolog failed the task (%s); it must exit 0\n%s", exitDescription(err), stderr)
			}
			if stdout != "" || !strings.Contains(stderr, tc.reason) {
				t.Errorf("stdout %q, stderr %q; want nothing exported and a message containing %q", stdout, stderr, tc.reason)
			}
			if got := listDir(t, dir); len(got) != 0 {
				t.Errorf("registered %v", got)
			}
		})
	}
}

// readTargetGroups decodes a file_sd JSON file as Prometheus does.
func readTargetGroups(t *testing.T, path string) []targetgroup.Group {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var groups []targetgroup.Group
	if err := json.Unmarshal(raw, &groups); err != nil {
		t.Fatalf("%s is not file_sd JSON: %v\n%s", path, err, raw)
	}
	return groups
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
