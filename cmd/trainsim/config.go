package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Default OTLP endpoints of a collector on the same node, one per protocol.
const (
	defaultGRPCEndpoint = "localhost:4317"
	defaultHTTPEndpoint = "localhost:4318"
)

// Stall modes: a hung job keeps reporting unchanged counters, a silent one stops sending at all.
const (
	stallHang   = "hang"
	stallSilent = "silent"
)

// config is the parsed command line.
type config struct {
	endpoint       string
	protocol       string // grpc or http
	insecure       bool
	caFile         string // TLS: the CA that signed the collector's certificate
	certFile       string // mTLS: this client's certificate and key
	keyFile        string
	tokenFile      string // a bearer token sent as "Authorization: Bearer <token>"
	exportInterval time.Duration

	serviceName string
	jobID       string
	hostName    string
	ranks       int // local ranks this process runs
	nodeRank    int // global rank of local rank i is nodeRank*ranks + i
	worldSize   int
	modules     []int // HABANA_VISIBLE_MODULES: local rank i uses modules[i]
	hpuIndexes  []int // optional: the driver index of local rank i's HPU

	seed      uint64
	batchSize int
	seqLen    int
	interval  time.Duration // nominal batch time
	evalEvery int           // batches between validation passes
	logEvery  int           // batches between progress log records; 0 = none
	jsonLog   string        // also write the records as the original design's JSON lines here

	steps    int           // batches per rank; 0 = unlimited
	duration time.Duration // 0 = until interrupted

	faultRanks []int // global ranks the faults apply to; empty = all
	slowFactor float64
	slowAfter  time.Duration
	stallAfter time.Duration // 0 = never
	stallMode  string
	crashAfter time.Duration // 0 = never
}

