//go:build !linux

package dynalite

import "os/exec"

// setDeathSignal does nothing where the kernel offers no death signal; the
// test binary's cleanup stops dynalite.
func setDeathSignal(*exec.Cmd) {}
