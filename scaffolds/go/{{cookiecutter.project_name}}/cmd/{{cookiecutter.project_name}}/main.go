// Command {{ cookiecutter.project_name }} is an HTTP service with JSON logs, a health endpoint and a graceful
// shutdown. Run it without arguments to serve; `{{ cookiecutter.project_name }} healthcheck` probes a running
// instance (the container image's HEALTHCHECK); `{{ cookiecutter.project_name }} version` prints the version.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"{{ cookiecutter.module_path }}/internal/config"
	"{{ cookiecutter.module_path }}/internal/healthcheck"
	"{{ cookiecutter.module_path }}/internal/server"
)

// Set at build time: go build -ldflags "-X main.version=1.2.3 -X main.revision=abc123".
var (
	version  = "dev"
	revision = "unknown"
)

const (
	name        = "{{ cookiecutter.project_name }}"
	description = {{ cookiecutter.description | go_str }}
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // serving failed, or the health probe failed
	exitUsage   = 2 // bad arguments or configuration
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process globals, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitUsage
	}

	if len(args) > 0 {
		switch args[0] {
		case "healthcheck":
			if err := healthcheck.Probe(ctx, healthcheck.LocalURL(cfg.Port, server.HealthPath), healthcheck.DefaultTimeout); err != nil {
				fmt.Fprintf(stderr, "%s: unhealthy: %v\n", name, err)
				return exitFailure
			}
			return exitOK
		case "version":
			fmt.Fprintf(stdout, "%s %s (%s)\n", name, version, revision)
			return exitOK
		default:
			fmt.Fprintf(stderr, "usage: %s [healthcheck|version]\n", name)
			return exitUsage
		}
	}

	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()

	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		logger.Error("cannot listen", slog.String("addr", cfg.Addr()), slog.Any("error", err))
		return exitFailure
	}
	logger.Info("listening", slog.String("addr", ln.Addr().String()),
		slog.String("version", version), slog.String("revision", revision))

	info := server.Info{Name: name, Description: description, Version: version, Revision: revision}
	if err := server.Serve(ctx, ln, server.Handler(info, logger), cfg.ShutdownTimeout, logger); err != nil {
		logger.Error("server stopped with an error", slog.Any("error", err))
		return exitFailure
	}
	logger.Info("stopped")
	return exitOK
}
