package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "proxy" {
		if err := runProxy(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench proxy:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	root, bin, out, profile string
	sections                map[string]bool
	rounds                  int
	warmup, duration        time.Duration
	clients                 []int
	users                   int
	streams                 int
	platforms               int
	idle                    time.Duration
	keep                    bool
}

func parseOptions(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.root, "root", ".", "the repository's root")
	fs.StringVar(&o.bin, "llmplatform", "bin/llmplatform", "the llmplatform binary to measure (make build)")
	fs.StringVar(&o.out, "out", "", "write the results as JSON here (default bin/bench/results-<time>.json)")
	fs.StringVar(&o.profile, "profile", "bin/bench/profiles", "save CPU profiles of the API server under load here; empty: none")
	only := fs.String("only", "load,idle,operator,web", "sections to run: load, idle, operator, web")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of the load matrix (tables show the range over the rounds)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "warm-up of each load scenario")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured window of each load scenario")
	clients := fs.String("clients", "1,50,200", "concurrent clients of the load scenarios")
	fs.IntVar(&o.users, "users", 50, "distinct users (tokens) of the realistic mix")
	fs.IntVar(&o.streams, "streams", 5000, "idle streams held open for the memory measurement")
	fs.IntVar(&o.platforms, "platforms", 200, "LLMPlatform objects of the operator benchmark")
	fs.DurationVar(&o.idle, "idle", 30*time.Second, "window in which the idle operator's writes are counted")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (logs, configuration) after a successful run")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	o.sections = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		switch s = strings.TrimSpace(s); s {
		case "load", "idle", "operator", "web":
			o.sections[s] = true
		case "":
		default:
			return nil, fmt.Errorf("-only: unknown section %q", s)
		}
	}
	for _, c := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-clients: %q is not a positive number", c)
		}
		o.clients = append(o.clients, n)
	}
	if o.rounds < 1 || o.users < 1 || o.streams < 1 || o.platforms < 1 {
		return nil, errors.New("-rounds, -users, -streams and -platforms must be positive")
	}
	if o.out == "" {
		o.out = filepath.Join("bin", "bench", "results-"+time.Now().Format("20060102-150405")+".json")
	}
	return o, nil
}

// results is everything one run of the harness measured.
type results struct {
	Machine  machine         `json:"machine"`
	Rounds   [][]loadResult  `json:"rounds,omitempty"`
	Added    [][]addedResult `json:"added_latency,omitempty"`
	Idle     []idleResult    `json:"idle_streams,omitempty"`
	Operator *operatorResult `json:"operator,omitempty"`
	Web      *webResult      `json:"web_ui,omitempty"`
	Profiles []string        `json:"profiles,omitempty"`
}

