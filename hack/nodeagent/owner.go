package main

// The owner: with --owner PID the agent lives only as long as that process (a test harness).
// A harness killed by a signal it cannot catch would otherwise leave the agent, its Nodes and
// its containers running; hack/k8s/cluster's reaper watches its owner the same way.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// processStartTime is field 22 of /proc/PID/stat (clock ticks since boot): with the PID it
// names one process, so a PID the kernel has given to another process is not taken for it.
func processStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	// The command name (field 2) may hold spaces and parentheses; the fields after it are plain.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(fields))
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// processRunning tells whether (pid, start) still runs; a zombie has ended.
func processRunning(pid int, start uint64) bool {
	now, err := processStartTime(pid)
	if err != nil || now != start {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	return err == nil && !strings.Contains(string(b), "\nState:\tZ")
}

// watchOwner returns a context cancelled when process pid ends. It fails when pid does not
// run now. A pidfd (Linux 5.3) becomes readable when its process exits; where pidfd_open is
// refused the process is polled twice a second.
func watchOwner(parent context.Context, pid int) (context.Context, error) {
	start, err := processStartTime(pid)
	if err != nil {
		return nil, fmt.Errorf("owner %d: %w", pid, err)
	}
	ctx, cancel := context.WithCancelCause(parent)
	gone := errors.New("owner process " + strconv.Itoa(pid) + " ended")
	fd, err := unix.PidfdOpen(pid, 0)
	// The pidfd names the process that had the PID when it was opened: still ours if the
	// start time read before is still the PID's.
	if err == nil && !processRunning(pid, start) {
		unix.Close(fd)
		cancel(gone)
		return ctx, nil
	}
	if err != nil {
		go pollOwner(ctx, pid, start, func() { cancel(gone) })
		return ctx, nil
	}
	go func() {
		defer unix.Close(fd)
		for ctx.Err() == nil {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 500) // wakes now and then to see ctx cancelled
			if n > 0 {
				cancel(gone)
				return
			}
			if err != nil && err != unix.EINTR {
				pollOwner(ctx, pid, start, func() { cancel(gone) })
				return
			}
		}
	}()
	return ctx, nil
}

// pollOwner calls gone once (pid, start) has ended, looking twice a second, or returns when
// ctx ends first.
func pollOwner(ctx context.Context, pid int, start uint64, gone func()) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !processRunning(pid, start) {
				gone()
				return
			}
		}
	}
}
