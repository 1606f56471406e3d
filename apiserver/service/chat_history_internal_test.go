package service

import (
	"reflect"
	"strings"
	"testing"

	"github.com/llmplatform/llmplatform/apiserver/provider"
	"github.com/llmplatform/llmplatform/apiserver/store"
)

func TestPairsLeavesOutUnansweredAndFailedTurns(t *testing.T) {
	turns := []store.Turn{
		{ID: "u1", Role: "user", Content: "one"},
		{ID: "a1", Role: "assistant", Content: "answer one", ReplyTo: "u1", FinishReason: "stop"},
		{ID: "u2", Role: "user", Content: "failed"},
		{ID: "a2", Role: "assistant", Content: "partial", ReplyTo: "u2", FinishReason: FinishError},
		{ID: "u3", Role: "user", Content: "stopped early"},
		{ID: "a3", Role: "assistant", Content: "", ReplyTo: "u3", FinishReason: FinishStopped},
		{ID: "u4", Role: "user", Content: "racing"}, // two sends at once: answers arrive out of order
		{ID: "u5", Role: "user", Content: "stopped late"},
		{ID: "a5", Role: "assistant", Content: "half", ReplyTo: "u5", FinishReason: FinishStopped},
		{ID: "a4", Role: "assistant", Content: "answer four", ReplyTo: "u4", FinishReason: "length"},
		{ID: "u6", Role: "user", Content: "never answered"},
		{ID: "s", Role: "system", Content: "ignored"},
	}
	var got []string
	for _, m := range pairs(turns) {
		got = append(got, m.Role+":"+m.Content)
	}
	want := "user:one|assistant:answer one|user:racing|assistant:answer four|user:stopped late|assistant:half"
	if strings.Join(got, "|") != want {
		t.Errorf("pairs = %s\nwant    %s", strings.Join(got, "|"), want)
	}
}

func TestTrimKeepsNewestPairsThatFit(t *testing.T) {
	msg := func(role string, n int) provider.Message {
		return provider.Message{Role: role, Content: strings.Repeat("abcd", n)}
	}
	history := []provider.Message{msg("user", 10), msg("assistant", 10), msg("user", 20), msg("assistant", 20), msg("user", 5), msg("assistant", 5)}
	turn := msg("user", 10)
	// Each message costs its tokens + 4; the system prompt "" costs 3; the turn 14.
	for _, tc := range []struct {
		window, out int64
		kept        int
		fits        bool
	}{
		{0, 100, 6, true},             // no window: everything
		{1000, 100, 6, true},          // roomy
		{17 + 18 + 100, 100, 2, true}, // the newest pair only (9+9)
		{17 + 18 + 48 + 100, 100, 4, true},
		{17 + 17 + 100, 100, 0, true}, // not even one pair
		{16 + 100, 100, 0, false},     // not even the turn
	} {
		kept, prompt, fits := trim(history, "", turn, tc.window, tc.out)
		if len(kept) != tc.kept || fits != tc.fits {
			t.Errorf("window %d: kept %d (prompt %d), fits %v; want %d, %v", tc.window, len(kept), prompt, fits, tc.kept, tc.fits)
		}
		if fits && tc.window > 0 && prompt+tc.out > tc.window {
			t.Errorf("window %d: prompt %d + answer %d overflow it", tc.window, prompt, tc.out)
		}
		if len(kept) > 0 && !reflect.DeepEqual(kept[len(kept)-1], history[len(history)-1]) {
			t.Errorf("window %d: the newest pair was not kept", tc.window)
		}
	}
}
