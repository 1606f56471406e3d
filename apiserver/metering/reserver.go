package metering

import (
	"context"
	"sync"
	"time"

	"github.com/llmplatform/llmplatform/apiserver/store"
)

// maxReserveBatch bounds the calls reserved in one database call.
const maxReserveBatch = 100

// reserveTimeout bounds one database reservation. The caller's cancellation does not apply: a batch serves
// several callers, and one of them going away must not fail the others.
const reserveTimeout = 30 * time.Second

// reserver reserves the calls of one user that arrive while a reservation of that user is in the database
// together, in the next database call (group commit): under load, one user's concurrent calls cost one round
// trip, one lock and one write per batch instead of per call, and they do not queue for the user's lock in
// the database one by one. The function decides the calls of a batch in order, so the result is exactly that
// of reserving them one after the other.
type reserver struct {
	store    Store
	instance string
	// leaseCalls is how many worst cases of its leasing call a batch asks to lease.
	leaseCalls int
	mu         sync.Mutex
	queues     map[batchKey]*batchQueue
}

// batchKey groups calls that can be reserved together: same user, same windows.
type batchKey struct {
	user               string
	minute, day, month int64
}

// batchQueue is the calls of one key waiting for the database, and whether a batch of that key is in it.
type batchQueue struct {
	waiting []*pendingCall
	busy    bool
	batch   store.ReserveBatch
}

// pendingCall is one call waiting for its reservation: with the free lease it gives back, and whether it
// asks for a lease (then it receives the lease granted, if it is the batch's leasing call).
type pendingCall struct {
	call      store.ReserveCall
	release   store.Lease
	wantLease bool
	done      chan struct{}
	res       store.ReserveResult
	lease     store.Lease
	err       error
}

// reserve reserves one call in the windows w, together with the user's other calls waiting meanwhile. It
// waits for the database even when ctx ends: the batch may hold other callers' calls.
func (r *reserver) reserve(ctx context.Context, userID string, w Windows, call store.ReserveCall, release store.Lease,
	wantLease bool) (store.ReserveResult, store.Lease, error) {
	key := batchKey{userID, w.Minute.UnixNano(), w.Day.UnixNano(), w.Month.UnixNano()}
	p := &pendingCall{call: call, release: release, wantLease: wantLease, done: make(chan struct{})}
	r.mu.Lock()
	q := r.queues[key]
	if q == nil {
		q = &batchQueue{batch: store.ReserveBatch{InstanceID: r.instance, UserID: userID, Minute: w.Minute, Day: w.Day, Month: w.Month}}
		r.queues[key] = q
	}
	q.waiting = append(q.waiting, p)
	lead := !q.busy
	q.busy = true
	r.mu.Unlock()
	if lead {
		r.run(context.WithoutCancel(ctx), key, q)
	}
	<-p.done
	return p.res, p.lease, p.err
}

// run sends the waiting calls of a key as one batch. When more calls arrived meanwhile, another goroutine
// sends them, so that the caller that led this batch is not held up by later ones.
func (r *reserver) run(ctx context.Context, key batchKey, q *batchQueue) {
	r.mu.Lock()
	n := min(len(q.waiting), maxReserveBatch)
	calls := q.waiting[:n:n]
	q.waiting = q.waiting[n:]
	r.mu.Unlock()

	b := q.batch
	b.Calls = make([]store.ReserveCall, len(calls))
	// A batch of many calls means the user's calls come faster than a lease of leaseCalls lasts: lease twice
	// the batch (up to 16 times leaseCalls), so that the next ones find room in the process.
	b.LeaseCall, b.LeaseCalls = -1, r.leaseCalls
	if r.leaseCalls > 0 {
		b.LeaseCalls = min(max(r.leaseCalls, 2*len(calls)), 16*r.leaseCalls)
	}
	for i, p := range calls {
		b.Calls[i] = p.call
		b.Release.Tokens += p.release.Tokens
		b.Release.CostMicros += p.release.CostMicros
		b.Release.Requests += p.release.Requests
		if p.wantLease {
			b.LeaseCall = i
		}
	}
	rctx, cancel := context.WithTimeout(ctx, reserveTimeout)
	results, lease, err := r.store.Reserve(rctx, b)
	cancel()
	for i, p := range calls {
		if err != nil {
			p.err = err
		} else {
			p.res = results[i]
		}
		if i == b.LeaseCall {
			p.lease = lease
		}
		close(p.done)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if len(q.waiting) == 0 {
		q.busy = false
		delete(r.queues, key)
		return
	}
	go r.run(ctx, key, q)
}
