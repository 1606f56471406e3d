package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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
	Streams int `json:"streams"`
	// Opened is how many streams delivered their first content and stayed open.
	Opened         int     `json:"opened"`
	RSSBeforeMiB   float64 `json:"rss_before_mib"`
	RSSOpenMiB     float64 `json:"rss_open_mib"`
	KiBPerStream   float64 `json:"kib_per_stream"`
	HeapKiBPerStr  float64 `json:"heap_kib_per_stream"`
	GoroutinesPer  float64 `json:"goroutines_per_stream"`
	OpenSeconds    float64 `json:"open_seconds"`
	RSSClosedMiB   float64 `json:"rss_closed_mib"`
	GoroutinesLeft float64 `json:"goroutines_after_close"`
	// Profiles are the heap profile taken with the streams open, and its top allocations.
	Profiles []string `json:"profiles,omitempty"`
}

// measureIdleStreams starts a fresh API server, warms it with ordinary calls, then opens n streams of the
// mock's idle model (first token at once, the next after 1,000 s) and reads the server's resident memory
// before and after. The streams are spread over the users' tokens.
func measureIdleStreams(ctx context.Context, st *stack, n int, profileDir string) (idleResult, error) {
	res := idleResult{Streams: n}
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

	streamCtx, cancel := context.WithCancel(ctx)
	transport := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	client := &http.Client{Transport: transport}
	var opened atomic.Int64
	var wg sync.WaitGroup
	started := time.Now()
	gate := make(chan struct{}, 200) // streams being opened at once
	body := requestBody(modelIdle, true)
	for i := range n {
		gate <- struct{}{}
		wg.Go(func() {
			openIdleStream(streamCtx, client, st.apiURL+"/v1/chat/completions", st.tokens[i%len(st.tokens)], body, &opened, gate)
		})
	}
	for opened.Load() < int64(n) && time.Since(started) < 2*time.Minute && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	res.OpenSeconds = time.Since(started).Seconds()
	res.Opened = int(opened.Load())
	_ = sleepCtx(ctx, 3*time.Second)
	open, err := st.apiMemory(ctx)
	if err == nil && profileDir != "" {
		res.Profiles, err = saveHeapProfile(ctx, st.pprofURL, filepath.Join(profileDir, "apiserver-idle-streams.heap.pprof"))
	}
	cancel()
	wg.Wait()
	transport.CloseIdleConnections()
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
	res.HeapKiBPerStr = (open.heap - before.heap) / 1024 / k
	res.GoroutinesPer = (open.goroutines - before.goroutines) / k
	res.GoroutinesLeft = closed.goroutines - before.goroutines
	return res, nil
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

// memory is a reading of the API server's memory.
type memory struct{ rss, heap, goroutines float64 }

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
	return memory{rss: float64(rss), heap: m["go_memstats_heap_inuse_bytes"], goroutines: m["go_goroutines"]}, nil
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
