package config

import (
	"log/slog"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr bool
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			want: Config{Port: DefaultPort, LogLevel: slog.LevelInfo, ShutdownTimeout: DefaultShutdownTimeout},
		},
		{
			name: "everything set",
			env:  map[string]string{"PORT": "9090", "LOG_LEVEL": "DEBUG", "SHUTDOWN_TIMEOUT": "2s"},
			want: Config{Port: 9090, LogLevel: slog.LevelDebug, ShutdownTimeout: 2 * time.Second},
		},
		{
			name: "warning is warn",
			env:  map[string]string{"LOG_LEVEL": "warning"},
			want: Config{Port: DefaultPort, LogLevel: slog.LevelWarn, ShutdownTimeout: DefaultShutdownTimeout},
		},
		{name: "port not a number", env: map[string]string{"PORT": "http"}, wantErr: true},
		{name: "port zero", env: map[string]string{"PORT": "0"}, wantErr: true},
		{name: "port too large", env: map[string]string{"PORT": "65536"}, wantErr: true},
		{name: "unknown log level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: true},
		{name: "negative timeout", env: map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, wantErr: true},
		{name: "timeout without unit", env: map[string]string{"SHUTDOWN_TIMEOUT": "5"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(func(key string) string { return tt.env[key] })
			if tt.wantErr {
				if err == nil {
					t.Fatalf("FromEnv() = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("FromEnv() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAddr(t *testing.T) {
	if got, want := (Config{Port: 8081}).Addr(), ":8081"; got != want {
		t.Errorf("Addr() = %q, want %q", got, want)
	}
}
