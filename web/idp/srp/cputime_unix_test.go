//go:build unix

package srp

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, all threads, user and
// system: a benchmark figure that a machine shared with other work does
// not inflate the way it inflates wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
