// Command dev runs the whole platform on this machine (`make dev`, through hack/dev.sh): a local control plane
// with the CRDs, the operator, PostgreSQL, the mock provider and the dev tenant, whose API server runs exactly
// as the operator rendered it (see internal/devenv). It prints the URL, the admin login and the kubeconfig,
// and runs until Ctrl-C; a second Ctrl-C stops everything at once.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/llmplatform/llmplatform/internal/devenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
}

func run() error {
	var o devenv.Options
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.StringVar(&o.Root, "root", ".", "the repository")
	fs.StringVar(&o.StateDir, "state", "", "state directory: kubeconfig, data, logs (default <root>/.dev)")
	fs.StringVar(&o.Binary, "binary", "", "the llmplatform binary with the web UI (default <root>/bin/llmplatform)")
	fs.StringVar(&o.Assets, "assets", "", "directory of kube-apiserver, etcd and kubectl (default $KUBEBUILDER_ASSETS)")
	fs.StringVar(&o.Listen, "listen", devenv.DefaultListen, "the API server's address on this machine")
	fs.StringVar(&o.MockListen, "mock-listen", devenv.DefaultMockAddr, "the mock provider's address")
	fs.StringVar(&o.MetricsListen, "metrics-listen", devenv.DefaultMetricsListen, "the API server's metrics address (port 0: a free port)")
	reset := fs.Bool("reset", false, "delete the state directory first: a fresh control plane and database")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *reset {
		dir := o.StateDir
		if dir == "" {
			dir = o.Root + "/.dev"
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var env *devenv.Env
	started := make(chan struct{})
	go func() {
		<-signals
		fmt.Println("\nStopping (Ctrl-C again to stop at once)…")
		cancel()
		<-signals
		<-started
		if env != nil {
			env.Kill()
		}
	}()

	env, err := devenv.Start(ctx, o)
	close(started)
	if err != nil {
		return err
	}
	fmt.Print(env.Summary())
	select {
	case <-ctx.Done():
	case err = <-env.Failed():
		fmt.Fprintln(os.Stderr, "make dev:", err)
	}
	env.Stop()
	fmt.Println("Stopped.")
	return err
}
