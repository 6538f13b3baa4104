package main

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that the server goroutine and the test can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func env(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

// freePort returns a port nothing listens on at the moment.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
	}{
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: name + " dev (unknown)"},
		{name: "unknown command", args: []string{"serve-forever"}, wantCode: exitUsage},
		{name: "bad configuration", args: []string{"version"}, env: map[string]string{"PORT": "x"}, wantCode: exitUsage},
		{name: "healthcheck with nothing listening", args: []string{"healthcheck"}, env: map[string]string{"PORT": freePort(t)}, wantCode: exitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, env(tt.env), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("run(%q) = %d, want %d (stderr %q)", tt.args, code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
		})
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	vars := env(map[string]string{"PORT": freePort(t), "SHUTDOWN_TIMEOUT": "2s"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, nil, vars, logs, logs) }()

	deadline := time.Now().Add(5 * time.Second)
	for run(context.Background(), []string{"healthcheck"}, vars, &bytes.Buffer{}, &bytes.Buffer{}) != exitOK {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not become healthy within 5s; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	cancel() // what SIGTERM does in production
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("run() = %d after shutdown, want %d; logs:\n%s", code, exitOK, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run() did not return within 5s of the shutdown")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("logs lack the JSON 'stopped' line:\n%s", logs.String())
	}
}
