// Package healthcheck probes the running service's health endpoint. The binary's `healthcheck`
// subcommand uses it, so the image's HEALTHCHECK needs neither a shell nor curl and works on
// scratch and distroless.
package healthcheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultTimeout bounds one probe; the image's HEALTHCHECK --timeout is a little longer.
const DefaultTimeout = 2 * time.Second

// Probe sends GET url and returns nil if and only if it answers 200 OK within timeout.
// Proxy settings from the environment are ignored: the probe targets the container itself.
func Probe(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe %s: status %d, want 200", url, resp.StatusCode)
	}
	return nil
}

// LocalURL is the health endpoint of a server listening on port of this host (or container).
func LocalURL(port int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
}
