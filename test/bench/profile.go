package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// profileSeconds is the length of each CPU profile.
const profileSeconds = 8

// captureProfiles runs API server scenarios once more, outside the rounds (profiling costs a little CPU),
// with a CPU profile of the API server taken meanwhile: non-streamed at 1 client and, with the mix of users,
// non-streamed and streamed at 50. It saves each profile and its top functions (go tool pprof -top, flat and
// cumulative) in o.profile; and at 1 client for the unmetered user, to compare.
func captureProfiles(ctx context.Context, st *stack, o *options) ([]string, error) {
	if err := os.MkdirAll(o.profile, 0o750); err != nil { //nolint:gosec // the directory the -profile flag names
		return nil, err
	}
	_, _, api, unmetered := allTargets(st)
	run := &loadRunner{st: st, warmup: time.Second, duration: (profileSeconds + 2) * time.Second}
	var paths []string
	for _, sc := range []scenario{
		{target: api, users: 1, clients: 1},
		{target: unmetered, users: 1, clients: 1},
		{target: api, users: o.users, clients: 50},
		{target: api, users: o.users, stream: true, clients: 50},
	} {
		path := filepath.Join(o.profile, fmt.Sprintf("%s-%s-%dc.pprof", sc.target.name, sc.mode(), sc.clients))
		logf("profiling %s", sc.key())
		errc := make(chan error, 1)
		go func() {
			if err := sleepCtx(ctx, 2*time.Second); err != nil {
				errc <- err
				return
			}
			errc <- fetchProfile(ctx, st.pprofURL, path)
		}()
		if _, err := run.run(ctx, sc); err != nil {
			return paths, err
		}
		if err := <-errc; err != nil {
			return paths, err
		}
		paths = append(paths, path)
		for _, view := range []struct{ suffix, flag string }{{".top.txt", "-top"}, {".cum.txt", "-cum"}} {
			args := []string{"tool", "pprof", "-top", "-nodecount=45"}
			if view.flag == "-cum" {
				args = append(args, "-cum")
			}
			out, err := exec.CommandContext(ctx, "go", append(args, path)...).CombinedOutput() //nolint:gosec // go tool pprof on the profile just saved
			if err != nil {
				return paths, fmt.Errorf("go tool pprof: %w: %s", err, out)
			}
			if err := os.WriteFile(path+view.suffix, out, 0o600); err != nil { //nolint:gosec // under the -profile directory
				return paths, err
			}
			paths = append(paths, path+view.suffix)
		}
	}
	return paths, nil
}

// fetchProfile saves a CPU profile of profileSeconds from a /debug/pprof endpoint.
func fetchProfile(ctx context.Context, base, path string) error {
	return fetchTo(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, profileSeconds), path)
}

// saveHeapProfile saves the heap profile of a /debug/pprof endpoint, after a collection so that it shows
// what is live, and its top allocations in use (go tool
// pprof -top -sample_index=inuse_space) next to it.
func saveHeapProfile(ctx context.Context, base, path string) ([]string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil { //nolint:gosec // under the -profile directory
		return nil, err
	}
	if err := fetchTo(ctx, base+"/debug/pprof/heap?gc=1", path); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=30", "-sample_index=inuse_space", path).CombinedOutput() //nolint:gosec // go tool pprof on the profile just saved
	if err != nil {
		return nil, fmt.Errorf("go tool pprof: %w: %s", err, out)
	}
	if err := os.WriteFile(path+".top.txt", out, 0o600); err != nil { //nolint:gosec // under the -profile directory
		return nil, err
	}
	return []string{path, path + ".top.txt"}, nil
}

// fetchTo saves what url answers in path.
func fetchTo(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", res.Status)
	}
	f, err := os.Create(path) //nolint:gosec // a path under the -profile directory
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
