package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// idleResult is the API server's memory with streams open that the upstream never finishes.
type idleResult struct {
	// Request describes the streams' requests, of RequestBytes each.
	Request      string `json:"request"`
	RequestBytes int    `json:"request_bytes"`
	Streams      int    `json:"streams"`
	// Opened is how many streams delivered their first content and stayed open.
	Opened       int     `json:"opened"`
	RSSBeforeMiB float64 `json:"rss_before_mib"`
	RSSOpenMiB   float64 `json:"rss_open_mib"`
	KiBPerStream float64 `json:"kib_per_stream"`
	// InUseKiBPerStream is resident memory in use per stream: the resident memory without the heap that the
	// Go runtime freed and keeps for reuse (how much of it there is depends on when the last collection ran).
	InUseKiBPerStream float64 `json:"in_use_kib_per_stream"`
	HeapKiBPerStr     float64 `json:"heap_kib_per_stream"`
	StackKiBPerStr    float64 `json:"stack_kib_per_stream"`
	// FreeMiBOpen is heap memory the Go runtime holds free but has not returned to the system, streams open.
	FreeMiBOpen    float64 `json:"free_heap_mib_open"`
	GoroutinesPer  float64 `json:"goroutines_per_stream"`
	OpenSeconds    float64 `json:"open_seconds"`
	RSSClosedMiB   float64 `json:"rss_closed_mib"`
	GoroutinesLeft float64 `json:"goroutines_after_close"`
	// ProxyKiBPerStream is the same through a bare proxy: the floor.
	ProxyKiBPerStream float64 `json:"proxy_kib_per_stream"`
	// Profiles are the heap profile taken with the streams open, and its top allocations.
	Profiles []string `json:"profiles,omitempty"`
}

// idleRequest is the request of the idle streams: the load's request (one short message), or a conversation
// of about conversation bytes (four messages) when it is positive.
type idleRequest struct {
	name         string
	conversation int
}

