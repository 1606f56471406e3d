package metering

import (
	"math"
	"testing"
	"time"
)

func TestWindowsFollowTheZonesCalendar(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, at                     string
		day, dayEnd, month, monthEnd string
		date                         string
	}{
		{"before midnight UTC, after midnight in Berlin", "2026-03-31T22:30:00Z",
			"2026-04-01T00:00:00+02:00", "2026-04-02T00:00:00+02:00", "2026-04-01T00:00:00+02:00", "2026-05-01T00:00:00+02:00", "2026-04-01"},
		{"the 23-hour day of the spring change", "2026-03-29T12:00:00Z",
			"2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", "2026-03-01T00:00:00+01:00", "2026-04-01T00:00:00+02:00", "2026-03-29"},
		{"new year", "2026-12-31T23:59:59Z",
			"2027-01-01T00:00:00+01:00", "2027-01-02T00:00:00+01:00", "2027-01-01T00:00:00+01:00", "2027-02-01T00:00:00+01:00", "2027-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tc.at)
			w := windowsAt(at, berlin)
			for _, c := range []struct {
				field string
				got   time.Time
				want  string
			}{{"day", w.Day, tc.day}, {"dayEnd", w.DayEnd, tc.dayEnd}, {"month", w.Month, tc.month}, {"monthEnd", w.MonthEnd, tc.monthEnd}} {
				if got := c.got.Format(time.RFC3339); got != c.want {
					t.Errorf("%s = %s, want %s", c.field, got, c.want)
				}
			}
			if got := w.Date.Format(time.DateOnly); got != tc.date {
				t.Errorf("date = %s, want %s", got, tc.date)
			}
			if !w.Minute.Equal(at.Truncate(time.Minute)) || w.MinuteEnd.Sub(w.Minute) != time.Minute {
				t.Errorf("minute window %s..%s", w.Minute, w.MinuteEnd)
			}
		})
	}
}

func TestCostUpRoundsUpAndSaturates(t *testing.T) {
	for _, tc := range []struct{ tokens, price, want int64 }{
		{0, 8_000_000, 0},
		{1, 8_000_000, 8},
		{1, 150_000, 1}, // 0.15 micro-USD rounds up to 1
		{3, 333_333, 1},
		{1_000_000, 150_000, 150_000},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{-5, 100, 0},
	} {
		if got := costUp(tc.tokens, tc.price); got != tc.want {
			t.Errorf("costUp(%d, %d) = %d, want %d", tc.tokens, tc.price, got, tc.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		glob, provider, model string
		want                  bool
	}{
		{"openai/*", "openai", "gpt-4o", true},
		{"openai/*", "anthropic", "claude", false},
		{"gpt-4o*", "openai", "gpt-4o-mini", true},
		{"o*", "openai", "gpt-4o", false}, // "*" does not cross the provider's slash
		{"*", "any", "thing", true},
		{"*/claude-*", "anthropic", "claude-3", true},
		{"[", "openai", "gpt", false}, // malformed: matches nothing
		{"meta/llama", "vllm", "meta/llama", true},
	} {
		if got := GlobMatch(tc.glob, tc.provider, tc.model); got != tc.want {
			t.Errorf("GlobMatch(%q, %q, %q) = %v, want %v", tc.glob, tc.provider, tc.model, got, tc.want)
		}
	}
}
