package idp

import (
	"context"
	"log/slog"
	"time"

	"golang.org/x/time/rate"
)

// Minimum response times of the Hosted UI forms whose work depends on
// whether an account exists. Without them the time to answer says what the
// page does not: a reset code is written and mailed only for an existing
// account (about 1 ms more), a sign-up of a confirmed address skips a
// database write, a reset attempt hashes the new password only when the
// address has an account. Each is well above the slow path's usual time
// (the password hash at users.DefaultCost takes 20-40 ms).
const (
	MinForgotTime = 100 * time.Millisecond
	MinSignUpTime = 300 * time.Millisecond
	MinResetTime  = 300 * time.Millisecond
)

// pacer makes a handler answer no sooner than a minimum time after it
// started. It runs on the wall clock, never on Config.Clock, which tests
// freeze or move by hours.
type pacer struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration)
	log   *slog.Logger
	warn  *rate.Sometimes
}

func newPacer(log *slog.Logger) pacer {
	return pacer{now: time.Now, sleep: sleepContext, log: log, warn: &rate.Sometimes{First: 1, Interval: time.Minute}}
}

// sleepContext waits for d or until ctx is done (the client went away).
func sleepContext(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// start notes the start of a request's account-dependent work; calling the
// function it returns, before writing anything of the response, waits out
// the rest of min.
func (p pacer) start(ctx context.Context, min time.Duration) func() {
	began := p.now()
	return func() {
		took := p.now().Sub(began)
		if took > min {
			// Rare (a slow disk, a wait for a hashing slot); worth knowing,
			// since the excess is what an observer could measure, but once
			// a minute at most: under load every form would say it.
			p.warn.Do(func() {
				p.log.WarnContext(ctx, "form took longer than its minimum response time (said once a minute at most)", "took", took, "min", min)
			})
			return
		}
		p.sleep(ctx, min-took)
	}
}
