package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// series collects one number over the rounds.
type series []float64

// span is the series as "v" or "min–max", with the given precision.
func (s series) span(decimals int) string {
	if len(s) == 0 {
		return "—"
	}
	lo, hi := slices.Min(s), slices.Max(s)
	f := func(v float64) string { return fmt.Sprintf("%.*f", decimals, v) }
	if f(lo) == f(hi) {
		return f(lo)
	}
	return f(lo) + "–" + f(hi)
}

// byKey groups the rounds' results by scenario key, in the order of the first round.
func byKey(rounds [][]loadResult) (keys []string, out map[string][]loadResult) {
	out = map[string][]loadResult{}
	for _, round := range rounds {
		for _, r := range round {
			if _, seen := out[r.Key]; !seen {
				keys = append(keys, r.Key)
			}
			out[r.Key] = append(out[r.Key], r)
		}
	}
	return keys, out
}

// pick collects f over the rounds' results of a key.
func pick(rs []loadResult, f func(loadResult) float64) series {
	out := make(series, 0, len(rs))
	for _, r := range rs {
		out = append(out, f(r))
	}
	return out
}

// goal is one target of the issue: met when every round meets it.
type goal struct {
	what, want string
	got        series
	decimals   int
	ok         func(float64) bool
}

func (g goal) verdict() string {
	if len(g.got) == 0 {
		return "not measured"
	}
	met := 0
	for _, v := range g.got {
		if g.ok(v) {
			met++
		}
	}
	switch met {
	case len(g.got):
		return "met"
	case 0:
		return "**missed**"
	}
	return fmt.Sprintf("**met in %d of %d rounds**", met, len(g.got))
}

func atMost(limit float64) func(float64) bool  { return func(v float64) bool { return v <= limit } }
func atLeast(limit float64) func(float64) bool { return func(v float64) bool { return v >= limit } }

// goals derives the targets from the results.
func goals(res *results) []goal {
	_, rs := byKey(res.Rounds)
	users := 1
	for _, round := range res.Rounds {
		for _, r := range round {
			users = max(users, r.Users)
		}
	}
	api := func(mode string, u, c int) []loadResult { return rs[fmt.Sprintf("apiserver/%s/%du/%dc", mode, u, c)] }
	var out []goal
	if added := addedSeries(res.Added, "plain-16", "apiserver"); len(added) > 0 {
		out = append(out, goal{"added p50 at 1 client (non-streamed; one client, targets interleaved)", "≤ 0.35 ms", added, 3, atMost(0.35)})
	}
	mixes := []int{users}
	if users != 1 {
		mixes = append(mixes, 1)
	}
	for _, u := range mixes {
		who := fmt.Sprintf("%d users", u)
		if u == 1 {
			who = "1 user"
		}
		if a := api("plain-16", u, 50); len(a) > 0 {
			out = append(out,
				goal{"API server CPU per non-streamed request, 50 clients, " + who, "≤ 400 µs", pick(a, func(r loadResult) float64 { return r.CPUUS }), 0, atMost(400)},
				goal{"PostgreSQL CPU per request, 50 clients, " + who, "≤ 150 µs", pick(a, func(r loadResult) float64 { return r.PGUS }), 0, atMost(150)},
				goal{"metered requests/s at 50 clients, " + who, "≥ 2,500", pick(a, func(r loadResult) float64 { return r.RPS }), 0, atLeast(2500)})
		}
		if a := api("stream-50", u, 50); len(a) > 0 {
			out = append(out, goal{"API server CPU per 50-token stream, 50 clients, " + who, "≤ 600 µs", pick(a, func(r loadResult) float64 { return r.CPUUS }), 0, atMost(600)})
		}
	}
	if len(res.Idle) > 0 {
		first := res.Idle[0]
		var perStream series
		for _, r := range res.Idle {
			if r.Request == first.Request {
				perStream = append(perStream, r.InUseKiBPerStream)
			}
		}
		out = append(out, goal{fmt.Sprintf("memory per idle stream (%d open, %s; resident, in use)", first.Opened, first.Request), "≤ 64 KiB", perStream, 1, atMost(64)})
	}
	if res.Operator != nil {
		out = append(out, goal{fmt.Sprintf("operator writes while idle (%.0f s)", res.Operator.IdleSeconds), "0", series{res.Operator.IdleWrites}, 0, atMost(0)})
	}
	return out
}

// addedSeries collects over the rounds what the target added to the direct median in the mode.
func addedSeries(rounds [][]addedResult, mode, target string) series {
	var out series
	for _, round := range rounds {
		for _, r := range round {
			if r.Mode == mode {
				out = append(out, r.AddedMS[target])
			}
		}
	}
	return out
}

// printAdded prints the interleaved one-client latencies.
func printAdded(w *strings.Builder, rounds [][]addedResult) {
	fmt.Fprintf(w, "\n## Latency at one client, targets interleaved (ranges over %d rounds)\n\n| | direct p50 ms | proxy adds ms | API server adds ms | API server, no quota, adds ms |\n|---|---|---|---|---|\n", len(rounds))
	for _, mode := range []string{"plain-16", "stream-50"} {
		var direct series
		for _, round := range rounds {
			for _, r := range round {
				if r.Mode == mode {
					direct = append(direct, r.P50MS["direct"])
				}
			}
		}
		what := "non-streamed (whole answer)"
		if mode == "stream-50" {
			what = "streamed (first content)"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", what, direct.span(3), addedSeries(rounds, mode, "proxy").span(3),
			addedSeries(rounds, mode, "apiserver").span(3), addedSeries(rounds, mode, "unmetered").span(3))
	}
}

