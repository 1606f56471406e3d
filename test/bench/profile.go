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

// captureProfiles runs the API server's non-streamed and streamed scenarios at 50 clients with the mix of
// users once more, outside the rounds (profiling costs a little CPU), with a CPU profile of the API server
// taken meanwhile. It saves each profile and its top functions (go tool pprof -top) in o.profile.
func captureProfiles(ctx context.Context, st *stack, o *options) ([]string, error) {
	if err := os.MkdirAll(o.profile, 0o755); err != nil {
		return nil, err
	}
	_, _, api := targets(st)
	run := &loadRunner{st: st, warmup: time.Second, duration: (profileSeconds + 2) * time.Second}
	var paths []string
	for _, stream := range []bool{false, true} {
		sc := scenario{target: api, users: o.users, stream: stream, clients: 50}
		path := filepath.Join(o.profile, "apiserver-"+sc.mode()+".pprof")
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
			out, err := exec.CommandContext(ctx, "go", append(args, path)...).CombinedOutput()
			if err != nil {
				return paths, fmt.Errorf("go tool pprof: %w: %s", err, out)
			}
			if err := os.WriteFile(path+view.suffix, out, 0o644); err != nil {
				return paths, err
			}
			paths = append(paths, path+view.suffix)
		}
	}
	return paths, nil
}

// fetchProfile saves a CPU profile of profileSeconds from a /debug/pprof endpoint.
func fetchProfile(ctx context.Context, base, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, profileSeconds), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
