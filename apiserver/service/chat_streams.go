package service

import (
	"context"
	"errors"
	"sync"
)

// errStopRequested is the cancellation cause of an answer stopped with POST .../stop.
var errStopRequested = errors.New("stop requested")

// streams tracks the answers being generated on this replica, by conversation, so that a stop (from this
// replica's API, or from another replica through the database's notifications) can cancel them.
type streams struct {
	mu     sync.Mutex
	byConv map[string]map[*activeStream]struct{}
}

type activeStream struct {
	cancel context.CancelCauseFunc
}

func newStreams() *streams { return &streams{byConv: map[string]map[*activeStream]struct{}{}} }

// start registers an answer in a conversation; the returned context is cancelled by a stop. end must be
// called when the answer is over.
func (s *streams) start(ctx context.Context, conversationID string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	a := &activeStream{cancel: cancel}
	s.mu.Lock()
	set := s.byConv[conversationID]
	if set == nil {
		set = map[*activeStream]struct{}{}
		s.byConv[conversationID] = set
	}
	set[a] = struct{}{}
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		// The set is removed only once empty, so a's set is still the conversation's.
		delete(set, a)
		if len(set) == 0 {
			delete(s.byConv, conversationID)
		}
		s.mu.Unlock()
		cancel(nil)
	}
}

// stop cancels every answer being generated in a conversation on this replica.
func (s *streams) stop(conversationID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a := range s.byConv[conversationID] {
		a.cancel(errStopRequested)
	}
}

// count is the number of answers being generated on this replica.
func (s *streams) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, set := range s.byConv {
		n += len(set)
	}
	return n
}
