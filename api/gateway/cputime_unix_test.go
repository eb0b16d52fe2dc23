//go:build unix

package gateway_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, user and system. The
// benchmarks report it per operation beside wall time, which a busy shared
// machine inflates.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
