package pgtest

import "syscall"

// dieWithParent asks the kernel to SIGKILL the child when the thread that started it ends (see
// Server.startChild). PostgreSQL's own processes notice their postmaster's death and exit too.
func dieWithParent(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