// body is the request's body for model.
func (r idleRequest) body(model string) []byte {
	if r.conversation <= 0 {
		return requestBody(model, true)
	}
	text := strings.Repeat("lorem ipsum dolor sit amet ", r.conversation/4/27+1)
	return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"system","content":%q},{"role":"user","content":%q},`+
		`{"role":"assistant","content":%q},{"role":"user","content":%q}],"max_tokens":50,"stream":true}`, model, text, text, text, text)
}

// idleRequests are the requests the idle streams are measured with: the target is measured with the first.
var idleRequests = []idleRequest{{name: "one short message"}, {name: "8 KiB conversation", conversation: 8 << 10}}

// measureIdleStreams starts a fresh API server, warms it with ordinary calls, then opens n streams of the
// mock's idle model (first token at once, the next after 1,000 s) with request r and reads the server's
// resident memory before and after. The streams are spread over the users' tokens. The same through a fresh
// bare proxy gives the floor. A heap profile is saved under profileDir unless it is empty.
func measureIdleStreams(ctx context.Context, st *stack, n int, r idleRequest, profileDir string) (idleResult, error) {
	res := idleResult{Request: r.name, RequestBytes: len(r.body(modelIdle)), Streams: n}
	floor, err := measureIdleProxy(ctx, st, n, r)
	if err != nil {
		return res, err
	}
	res.ProxyKiBPerStream = floor
	if err := st.startAPIServer(ctx, "apiserver-idle"); err != nil {
		return res, err
	}
	warm := &loadRunner{st: st, warmup: 500 * time.Millisecond, duration: 2 * time.Second}
	api := &target{name: "apiserver", url: st.apiURL + "/v1", model: modelPlain, streamModel: modelStream, tokens: st.tokens, pid: st.api.pid()}
	if _, err := warm.run(ctx, scenario{target: api, users: len(st.tokens), stream: true, clients: 20}); err != nil {
		return res, err
	}
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return res, err
	}
	before, err := st.apiMemory(ctx)
	if err != nil {
		return res, err
	}
	started := time.Now()
	opened, closeAll := openStreams(ctx, api.url+"/chat/completions", r.body(modelIdle), st.tokens, n)
	res.OpenSeconds = time.Since(started).Seconds()
	res.Opened = opened
	_ = sleepCtx(ctx, 3*time.Second)
	open, err := st.apiMemory(ctx)
	if err == nil && profileDir != "" {
		res.Profiles, err = saveHeapProfile(ctx, st.pprofURL, filepath.Join(profileDir, "apiserver-idle-streams.heap.pprof"))
	}
	closeAll()
	if err != nil {
		return res, err
	}
	_ = sleepCtx(ctx, 3*time.Second)
	closed, _ := st.apiMemory(ctx)
	if res.Opened == 0 {
		return res, fmt.Errorf("no stream opened; see %s", st.api.log)
	}
	k := float64(res.Opened)
	res.RSSBeforeMiB, res.RSSOpenMiB, res.RSSClosedMiB = before.rss/(1<<20), open.rss/(1<<20), closed.rss/(1<<20)
	res.KiBPerStream = (open.rss - before.rss) / 1024 / k
	res.InUseKiBPerStream = ((open.rss - open.free) - (before.rss - before.free)) / 1024 / k
	res.HeapKiBPerStr = (open.heap - before.heap) / 1024 / k
	res.StackKiBPerStr = (open.stack - before.stack) / 1024 / k
	res.FreeMiBOpen = open.free / (1 << 20)
	res.GoroutinesPer = (open.goroutines - before.goroutines) / k
	res.GoroutinesLeft = closed.goroutines - before.goroutines
	return res, nil
}

// measureIdleProxy is the floor of memory per idle stream: a fresh bare proxy, warmed with streams, and its
// resident memory before and after n idle streams opened through it.
func measureIdleProxy(ctx context.Context, st *stack, n int, r idleRequest) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	proxy, url, err := st.listen(ctx, "proxy-idle", nil, self, "proxy", "-upstream="+st.mockURL)
	if err != nil {
		return 0, err
	}
	defer proxy.stop(10 * time.Second)
	if err := proxy.waitReady(ctx, url+"/healthz", 30*time.Second); err != nil {
		return 0, err
	}
	warm := &loadRunner{st: st, warmup: 500 * time.Millisecond, duration: 2 * time.Second}
	t := &target{name: "proxy", url: url + "/openai/v1", model: upstreamPlain, streamModel: upstreamStream, tokens: []string{"sk-bench"}, pid: proxy.pid()}
	if _, err := warm.run(ctx, scenario{target: t, users: 1, stream: true, clients: 20}); err != nil {
		return 0, err
	}
	if err := sleepCtx(ctx, 3*time.Second); err != nil {
		return 0, err
	}
	before, err := rssBytes(proxy.pid())
	if err != nil {
		return 0, err
	}
	opened, closeAll := openStreams(ctx, t.url+"/chat/completions", r.body(upstreamIdle), t.tokens, n)
	defer closeAll()
	_ = sleepCtx(ctx, 3*time.Second)
	open, err := rssBytes(proxy.pid())
	if err != nil || opened == 0 {
		return 0, fmt.Errorf("idle streams through the proxy: %d opened, %w", opened, err)
	}
	return float64(open-before) / 1024 / float64(opened), nil
}

// openStreams opens n streams at url with body, 200 at a time, spread over the tokens, and waits (at most
// two minutes) until each delivered its first content. It returns how many did, and a function that closes
// them all and waits until they are closed.
func openStreams(ctx context.Context, url string, body []byte, tokens []string, n int) (int, func()) {
	streamCtx, cancel := context.WithCancel(ctx)
	transport := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	client := &http.Client{Transport: transport}
	var opened atomic.Int64
	var wg sync.WaitGroup
	started := time.Now()
	gate := make(chan struct{}, 200)
	for i := range n {
		gate <- struct{}{}
		wg.Go(func() { openIdleStream(streamCtx, client, url, tokens[i%len(tokens)], body, &opened, gate) })
	}
	for opened.Load() < int64(n) && time.Since(started) < 2*time.Minute && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	return int(opened.Load()), func() {
		cancel()
		wg.Wait()
		transport.CloseIdleConnections()
	}
}

// openIdleStream opens one stream, counts it once its first content arrives, and holds it until ctx ends.
func openIdleStream(ctx context.Context, client *http.Client, url, token string, body []byte, opened *atomic.Int64, gate chan struct{}) {
	release := sync.OnceFunc(func() { <-gate })
	defer release()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return
	}
	r := bufio.NewReader(res.Body)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if i := bytes.Index(line, contentMark); i >= 0 && i+len(contentMark) < len(line) && line[i+len(contentMark)] != '"' {
			break
		}
	}
	opened.Add(1)
	release()
	_, _ = io.Copy(io.Discard, r) // returns when ctx ends (or, wrongly, when the server ends the stream)
}

// memory is a reading of the API server's memory: resident, Go heap in use, goroutine stacks, heap held
// free and not returned to the system, goroutines.
type memory struct{ rss, heap, stack, free, goroutines float64 }

// apiMemory reads the API server's resident memory from /proc and its Go heap and goroutines from /metrics.
func (s *stack) apiMemory(ctx context.Context) (memory, error) {
	rss, err := rssBytes(s.api.pid())
	if err != nil {
		return memory{}, err
	}
	m, err := scrape(ctx, s.apiURL+"/metrics")
	if err != nil {
		return memory{}, err
	}
	return memory{rss: float64(rss), heap: m["go_memstats_heap_inuse_bytes"], stack: m["go_memstats_stack_inuse_bytes"],
		free: m["go_memstats_heap_idle_bytes"] - m["go_memstats_heap_released_bytes"], goroutines: m["go_goroutines"]}, nil
}

// scrape reads a Prometheus text exposition into series name (with labels, as written) → value.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return parseMetrics(res.Body)
}

// parseMetrics parses the Prometheus text format, keeping each sample line's series and value.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// fdLimit is the soft limit of open files of this process (Go raises it to the hard limit at start-up).
func fdLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return lim.Cur
}
