package main

// The reaper: a process of its own session that outlives the agent. It reads its stdin, a pipe
// whose only writer is the agent; end of file means the agent is gone (exit or SIGKILL), and
// it then removes every container and network labelled with the agent's instance, and the
// agent's state directory.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// startReaper launches `self reap` holding the read end of a pipe; the agent keeps the writer.
func startReaper(self, socket, instance, stateDir string) (*os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "reap", "--docker", socket, "--instance", instance, "--state-dir", stateDir)
	cmd.Stdin = r
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r.Close()
	go func() { _ = cmd.Wait() }()
	return w, nil
}

func runReaper(socket, instance, stateDir string) int {
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := NewDocker(socket)
	c, n, err := d.RemoveLabelled(ctx, labelKey+"="+instance)
	if stateDir != "" {
		_ = os.RemoveAll(stateDir)
	}
	if c+n > 0 || err != nil {
		fmt.Fprintf(os.Stderr, "nodeagent reaper: removed %d containers, %d networks of %s (err: %v)\n", c, n, instance, err)
	}
	return 0
}
