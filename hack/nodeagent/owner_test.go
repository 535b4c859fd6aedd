package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// startOwner runs a process that would live for a minute, as a test harness stand-in.
func startOwner(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func TestWatchOwnerEndsWithTheOwnersSIGKILL(t *testing.T) {
	owner := startOwner(t)
	ctx, err := watchOwner(context.Background(), owner.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
		t.Fatalf("cancelled while the owner runs: %v", context.Cause(ctx))
	case <-time.After(1500 * time.Millisecond):
	}
	// Not waited for: the owner stays a zombie, which has ended all the same.
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
		if !strings.Contains(context.Cause(ctx).Error(), "ended") {
			t.Fatalf("cause %v", context.Cause(ctx))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the owner's SIGKILL did not end the context within 10 s")
	}
}

func TestPollOwnerSeesTheOwnerEnd(t *testing.T) {
	owner := startOwner(t)
	start, err := processStartTime(owner.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	gone := make(chan struct{})
	go pollOwner(context.Background(), owner.Process.Pid, start, func() { close(gone) })
	_ = owner.Process.Kill()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("polling did not see the owner end within 10 s")
	}
}

func TestOwnerIsKnownByItsStartTime(t *testing.T) {
	owner := startOwner(t)
	start, err := processStartTime(owner.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !processRunning(owner.Process.Pid, start) {
		t.Fatal("the running owner is not seen running")
	}
	// Another start time is another process that got the same PID.
	if processRunning(owner.Process.Pid, start+1) {
		t.Fatal("a process with another start time was taken for the owner")
	}
}

func TestWatchOwnerRefusesAProcessThatDoesNotRun(t *testing.T) {
	owner := startOwner(t)
	_ = owner.Process.Kill()
	_ = owner.Wait()
	if _, err := watchOwner(context.Background(), owner.Process.Pid); err == nil {
		t.Fatal("watchOwner accepted a PID that runs no process")
	}
}
