// Package config reads the service's settings from environment variables.
package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is the port the service listens on when PORT is not set.
const DefaultPort = {{ cookiecutter.port }}

// DefaultShutdownTimeout bounds how long in-flight requests may drain after SIGTERM. It stays
// below Docker's default stop grace period (10 s) so the process exits before it is killed.
const DefaultShutdownTimeout = 5 * time.Second

// Config holds every setting of the service.
type Config struct {
	// Port is the TCP port the HTTP server listens on (all interfaces).
	Port int
	// LogLevel is the minimum level of the JSON logs written to standard output.
	LogLevel slog.Level
	// ShutdownTimeout bounds the drain of in-flight requests on shutdown.
	ShutdownTimeout time.Duration
}

// Addr is the address the server listens on.
func (c Config) Addr() string {
	return ":" + strconv.Itoa(c.Port)
}

// FromEnv builds a Config from environment variables read through getenv (os.Getenv in
// production, a map in tests):
//
//	PORT              TCP port, 1-65535 (default {{ cookiecutter.port }})
//	LOG_LEVEL         debug, info, warn or error (default info)
//	SHUTDOWN_TIMEOUT  a Go duration such as 5s (default 5s)
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Port: DefaultPort, LogLevel: slog.LevelInfo, ShutdownTimeout: DefaultShutdownTimeout}

	if v := strings.TrimSpace(getenv("PORT")); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 1 || port > 65535 {
			return Config{}, fmt.Errorf("PORT=%q: want a number from 1 to 65535", v)
		}
		cfg.Port = port
	}

	if v := strings.TrimSpace(getenv("LOG_LEVEL")); v != "" {
		level, err := ParseLevel(v)
		if err != nil {
			return Config{}, err
		}
		cfg.LogLevel = level
	}

	if v := strings.TrimSpace(getenv("SHUTDOWN_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("SHUTDOWN_TIMEOUT=%q: want a positive duration such as 5s", v)
		}
		cfg.ShutdownTimeout = d
	}

	return cfg, nil
}

// ParseLevel turns a level name (case-insensitive; "warning" is accepted for "warn") into a
// slog.Level.
func ParseLevel(name string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", name)
	}
}