// parseConfig parses the command line; env stands in for os.Getenv so tests control the environment.
func parseConfig(args []string, env func(string) string, usage io.Writer) (config, error) {
	var c config
	var modules, hpuIndexes, faultRanks string
	fs := flag.NewFlagSet("trainsim", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.Usage = func() {
		fmt.Fprintln(usage, "trainsim emulates a distributed training job that sends the training metrics contract"+
			" (docs/training-metrics.md) and structured logs over OTLP.\n\nUsage: trainsim [flags]")
		fs.PrintDefaults()
	}

	fs.StringVar(&c.endpoint, "endpoint", defaultGRPCEndpoint, "OTLP `host:port` of the collector ("+defaultHTTPEndpoint+" when -protocol http and this flag is not given)")
	fs.StringVar(&c.protocol, "protocol", "grpc", "OTLP transport: grpc or http")
	fs.BoolVar(&c.insecure, "insecure", true, "plain-text connection (false: TLS with the system's roots, or -ca-file); any TLS flag below implies false")
	fs.StringVar(&c.caFile, "ca-file", "", "TLS: PEM `file` of the CA that signed the collector's certificate (default: the system's roots)")
	fs.StringVar(&c.certFile, "cert-file", "", "mTLS: PEM `file` of this client's certificate (with -key-file)")
	fs.StringVar(&c.keyFile, "key-file", "", "mTLS: PEM `file` of this client's private key (with -cert-file)")
	fs.StringVar(&c.tokenFile, "bearer-token-file", "", "`file` holding a bearer token, sent as \"Authorization: Bearer <token>\" with every export")
	fs.DurationVar(&c.exportInterval, "export-interval", 5*time.Second, "how often metrics and batched log records are sent")

	fs.StringVar(&c.serviceName, "service-name", "trainsim", "service.name of every rank (Loki's main index label)")
	fs.StringVar(&c.jobID, "job-id", "demo-job", "training.job.id")
	fs.StringVar(&c.hostName, "host-name", "", "host.name (default: this machine's hostname)")
	fs.IntVar(&c.ranks, "ranks", 1, "ranks (processes) to emulate on this node, one HPU each")
	fs.IntVar(&c.nodeRank, "node-rank", 0, "this node's index in the job: global rank = node-rank*ranks + local rank")
	fs.IntVar(&c.worldSize, "world-size", 0, "ranks in the whole job (default: -ranks)")
	fs.StringVar(&modules, "visible-modules", env("HABANA_VISIBLE_MODULES"), "comma-separated HPU module ids the job may use; local rank i uses the i-th (default: $HABANA_VISIBLE_MODULES; unset: hpu.module.id is not sent)")
	fs.StringVar(&hpuIndexes, "hpu-indexes", "", "comma-separated driver indexes (hpu.index) of the local ranks' HPUs, when known")

	fs.Uint64Var(&c.seed, "seed", 1, "seed of every simulated value; the same flags and seed give the same values per batch")
	fs.IntVar(&c.batchSize, "batch-size", 32, "samples per batch and rank")
	fs.IntVar(&c.seqLen, "seq-len", 2048, "tokens per sample")
	fs.DurationVar(&c.interval, "interval", time.Second, "nominal time of one batch")
	fs.IntVar(&c.evalEvery, "eval-every", 100, "batches between validation passes (one also runs before the first batch)")
	fs.IntVar(&c.logEvery, "log-every", 10, "batches between progress log records (0: none)")
	fs.StringVar(&c.jsonLog, "json-log", "", "also append every log record to this `file` as the original design's JSON line (\"-\": stderr)")

	fs.IntVar(&c.steps, "steps", 0, "stop each rank after this many batches (0: no limit)")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: run until interrupted)")

	fs.StringVar(&faultRanks, "fault-ranks", "", "comma-separated global ranks the faults below apply to (default: all)")
	fs.Float64Var(&c.slowFactor, "slow-factor", 1, "multiply batch times by this factor once -slow-after has passed")
	fs.DurationVar(&c.slowAfter, "slow-after", 0, "training time after which batches are slowed by -slow-factor")
	fs.DurationVar(&c.stallAfter, "stall-after", 0, "training time after which the faulty ranks stop making progress (0: never)")
	fs.StringVar(&c.stallMode, "stall-mode", stallHang, "hang: keep sending unchanged metrics; silent: stop sending entirely")
	fs.DurationVar(&c.crashAfter, "crash-after", 0, "training time after which a faulty rank crashes and trainsim exits with status 3 (0: never)")

	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["endpoint"] && c.protocol == "http" {
		c.endpoint = defaultHTTPEndpoint
	}
	if tlsFlags := c.caFile != "" || c.certFile != "" || c.keyFile != ""; tlsFlags {
		if set["insecure"] && c.insecure {
			return config{}, errors.New("-insecure=true contradicts -ca-file, -cert-file and -key-file, which need TLS")
		}
		c.insecure = false
	}
	if c.worldSize == 0 {
		c.worldSize = c.ranks
	}
	var err error
	if c.modules, err = parseInts("-visible-modules", modules); err != nil {
		return config{}, err
	}
	if c.hpuIndexes, err = parseInts("-hpu-indexes", hpuIndexes); err != nil {
		return config{}, err
	}
	if c.faultRanks, err = parseInts("-fault-ranks", faultRanks); err != nil {
		return config{}, err
	}
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.protocol == "grpc" || c.protocol == "http", "-protocol %q: want grpc or http", c.protocol)
	check(c.endpoint != "", "-endpoint is empty")
	check(c.exportInterval > 0, "-export-interval must be positive")
	check((c.certFile == "") == (c.keyFile == ""), "-cert-file and -key-file go together")
	check(c.serviceName != "", "-service-name is empty")
	check(c.jobID != "", "-job-id is empty")
	check(c.ranks >= 1, "-ranks %d: want at least 1", c.ranks)
	check(c.nodeRank >= 0, "-node-rank %d: want 0 or more", c.nodeRank)
	check(c.worldSize >= (c.nodeRank+1)*c.ranks, "-world-size %d is smaller than the highest global rank %d plus one", c.worldSize, (c.nodeRank+1)*c.ranks-1)
	check(len(c.modules) == 0 || len(c.modules) >= c.ranks, "-visible-modules lists %d modules for %d local ranks", len(c.modules), c.ranks)
	check(len(c.hpuIndexes) == 0 || len(c.hpuIndexes) >= c.ranks, "-hpu-indexes lists %d indexes for %d local ranks", len(c.hpuIndexes), c.ranks)
	check(c.batchSize >= 1, "-batch-size %d: want at least 1", c.batchSize)
	check(c.seqLen >= 1, "-seq-len %d: want at least 1", c.seqLen)
	check(c.interval > 0, "-interval must be positive")
	check(c.evalEvery >= 1, "-eval-every %d: want at least 1", c.evalEvery)
	check(c.logEvery >= 0, "-log-every %d: want 0 or more", c.logEvery)
	check(c.steps >= 0, "-steps %d: want 0 or more", c.steps)
	check(c.duration >= 0, "-duration must not be negative")
	check(c.slowFactor > 0, "-slow-factor %v: want more than 0", c.slowFactor)
	check(c.slowAfter >= 0 && c.stallAfter >= 0 && c.crashAfter >= 0, "-slow-after, -stall-after and -crash-after must not be negative")
	check(c.stallMode == stallHang || c.stallMode == stallSilent, "-stall-mode %q: want %s or %s", c.stallMode, stallHang, stallSilent)
	return errors.Join(errs...)
}

// hostNameOrDefault is -host-name, or the machine's hostname when the flag is empty.
func (c config) hostNameOrDefault() (string, error) {
	if c.hostName != "" {
		return c.hostName, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("reading the hostname for host.name (set -host-name): %w", err)
	}
	return h, nil
}

// parseInts parses a comma-separated list of non-negative integers; empty means none.
func parseInts(flagName, s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s %q: element %d (%q) is not a non-negative integer", flagName, s, i, p)
		}
		out[i] = n
	}
	return out, nil
}
