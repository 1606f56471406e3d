package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRSSOfThisProcess(t *testing.T) {
	rss, err := rssBytes(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("rss %d, %v; want at least 1 MiB", rss, err)
	}
}

func TestParseVmRSS(t *testing.T) {
	n, err := parseVmRSS(strings.NewReader("Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t   2048 kB\n"))
	if err != nil || n != 2048<<10 {
		t.Errorf("got %d, %v; want %d", n, err, 2048<<10)
	}
	if _, err := parseVmRSS(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("no VmRSS line parsed")
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 200; i++ {
		s = append(s, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 100}, {99, 198}, {100, 200}, {0, 1}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %d, want %d", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestParseMetricsAndLabels(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"} 1.5e+03
controller_runtime_reconcile_total{controller="llmplatform",result="success"} 7
`))
	if err != nil {
		t.Fatal(err)
	}
	if m["go_goroutines"] != 42 {
		t.Errorf("go_goroutines = %v", m["go_goroutines"])
	}
	series := `rest_client_requests_total{code="201",host="127.0.0.1:6443",method="POST"}`
	if m[series] != 1500 || labelValue(series, "method") != "POST" || labelValue(series, "verb") != "" {
		t.Errorf("series %v, method %q", m[series], labelValue(series, "method"))
	}
}

func TestGoalsNeedEveryRound(t *testing.T) {
	g := goal{got: series{390, 410}, ok: atMost(400)}
	if v := g.verdict(); !strings.Contains(v, "1 of 2") {
		t.Errorf("verdict %q, want met in 1 of 2 rounds", v)
	}
	if s := g.got.span(0); s != "390–410" {
		t.Errorf("span %q", s)
	}
	if v := (goal{got: series{2600}, ok: atLeast(2500)}).verdict(); v != "met" {
		t.Errorf("verdict %q", v)
	}
}

func TestIdleRequestsAreChatBodies(t *testing.T) {
	for _, r := range idleRequests {
		body := r.body("m")
		var v struct {
			Model    string           `json:"model"`
			Stream   bool             `json:"stream"`
			Messages []map[string]any `json:"messages"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.Model != "m" || !v.Stream || len(v.Messages) == 0 {
			t.Errorf("%s: %s (%v)", r.name, body, err)
		}
		if r.conversation > 0 && (len(body) < r.conversation || len(body) > r.conversation+r.conversation/4) {
			t.Errorf("%s: %d bytes, want about %d", r.name, len(body), r.conversation)
		}
	}
}