// printReport prints the results as Markdown tables.
func printReport(out io.Writer, res *results) error {
	w := &strings.Builder{}
	fmt.Fprintf(w, "\n## Machine\n\n%s\n", res.Machine)
	if gs := goals(res); len(gs) > 0 {
		fmt.Fprintf(w, "\n## Targets (ranges over %d rounds)\n\n| target | goal | measured | |\n|---|---|---|---|\n", max(len(res.Rounds), 1))
		for _, g := range gs {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", g.what, g.want, g.got.span(g.decimals), g.verdict())
		}
	}
	if len(res.Added) > 0 {
		printAdded(w, res.Added)
	}
	if len(res.Rounds) > 0 {
		printLoad(w, res.Rounds)
	}
	if len(res.Idle) > 0 {
		fmt.Fprintf(w, "\n## Idle streams (API server)\n\n| request | streams open | RSS before | RSS open | per stream | in use per stream | bare proxy per stream | Go heap per stream | stacks per stream | free heap held | goroutines per stream | RSS after closing | goroutines left |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	}
	for _, r := range res.Idle {
		fmt.Fprintf(w, "| %s (%d B) | %d of %d (in %.1f s) | %.1f MiB | %.1f MiB | %.1f KiB | %.1f KiB | %.1f KiB | %.1f KiB | %.1f KiB | %.1f MiB | %.2f | %.1f MiB | %.0f |\n",
			r.Request, r.RequestBytes, r.Opened, r.Streams, r.OpenSeconds, r.RSSBeforeMiB, r.RSSOpenMiB, r.KiBPerStream, r.InUseKiBPerStream, r.ProxyKiBPerStream,
			r.HeapKiBPerStr, r.StackKiBPerStr, r.FreeMiBOpen, r.GoroutinesPer, r.RSSClosedMiB, r.GoroutinesLeft)
	}
	if r := res.Operator; r != nil {
		var methods []string
		for m, v := range r.WritesByMethod {
			methods = append(methods, fmt.Sprintf("%s %.1f", m, v))
		}
		slices.Sort(methods)
		fmt.Fprintf(w, "\n## Operator (%d LLMPlatform objects, envtest)\n\n| reconciled | Ready after workloads ready | reconciles per object | writes per object | manager RSS | Go heap | writes while idle | reconciles while idle |\n|---|---|---|---|---|---|---|---|\n", r.Platforms)
		fmt.Fprintf(w, "| %.1f s | %.1f s | %.1f | %.1f (%s) | %.0f MiB | %.0f MiB | %.0f in %.0f s | %.0f |\n",
			r.ReconciledSeconds, r.ReadySeconds, r.ReconcilesPerObject, r.WritesPerObject, strings.Join(methods, ", "),
			r.RSSMiB, r.HeapMiB, r.IdleWrites, r.IdleSeconds, r.IdleReconciles)
		fmt.Fprintf(w, "\nCreating the %d platforms took %.1f s of the %.1f s.", r.Platforms, r.CreateSeconds, r.ReconciledSeconds)
		if len(r.IdleWritesByResource) > 0 {
			fmt.Fprintf(w, " Writes while idle, as the kube-apiserver counted them (its own Lease renewals included): %s.", joinCounts(r.IdleWritesByResource))
		}
		if len(r.IdleReconcilesByController) > 0 {
			fmt.Fprintf(w, " Reconciles while idle: %s.", joinCounts(r.IdleReconcilesByController))
		}
		fmt.Fprintln(w)
	}
	if r := res.Web; r != nil {
		fmt.Fprintf(w, "\n## Web UI\n\nInitial JavaScript: %.1f kB gzipped in %d files.\n", r.KBGzipped, r.Files)
	}
	for _, p := range res.Profiles {
		fmt.Fprintf(w, "\nProfile: %s", p)
	}
	fmt.Fprintln(w)
	_, err := io.WriteString(out, w.String())
	return err
}

// joinCounts lists counts as "name n, name n" in name order.
func joinCounts(m map[string]float64) string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s %.0f", k, v))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// printLoad prints one table per mode: a row per concurrency and target.
func printLoad(w *strings.Builder, rounds [][]loadResult) {
	keys, rs := byKey(rounds)
	for _, mode := range []string{"plain-16", "stream-50"} {
		title := "Non-streamed, 16-token answers"
		if mode == "stream-50" {
			title = "Streamed, 50 one-token chunks"
		}
		fmt.Fprintf(w, "\n## Load: %s\n\n| clients | target | req/s | p50 ms | p99 ms | first content p50 ms | p99 ms | CPU µs/req | PostgreSQL µs/req | errors |\n|---|---|---|---|---|---|---|---|---|---|\n", title)
		for _, k := range keys {
			r := rs[k]
			if r[0].Mode != mode {
				continue
			}
			name := r[0].Target
			switch name {
			case "apiserver":
				name = fmt.Sprintf("API server, %d user", r[0].Users)
				if r[0].Users > 1 {
					name += "s"
				}
			case "unmetered":
				name = "API server, no quota (diagnostic)"
			}
			errs := 0
			for _, x := range r {
				errs += x.Errors
			}
			fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", r[0].Clients, name,
				pick(r, func(x loadResult) float64 { return x.RPS }).span(0),
				pick(r, func(x loadResult) float64 { return x.P50MS }).span(2),
				pick(r, func(x loadResult) float64 { return x.P99MS }).span(2),
				pick(r, func(x loadResult) float64 { return x.TTFCP50MS }).span(2),
				pick(r, func(x loadResult) float64 { return x.TTFCP99MS }).span(2),
				pick(r, func(x loadResult) float64 { return x.CPUUS }).span(0),
				pick(r, func(x loadResult) float64 { return x.PGUS }).span(0), errs)
		}
	}
	fmt.Fprintf(w, "\nCPU µs/req is the process the requests went through: the mock when direct, the proxy, the API server.\n")
}
