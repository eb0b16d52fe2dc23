package srp

import (
	"sync"
)

// replaySet remembers the secret blocks already presented until they
// expire, up to a fixed number: what makes a block single-use.
type replaySet struct {
	mu        sync.Mutex
	max       int
	every     int64              // ns between sweeps when not full
	expiry    map[[12]byte]int64 // block id (its nonce) -> expiry, Unix ns
	lastSweep int64
}

func newReplaySet(max int, every int64) *replaySet {
	return &replaySet{max: max, every: every, expiry: make(map[[12]byte]int64)}
}

// add records id as used, ErrReplayed when it already was, ErrBusy when
// the set is full of unexpired blocks.
func (r *replaySet) add(id [12]byte, expires, now int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if exp, ok := r.expiry[id]; ok && exp > now {
		return ErrReplayed
	}
	// A sweep is linear in the set, so it runs when the set is full or
	// once per interval: amortised constant per add, and an expired entry
	// lingers at most one interval.
	if len(r.expiry) >= r.max || now-r.lastSweep >= r.every {
		for k, exp := range r.expiry {
			if exp <= now {
				delete(r.expiry, k)
			}
		}
		r.lastSweep = now
	}
	if len(r.expiry) >= r.max {
		return ErrBusy
	}
	r.expiry[id] = expires
	return nil
}
