package dynalite

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill dynalite if the test binary dies
// without running its cleanup (a panic, a timeout, SIGKILL).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
