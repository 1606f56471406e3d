//go:build !linux

package pgtest

import "syscall"

// dieWithParent does nothing outside Linux, which alone has a parent-death signal: there a server outlives
// a test process that is killed before Stop runs.
func dieWithParent(*syscall.SysProcAttr) {}
