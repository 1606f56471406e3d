package metering

import (
	"sync"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/store"
)

// Budget leases. A reservation in the database costs a round trip and about a tenth of a millisecond of the
// database's CPU. Far from every limit, that is not needed for each call: with a reservation, the meter asks
// for a lease too — up to Options.LeaseCalls times the call's worst case of the user's budget (tokens, cost,
// and requests of the current minute), held in the database like the worst cases of calls in flight. It then
// decides the user's next calls by itself, taking each call's worst case from the lease, until the lease runs
// out. The quotas stay exact:
//
//   - A lease is a hold: every replica counts it, so no two processes can grant the same budget, and a dead
//     process's lease stops counting with its instance lease.
//   - The database grants a lease only far from every limit (at most an eighth of what each limit has left,
//     and at least two calls' worth, else none): near a limit every call is decided in the database, one by
//     one, in order, as without leases.
//   - A call decided from a lease gets the output it asked for, as the database would grant it (the lease was
//     taken from room that covers it); its worst case is held and released at settlement as any other.
//   - What a process does not use it gives back: with its next reservation of that user (before the calls are
//     decided), when the lease lies idle for Options.LeaseIdle, when the quotas change, and at Close.
//
// Calls with a user's own key, and users with a Shadow quota (whose would-be refusals need the database's
// count), never use leases. The rate-limit headers of a call decided from a lease show the counts of the
// lease's reservation plus the worst cases granted from it since.

// leaseKey names a lease: a user's budget in a day and a month.
type leaseKey struct {
	user       string
	day, month int64
}

// lease is the free part of a user's lease in this process.
type lease struct {
	// pol and checks are the quotas and counted limits it was leased for; a call with others does not use it.
	pol    *policy
	checks []check
	win    Windows
	// tokens, cost and requests are what is left; requests count in the minute that starts at win.Minute.
	tokens, cost, requests int64
	// used is where each kind of limit stood: requests, day tokens, month tokens, month cost.
	used    [4]int64
	lastUse time.Time
}

// leasePool holds the process's leases.
type leasePool struct {
	mu     sync.Mutex
	leases map[leaseKey]*lease
}

// worstCase is what a call holds: tokens and cost (when a token or cost limit applies), and one request.
type worstCase struct {
	tokens, cost int64
}

// kindOf is a counted limit's index in lease.used.
func kindOf(limit string) int {
	switch limit {
	case LimitRequestsPerMinute:
		return 0
	case LimitTokensPerDay:
		return 1
	case LimitTokensPerMonth:
		return 2
	}
	return 3
}

// sameChecks reports whether two calls have the same counted limits of the same quotas.
func sameChecks(a, b []check) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].q != b[i].q || a[i].limit != b[i].limit {
			return false
		}
	}
	return true
}

func keyOf(user string, w Windows) leaseKey {
	return leaseKey{user, w.Day.UnixNano(), w.Month.UnixNano()}
}

// take decides a call from the user's lease: when the lease was taken for the same quotas and limits and has
// room for the call's worst case, that is taken from it and take returns where the limits stood before the
// call.
func (p *leasePool) take(user string, w Windows, pol *policy, checks []check, wc worstCase, now time.Time) ([4]int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.leases[keyOf(user, w)]
	if l == nil || l.pol != pol || !sameChecks(l.checks, checks) || !l.win.Minute.Equal(w.Minute) ||
		l.requests < 1 || l.tokens < wc.tokens || l.cost < wc.cost {
		return [4]int64{}, false
	}
	used := l.used
	l.requests--
	l.tokens -= wc.tokens
	l.cost -= wc.cost
	l.used[0]++
	l.used[1] += wc.tokens
	l.used[2] += wc.tokens
	l.used[3] += wc.cost
	l.lastUse = now
	return used, true
}

// takeAll empties the user's lease in these windows and returns what it held, to give back to the database
// with the next reservation (requests only when they count in w's minute).
func (p *leasePool) takeAll(user string, w Windows) store.Lease {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.leases[keyOf(user, w)]
	if l == nil {
		return store.Lease{}
	}
	out := store.Lease{Tokens: l.tokens, CostMicros: l.cost}
	if l.win.Minute.Equal(w.Minute) {
		out.Requests = l.requests
	}
	l.tokens, l.cost, l.requests = 0, 0, 0
	return out
}

// add adds a lease granted with a reservation, for calls with checks under pol; used is where the limits
// stand with the reservation's calls included.
func (p *leasePool) add(user string, w Windows, pol *policy, checks []check, granted store.Lease, used [4]int64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leases == nil {
		p.leases = map[leaseKey]*lease{}
	}
	k := keyOf(user, w)
	l := p.leases[k]
	if l == nil {
		l = &lease{}
		p.leases[k] = l
	}
	if !l.win.Minute.Equal(w.Minute) {
		l.requests = 0
	}
	l.pol, l.checks, l.win, l.used, l.lastUse = pol, checks, w, used, now
	l.tokens += granted.Tokens
	l.cost += granted.CostMicros
	l.requests += granted.Requests
}

// release removes the leases that keep returns false for and returns what they held, as releases for the
// usage writer.
func (p *leasePool) release(keep func(*lease) bool) []store.HoldDelta {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []store.HoldDelta
	for k, l := range p.leases {
		if keep(l) {
			continue
		}
		delete(p.leases, k)
		if l.tokens != 0 || l.cost != 0 || l.requests != 0 {
			out = append(out, store.HoldDelta{UserID: k.user, Day: l.win.Day, Month: l.win.Month, Tokens: l.tokens,
				CostMicros: l.cost, Minute: l.win.Minute, Requests: l.requests})
		}
	}
	return out
}
