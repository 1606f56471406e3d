package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmplatform/llmplatform/internal/testutil/procstat"
)

// target is where a scenario sends its requests.
type target struct {
	// name is "direct", "proxy" or "apiserver".
	name string
	url  string
	// model and streamModel are the model names of non-streamed and streamed requests.
	model, streamModel string
	// pid is the process whose CPU is counted per request (0: none).
	pid int
	// tokens are the Bearer tokens the clients use, client i the token i % len(tokens).
	tokens []string
}

// scenario is one load run.
type scenario struct {
	target  *target
	users   int
	stream  bool
	clients int
}

// key names the scenario in tables and results.
func (sc scenario) key() string {
	return fmt.Sprintf("%s/%s/%du/%dc", sc.target.name, sc.mode(), sc.users, sc.clients)
}

func (sc scenario) mode() string {
	if sc.stream {
		return "stream-50"
	}
	return "plain-16"
}

// requestBody is the same request for every target but the model name: a short prompt, the answer bounded,
// and for streams the usage chunk asked for, as programs do.
func requestBody(model string, stream bool) []byte {
	if stream {
		return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":"Say hello"}],"max_tokens":50,"stream":true,"stream_options":{"include_usage":true}}`, model)
	}
	return fmt.Appendf(nil, `{"model":%q,"messages":[{"role":"user","content":"Say hello"}],"max_tokens":16}`, model)
}

