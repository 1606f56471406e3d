// Command bench is `make bench`: it measures the platform against the physical limit and the targets of
// docs/benchmarks.md, in one go, on this machine.
//
// It starts the real processes — PostgreSQL (as internal/testutil/pgtest starts it), the mock provider
// (`llmplatform mock-provider`, zero delay), a bare httputil.ReverseProxy (this program re-executed as
// `bench proxy`, the floor for a Go proxy) and the API server (`llmplatform apiserver` with metering on: a
// quota with every counted limit applies to every call, so every call is reserved — in PostgreSQL, or from a
// budget lease the database granted — settled, and written as a usage record) — and then measures:
//
//   - load: the same OpenAI chat-completions requests sent directly to the mock, through the proxy and
//     through the API server's /v1/chat/completions with personal API tokens (one user, and 50 users as a
//     realistic mix), non-streamed (16-token answers) and streamed (50 one-token chunks), at 1, 50 and 200
//     concurrent clients: throughput, latency p50/p99 and time to first content (exact, from every sample),
//     and CPU per request of the API server (or proxy) and of PostgreSQL (the postmaster and all its
//     backends) from /proc/<pid>/stat;
//   - idle streams: the API server's resident memory per open stream, with 5,000 streams open that the mock
//     never finishes (a fresh API server process, RSS before and after), and the same through a fresh bare
//     proxy (the floor);
//   - the operator: 200 LLMPlatform objects in envtest reconciled by the real `llmplatform operator`
//     process (time to fully reconciled, reconciles and API writes per object from its own metrics, its
//     memory, and its writes while idle);
//   - the web UI: its initial JavaScript, gzipped (frontend/scripts/bundle-size.mjs).
//
// Results are printed as Markdown tables (ranges over -rounds rounds) and saved as JSON. With -profile DIR,
// CPU profiles of the API server under load are saved there (the API server's --pprof-listen).
package main
