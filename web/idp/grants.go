package idp

import (
	"errors"
	"time"
)

// Limits on outstanding authorization codes, which live in memory until
// they expire (CodeTTL): without them, a signed-in browser could fill the
// provider's memory by asking for codes in a loop.
const (
	// MaxCodesPerSession is how many codes one provider session may hold;
	// a new one pushes out the session's oldest (a browser has no use for
	// more than a few at once: one per tab signing in).
	MaxCodesPerSession = 10
	// MaxCodes is how many codes the provider holds in all. Past it, and
	// after dropping expired ones, new authorization requests are refused
	// with temporarily_unavailable rather than pushing out other people's.
	MaxCodes = 10000
)

// errTooManyCodes is why a code could not be issued.
var errTooManyCodes = errors.New("too many outstanding authorization codes")

// grantLimits are the limits in force (tests lower them).
type grantLimits struct{ perSession, total int }

// issueGrantLocked stores g under code's key, within the limits. The caller
// holds s.mu.
func (s *Server) issueGrantLocked(code string, g *grant, now time.Time) error {
	s.sweepLocked(now)
	// A session's list can name codes the sweep has dropped: skip those.
	var live [][32]byte
	for _, k := range s.sessionGrants[g.eventID] {
		if _, ok := s.grants[k]; ok {
			live = append(live, k)
		}
	}
	for len(live) >= s.limits.perSession {
		delete(s.grants, live[0])
		live = live[1:]
	}
	if len(s.grants) >= s.limits.total {
		s.lastSweep = time.Time{} // sweep now, whenever the last one was
		s.sweepLocked(now)
		if len(s.grants) >= s.limits.total {
			s.sessionGrants[g.eventID] = live
			return errTooManyCodes
		}
	}
	k := key(code)
	s.grants[k] = g
	s.sessionGrants[g.eventID] = append(live, k)
	return nil
}

// sweepGrantsLocked drops expired codes and the session lists that name
// none left. The caller holds s.mu.
func (s *Server) sweepGrantsLocked(now time.Time) {
	for k, g := range s.grants {
		// A used code is kept until it would have expired, so a replay
		// is recognised as one.
		if !now.Before(g.expires) {
			delete(s.grants, k)
		}
	}
	for id, ks := range s.sessionGrants {
		live := ks[:0]
		for _, k := range ks {
			if _, ok := s.grants[k]; ok {
				live = append(live, k)
			}
		}
		if len(live) == 0 {
			delete(s.sessionGrants, id)
		} else {
			s.sessionGrants[id] = live
		}
	}
}
