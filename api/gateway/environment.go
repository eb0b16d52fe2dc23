package gateway

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// environment is the local counterpart of a Lambda execution environment:
// one goroutine with its own lambda.Handler that runs one invocation at a
// time and stays warm for the next. Reusing the goroutine keeps its grown
// stack (decoding an event takes more than a fresh goroutine's stack), and
// one handler per environment is required anyway: aws-lambda-go's handlers
// reuse their output buffer and are not safe for concurrent invocations.
type environment struct {
	handler lambda.Handler
	jobs    chan invocation
	state   atomic.Int32 // envIdle, envBusy or envGone
	// abandoned is set when an invocation outlives its timeout: the
	// environment then ends when the function returns, never reused, as
	// Lambda discards an environment whose invocation it had to stop.
	abandoned atomic.Bool
}

// abandon retires env once its current invocation returns.
func (env *environment) abandon() { env.abandoned.Store(true) }

const (
	envIdle int32 = iota
	envBusy
	envGone
)

// envIdleTimeout is how long an idle environment stays warm.
const envIdleTimeout = time.Minute

// maxIdleEnvs bounds the warm environments kept per route.
const maxIdleEnvs = 64

type invocation struct {
	ctx     context.Context
	payload []byte
	// done receives the result; it must have room for it, as nobody
	// listens any more after a timeout.
	done chan<- invokeResult
	// finished, when set, runs when the function has returned or panicked.
	finished func()
}

type invokeResult struct {
	out []byte
	err error
}

// environments is a route's pool of warm environments.
type environments struct {
	newHandler func() lambda.Handler
	idle       chan *environment
	// closed is closed by close: idle environments end, busy ones end
	// after their invocation.
	closed    chan struct{}
	closeOnce sync.Once
}

func newEnvironments(h any) *environments {
	return &environments{
		newHandler: func() lambda.Handler { return lambda.NewHandler(h) },
		idle:       make(chan *environment, maxIdleEnvs),
		closed:     make(chan struct{}),
	}
}

// close retires every environment: idle ones end now, busy ones when
// their invocation returns. An environment started afterwards serves its
// one invocation and ends.
func (p *environments) close() {
	p.closeOnce.Do(func() { close(p.closed) })
}

func (p *environments) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// get returns a busy environment: a warm one when there is one, or a new
// one (a cold start).
func (p *environments) get() *environment {
	for {
		select {
		case env := <-p.idle:
			if env.state.CompareAndSwap(envIdle, envBusy) {
				return env
			}
			// It timed out while queued; drop it.
		default:
			env := &environment{handler: p.newHandler(), jobs: make(chan invocation)}
			env.state.Store(envBusy)
			go env.run(p)
			return env
		}
	}
}

// run serves invocations until the environment idles out, the pool is
// full or closed, the function panics (a crashed runtime is not reused) or
// the invocation outlives its timeout.
func (env *environment) run(p *environments) {
	timer := time.NewTimer(envIdleTimeout)
	defer timer.Stop()
	for {
		select {
		case inv := <-env.jobs:
			if !env.invoke(inv) || env.abandoned.Load() || p.isClosed() {
				env.state.Store(envGone)
				return
			}
			env.state.Store(envIdle)
			select {
			case p.idle <- env:
			default:
				env.state.Store(envGone)
				return
			}
			timer.Reset(envIdleTimeout)
		case <-timer.C:
			if env.state.CompareAndSwap(envIdle, envGone) {
				return
			}
			// Claimed by get just now: its invocation is on the way.
			timer.Reset(envIdleTimeout)
		case <-p.closed:
			if env.state.CompareAndSwap(envIdle, envGone) {
				return
			}
			// Claimed by get just now: serve that last invocation.
			env.invoke(<-env.jobs)
			env.state.Store(envGone)
			return
		}
	}
}

// invoke runs one invocation and reports whether the environment survived.
// The slot is freed before the result is handed over, so that the caller's
// next request finds it free.
func (env *environment) invoke(inv invocation) bool {
	res, ok := env.call(inv)
	if inv.finished != nil {
		inv.finished()
	}
	inv.done <- res
	return ok
}

// call runs the function, turning a panic into an error.
func (env *environment) call(inv invocation) (res invokeResult, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			res, ok = invokeResult{err: fmt.Errorf("function panicked: %v", p)}, false
		}
	}()
	out, err := env.handler.Invoke(inv.ctx, inv.payload)
	// The handler's output buffer is reused on its next invocation: copy.
	return invokeResult{out: bytes.Clone(out), err: err}, true
}
