package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func discardLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

func TestHandler(t *testing.T) {
	info := Info{Name: "svc", Description: "a \"quoted\" description", Version: "1.2.3", Revision: "abc"}
	handler := Handler(info, discardLogger())

	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantBody   map[string]string // expected JSON fields; nil skips the body check
	}{
		{"health", http.MethodGet, "/healthz", http.StatusOK, map[string]string{"status": "ok"}},
		{"hello default", http.MethodGet, "/hello", http.StatusOK, map[string]string{"message": "Hello, world!"}},
		{"hello name", http.MethodGet, "/hello?name=Gopher", http.StatusOK, map[string]string{"message": "Hello, Gopher!"}},
		{"hello escaped name", http.MethodGet, "/hello?name=%3Cb%3E", http.StatusOK, map[string]string{"message": "Hello, <b>!"}},
		{"hello name too long", http.MethodGet, "/hello?name=" + strings.Repeat("x", maxNameLength+1), http.StatusBadRequest, nil},
		{"info", http.MethodGet, "/", http.StatusOK, map[string]string{
			"name": "svc", "description": "a \"quoted\" description", "version": "1.2.3", "revision": "abc",
		}},
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, nil},
		{"wrong method", http.MethodPost, "/healthz", http.StatusMethodNotAllowed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tt.wantStatus, rec.Body.String())
			}
			if tt.wantBody == nil {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("body %q is not a JSON object of strings: %v", rec.Body.String(), err)
			}
			for key, want := range tt.wantBody {
				if got[key] != want {
					t.Errorf("body[%q] = %q, want %q", key, got[key], want)
				}
			}
		})
	}
}

func TestServeDrainsInFlightRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		_, _ = io.WriteString(w, "done")
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, slow, 5*time.Second, discardLogger()) }()

	type result struct {
		body string
		err  error
	}
	response := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			response <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		response <- result{string(body), err}
	}()

	<-started
	cancel() // as SIGTERM would, while the request is in flight

	got := <-response
	if got.err != nil || got.body != "done" {
		t.Fatalf("in-flight request = %q, %v; want it to finish during the drain", got.body, got.err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve() = %v, want nil after a clean drain", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve() did not return after the drain")
	}
}

func TestServeDrainIsBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	stuck := http.HandlerFunc(func(_ http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, stuck, 100*time.Millisecond, discardLogger()) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()

	<-started
	begin := time.Now()
	cancel()
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("Serve() = nil, want a drain error when a request outlives the bound")
		}
		if elapsed := time.Since(begin); elapsed > 2*time.Second {
			t.Fatalf("Serve() returned after %v, want about the 100ms bound", elapsed)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve() did not return: the drain is not bounded")
	}
}
