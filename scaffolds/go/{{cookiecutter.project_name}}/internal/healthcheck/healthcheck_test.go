package healthcheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		wantErr bool
	}{
		{
			name:    "healthy",
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) },
			timeout: time.Second,
		},
		{
			name:    "unhealthy status",
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
			timeout: time.Second,
			wantErr: true,
		},
		{
			name:    "redirect is not healthy",
			handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
			timeout: time.Second,
			wantErr: true,
		},
		{
			name: "too slow",
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
				w.WriteHeader(http.StatusOK)
			},
			timeout: 50 * time.Millisecond,
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			err := Probe(context.Background(), srv.URL+"/healthz", tt.timeout)
			if (err != nil) != tt.wantErr {
				t.Errorf("Probe() error = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestProbeNothingListening(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/healthz"
	srv.Close()
	if err := Probe(context.Background(), url, time.Second); err == nil {
		t.Error("Probe() = nil for a closed server, want an error")
	}
}

func TestLocalURL(t *testing.T) {
	if got, want := LocalURL(8080, "/healthz"), "http://127.0.0.1:8080/healthz"; got != want {
		t.Errorf("LocalURL() = %q, want %q", got, want)
	}
}
