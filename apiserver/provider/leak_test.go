package provider_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llmplatform/llmplatform/apiserver/provider"
)

// TestNoGoroutineGrowthAfterAbortedStreams aborts 1,000 streams mid-answer, half by cancelling the context
// (the client went away) and half by failing emit (a write to the client failed), across every protocol,
// and checks that no goroutine outlives them.
func TestNoGoroutineGrowthAfterAbortedStreams(t *testing.T) {
	_, base := startMock(t)
	tr := provider.NewTransport(provider.TransportOptions{})
	timeouts := provider.Timeouts{FirstByte: 5 * time.Second, BetweenChunks: 5 * time.Second, Total: time.Minute}
	adapters := make([]provider.Adapter, len(protocols))
	for i, p := range protocols {
		adapters[i] = newAdapter(t, p.typ, base+p.path, timeouts, tr)
	}
	errClientGone := errors.New("client gone")
	abort := func(i int) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		call := conversation("mock-chat+tps:200")
		_, err := adapters[i%len(adapters)].Stream(ctx, &call, func(ev provider.Event) error {
			if ev.Text == "" {
				return nil
			}
			if i%2 == 0 {
				cancel()
				return nil
			}
			return errClientGone
		})
		return err
	}
	for i := range 10 { // warm up: the server's and transport's long-lived goroutines start now
		_ = abort(i)
	}
	tr.CloseIdleConnections()
	ignore := goleak.IgnoreCurrent()

	var wrong atomic.Int32
	var wg sync.WaitGroup
	next := atomic.Int32{}
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1)); i <= 1000; i = int(next.Add(1)) {
				err := abort(i)
				if !errors.Is(err, provider.ErrCanceled) && !errors.Is(err, errClientGone) {
					wrong.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := wrong.Load(); n > 0 {
		t.Errorf("%d aborted streams ended with another error than the abort", n)
	}
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}