func run(ctx context.Context, args []string) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: build it first (make build): %w", o.bin, err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "llmplatform-bench-")
	if err != nil {
		return err
	}
	res := &results{Machine: describeMachine()}
	logf("machine: %s; work directory %s", res.Machine, dir)
	err = measure(ctx, o, res, dir, bin, self)
	if err != nil || o.keep {
		logf("logs and configuration kept in %s", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	if perr := printReport(os.Stdout, res); perr != nil {
		return errors.Join(err, perr)
	}
	if werr := writeJSON(o.out, res); werr != nil {
		return errors.Join(err, werr)
	}
	logf("results written to %s", o.out)
	return err
}

// measure runs the chosen sections, filling res as it goes (a failure keeps what was measured before it).
func measure(ctx context.Context, o *options, res *results, dir, bin, self string) error {
	if o.sections["load"] || o.sections["idle"] {
		if err := measureServers(ctx, o, res, dir, bin, self); err != nil {
			return err
		}
	}
	if o.sections["operator"] {
		logf("operator: %d platforms in envtest", o.platforms)
		ob := &operatorBench{root: o.root, dir: dir, bin: bin, n: o.platforms, idle: o.idle}
		r, err := ob.run(ctx)
		if err != nil {
			return fmt.Errorf("operator benchmark: %w", err)
		}
		res.Operator = &r
	}
	if o.sections["web"] {
		r, err := measureWebUI(ctx, o.root)
		if err != nil {
			return err
		}
		res.Web = &r
	}
	return nil
}

// measureServers runs the load rounds, the profiles and the idle streams against one stack.
func measureServers(ctx context.Context, o *options, res *results, dir, bin, self string) error {
	st, err := startStack(ctx, dir, bin, self, o.users)
	defer st.stop()
	if err != nil {
		return err
	}
	if err := st.startAPIServer(ctx, "apiserver"); err != nil {
		return err
	}
	if err := st.createUsers(ctx, o.users); err != nil {
		return err
	}
	if o.sections["load"] {
		lr := &loadRunner{st: st, warmup: o.warmup, duration: o.duration}
		for r := range o.rounds {
			logf("load round %d of %d (load average %s)", r+1, o.rounds, loadAverage())
			added, err := runAdded(ctx, st, o)
			res.Added = append(res.Added, added)
			if err != nil {
				return err
			}
			round, err := runRound(ctx, lr, st, o)
			res.Rounds = append(res.Rounds, round)
			if err != nil {
				return err
			}
		}
		if o.profile != "" {
			paths, err := captureProfiles(ctx, st, o)
			if err != nil {
				return err
			}
			res.Profiles = paths
		}
	}
	if o.sections["idle"] {
		n := o.streams
		if limit := fdLimit(); limit < uint64(n)+1000 {
			n = int(limit) - 1000
			logf("idle streams: the open-files limit (%d) allows %d streams, not %d", limit, n, o.streams)
		}
		// The target's request is measured in every round (how much memory the freed heap holds depends on
		// when the last collection ran), the others once; the first round saves a heap profile.
		profile := o.profile
		for i, req := range idleRequests {
			rounds := 1
			if i == 0 {
				rounds = o.rounds
			}
			for range rounds {
				logf("idle streams: opening %d (%s)", n, req.name)
				r, err := measureIdleStreams(ctx, st, n, req, profile)
				if err != nil {
					return fmt.Errorf("idle streams: %w", err)
				}
				res.Idle = append(res.Idle, r)
				profile = ""
			}
		}
	}
	return nil
}

// allTargets are the three ways to the mock, and the API server for the user whom no quota names.
func allTargets(st *stack) (direct, proxy, api, unmetered *target) {
	direct = &target{name: "direct", url: st.mockURL + "/openai/v1", model: upstreamPlain, streamModel: upstreamStream,
		pid: st.mock.pid(), tokens: []string{"sk-bench"}}
	proxy = &target{name: "proxy", url: st.proxyURL + "/openai/v1", model: upstreamPlain, streamModel: upstreamStream,
		pid: st.proxy.pid(), tokens: []string{"sk-bench"}}
	api = &target{name: "apiserver", url: st.apiURL + "/v1", model: modelPlain, streamModel: modelStream,
		pid: st.api.pid(), tokens: st.tokens}
	unmetered = &target{name: "unmetered", url: api.url, model: modelPlain, streamModel: modelStream,
		pid: st.api.pid(), tokens: []string{st.unmetered}}
	return direct, proxy, api, unmetered
}

// roundScenarios is one round: for each mode and concurrency, the targets one after the other (so that the
// numbers compared are measured close together); the API server with one user and with the mix of users
// (the same at one client), and up to 50 clients, for the user whom no quota names (no reservation).
func roundScenarios(st *stack, o *options) []scenario {
	direct, proxy, api, unmetered := allTargets(st)
	var out []scenario
	for _, stream := range []bool{false, true} {
		for _, c := range o.clients {
			out = append(out, scenario{target: direct, users: 1, stream: stream, clients: c},
				scenario{target: proxy, users: 1, stream: stream, clients: c},
				scenario{target: api, users: 1, stream: stream, clients: c})
			if c > 1 && o.users > 1 {
				out = append(out, scenario{target: api, users: o.users, stream: stream, clients: c})
			}
			if c <= 50 {
				out = append(out, scenario{target: unmetered, users: 1, stream: stream, clients: c})
			}
		}
	}
	return out
}

// runAdded measures, with one client sending to the targets in turn, the latency each adds to the direct
// one: non-streamed (whole answer) and streamed (first content).
func runAdded(ctx context.Context, st *stack, o *options) ([]addedResult, error) {
	direct, proxy, api, unmetered := allTargets(st)
	var out []addedResult
	for _, stream := range []bool{false, true} {
		r, err := measureAdded(ctx, []*target{direct, proxy, api, unmetered}, stream, o.warmup, o.duration)
		if err != nil {
			return out, fmt.Errorf("added latency: %w", err)
		}
		logf("  one client, interleaved, %s: p50 direct %.3f ms; added: proxy %.3f, API server %.3f, no quota %.3f ms",
			r.Mode, r.P50MS["direct"], r.AddedMS["proxy"], r.AddedMS["apiserver"], r.AddedMS["unmetered"])
		out = append(out, r)
	}
	return out, nil
}

func runRound(ctx context.Context, lr *loadRunner, st *stack, o *options) ([]loadResult, error) {
	var out []loadResult
	for _, sc := range roundScenarios(st, o) {
		r, err := lr.run(ctx, sc)
		if err != nil {
			return out, fmt.Errorf("%s: %w", sc.key(), err)
		}
		logf("  %-32s %8.0f req/s  p50 %6.2f ms  p99 %7.2f ms  cpu %6.0f µs  pg %5.0f µs  in db %.3f  errors %d",
			r.Key, r.RPS, r.P50MS, r.P99MS, r.CPUUS, r.PGUS, r.InDB, r.Errors)
		if r.Errors > 0 {
			logf("    first error: %s", r.FirstEr)
		}
		out = append(out, r)
		if err := sleepCtx(ctx, 300*time.Millisecond); err != nil {
			return out, err
		}
	}
	return out, nil
}

// machine describes where the benchmark ran.
type machine struct {
	CPU     string `json:"cpu"`
	Cores   int    `json:"cores"`
	MemGiB  int    `json:"mem_gib"`
	Go      string `json:"go"`
	Kernel  string `json:"kernel"`
	LoadAvg string `json:"load_average_at_start"`
	Started string `json:"started"`
}

func (m machine) String() string {
	return fmt.Sprintf("%d × %s, %d GiB, %s, Linux %s, load average %s", m.Cores, m.CPU, m.MemGiB, m.Go, m.Kernel, m.LoadAvg)
}

func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version(), LoadAvg: loadAverage(), Started: time.Now().UTC().Format(time.RFC3339)}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(data), "MemTotal: %d kB", &kb); err == nil {
			m.MemGiB = (kb + 1<<19) >> 20
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o600)
}

// logf prints progress on stderr; the tables go to stdout.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
