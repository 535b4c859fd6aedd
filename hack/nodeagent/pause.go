package main

// `nodeagent pause`: the process that holds a pod's (or a node's) namespaces, as the
// kubelet's pause container does: it waits for a stop signal and reaps orphans as PID 1.

import (
	"os"
	"os/signal"
	"syscall"
)

func runPause() int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			return 0
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}