// loadResult is what one scenario measured.
type loadResult struct {
	Key      string  `json:"key"`
	Target   string  `json:"target"`
	Mode     string  `json:"mode"`
	Users    int     `json:"users"`
	Clients  int     `json:"clients"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	// Latencies in milliseconds: the whole request, and the time to the first content (the first chunk
	// carrying answer text for streams, the first byte of the body otherwise).
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	TTFCP50MS float64 `json:"ttfc_p50_ms"`
	TTFCP99MS float64 `json:"ttfc_p99_ms"`
	// CPU per request in microseconds: of the target process (API server or proxy; the mock when direct), of
	// PostgreSQL (postmaster and backends) and of the mock.
	CPUUS  float64 `json:"cpu_us"`
	PGUS   float64 `json:"pg_us"`
	MockUS float64 `json:"mock_us"`
	// InDB is the share of requests whose quota reservation was decided in PostgreSQL rather than from a
	// lease (the API server's llmplatform_quota_reserve_seconds_count).
	InDB    float64 `json:"decided_in_db"`
	Load    string  `json:"load_average"`
	FirstEr string  `json:"first_error,omitempty"`
}

// loadRunner runs scenarios against a stack.
type loadRunner struct {
	st       *stack
	warmup   time.Duration
	duration time.Duration
}

// sample is one finished request.
type sample struct {
	total, ttfc time.Duration
}

// run runs one scenario: the clients send requests back to back for the warm-up, then for the measured
// window; the requests that finish inside the window are counted (throughput is completions per second),
// and CPU is read at its two ends.
func (lr *loadRunner) run(ctx context.Context, sc scenario) (loadResult, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: sc.clients + 8, DisableCompression: true, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	model := sc.target.model
	if sc.stream {
		model = sc.target.streamModel
	}
	body := requestBody(model, sc.stream)
	url := sc.target.url + "/chat/completions"

	// phase: 0 warming up, 1 measuring, 2 stopping.
	var phase atomic.Int32
	perClient := make([][]sample, sc.clients)
	var errCount atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for i := range sc.clients {
		tok := ""
		if n := len(sc.target.tokens); n > 0 {
			tok = sc.target.tokens[i%min(n, sc.users)]
		}
		wg.Go(func() {
			buf := make([]sample, 0, 4096)
			for ctx.Err() == nil && phase.Load() != 2 {
				s, err := doRequest(ctx, client, url, tok, body, sc.stream)
				if phase.Load() != 1 {
					continue // finished outside the measured window
				}
				if err != nil {
					if errCount.Add(1) == 1 {
						firstErr.Store(&err)
					}
					continue
				}
				buf = append(buf, s)
			}
			perClient[i] = buf
		})
	}
	stopAll := func() {
		phase.Store(2)
		wg.Wait()
	}
	if err := sleepCtx(ctx, lr.warmup); err != nil {
		stopAll()
		return loadResult{}, err
	}
	before := lr.readCPU(ctx, sc.target)
	start := time.Now()
	phase.Store(1)
	err := sleepCtx(ctx, lr.duration)
	phase.Store(2)
	elapsed := time.Since(start)
	after := lr.readCPU(ctx, sc.target)
	stopAll()
	if err != nil {
		return loadResult{}, err
	}
	res := summarize(sc, perClient, elapsed)
	res.Errors = int(errCount.Load())
	if e := firstErr.Load(); e != nil {
		res.FirstEr = (*e).Error()
	}
	if n := float64(res.Requests); n > 0 {
		res.CPUUS = us(after.target-before.target) / n
		res.PGUS = us(after.pg-before.pg) / n
		res.MockUS = us(after.mock-before.mock) / n
		res.InDB = (after.reserves - before.reserves) / n
	}
	res.Load = loadAverage()
	return res, nil
}

// cpuReading is the CPU time of the processes a scenario accounts for, and the API server's count of
// reservations in the database.
type cpuReading struct {
	target, pg, mock time.Duration
	reserves         float64
}

func (lr *loadRunner) readCPU(ctx context.Context, t *target) cpuReading {
	r := cpuReading{pg: procstat.TreeCPU(lr.st.postmaster), mock: procstat.ProcessCPU(lr.st.mock.pid())}
	if t.pid != 0 {
		r.target = procstat.ProcessCPU(t.pid)
	}
	if t.pid == lr.st.api.pid() {
		if m, err := scrape(ctx, lr.st.apiURL+"/metrics"); err == nil {
			r.reserves = m["llmplatform_quota_reserve_seconds_count"]
		}
	}
	return r
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// summarize merges the clients' samples into exact percentiles (every sample is kept and sorted).
func summarize(sc scenario, perClient [][]sample, elapsed time.Duration) loadResult {
	var total, ttfc []time.Duration
	for _, c := range perClient {
		for _, s := range c {
			total = append(total, s.total)
			ttfc = append(ttfc, s.ttfc)
		}
	}
	slices.Sort(total)
	slices.Sort(ttfc)
	return loadResult{
		Key: sc.key(), Target: sc.target.name, Mode: sc.mode(), Users: sc.users, Clients: sc.clients,
		Requests: len(total), Seconds: elapsed.Seconds(), RPS: float64(len(total)) / elapsed.Seconds(),
		P50MS: ms(percentile(total, 50)), P99MS: ms(percentile(total, 99)),
		TTFCP50MS: ms(percentile(ttfc, 50)), TTFCP99MS: ms(percentile(ttfc, 99)),
	}
}

// percentile is the nearest-rank percentile p of sorted samples (0 when there are none).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// doRequest sends one request and reads the whole answer, checking that it is a complete one.
func doRequest(ctx context.Context, client *http.Client, url, token string, body []byte, stream bool) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return sample{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return sample{}, fmt.Errorf("%s: %s", res.Status, data)
	}
	if stream {
		return readStream(res.Body, start)
	}
	return readPlain(res.Body, start)
}

var errIncomplete = errors.New("incomplete answer")

// readPlain reads a non-streamed answer; its first content is its first byte.
func readPlain(body io.Reader, start time.Time) (sample, error) {
	var buf [16 << 10]byte
	n, err := io.ReadAtLeast(body, buf[:], 1)
	if err != nil {
		return sample{}, err
	}
	ttfc := time.Since(start)
	rest, err := io.ReadAll(body)
	if err != nil {
		return sample{}, err
	}
	if !bytes.Contains(buf[:n], []byte(`"content":`)) && !bytes.Contains(rest, []byte(`"content":`)) {
		return sample{}, errIncomplete
	}
	return sample{total: time.Since(start), ttfc: ttfc}, nil
}

// contentMark starts a non-empty text delta in an OpenAI chunk.
var contentMark = []byte(`"content":"`)

// readStream reads an SSE answer to its "data: [DONE]"; its first content is the first chunk whose delta
// carries text.
func readStream(body io.Reader, start time.Time) (sample, error) {
	r := bufio.NewReaderSize(body, 4096)
	var ttfc time.Duration
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return sample{}, fmt.Errorf("%w: %w", errIncomplete, err)
		}
		if !bytes.HasPrefix(line, []byte("data: ")) {
			continue
		}
		if bytes.HasPrefix(line, []byte("data: [DONE]")) {
			if ttfc == 0 {
				return sample{}, errIncomplete
			}
			return sample{total: time.Since(start), ttfc: ttfc}, nil
		}
		if ttfc == 0 {
			if i := bytes.Index(line, contentMark); i >= 0 && i+len(contentMark) < len(line) && line[i+len(contentMark)] != '"' {
				ttfc = time.Since(start)
			}
		}
	}
}
