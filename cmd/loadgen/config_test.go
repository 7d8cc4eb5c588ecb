package main

import (
	"errors"
	"flag"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestParseConfig_MapsFlags ensures every flag lands in its config field and that omitted
// flags keep their defaults.
func TestParseConfig_MapsFlags(t *testing.T) {
	def := defaultConfig()
	tests := []struct {
		name string
		args []string
		want func(c *config)
	}{
		{"defaults", nil, func(*config) {}},
		{"duration", []string{"--duration=1m30s"}, func(c *config) { c.duration = 90 * time.Second }},
		{"keys", []string{"--keys", "1_000"}, func(c *config) { c.keys = 1000 }},
		{"single dash", []string{"-keys=42"}, func(c *config) { c.keys = 42 }},
		{"key-size", []string{"--key-size=64"}, func(c *config) { c.keySize = 64 }},
		{"value-size", []string{"--value-size=0"}, func(c *config) { c.valueSize = 0 }},
		{"goroutines", []string{"--goroutines=7"}, func(c *config) { c.goroutines = 7 }},
		{"read-ratio", []string{"--read-ratio=0.25"}, func(c *config) { c.readRatio = 0.25 }},
		{"read-ratio bounds", []string{"--read-ratio=1"}, func(c *config) { c.readRatio = 1 }},
		{"seed", []string{"--seed=18446744073709551615"}, func(c *config) { c.seed = 1<<64 - 1 }},
		{"json", []string{"--json"}, func(c *config) { c.json = true }},
		{"smallest key for the key space", []string{"--keys=100000", "--key-size=5"}, func(c *config) {
			c.keys, c.keySize = 100_000, 5
		}},
		{"all", []string{"--duration=2s", "--keys=10", "--key-size=1", "--value-size=8",
			"--goroutines=3", "--read-ratio=0", "--seed=9", "--json"}, func(c *config) {
			*c = config{duration: 2 * time.Second, keys: 10, keySize: 1, valueSize: 8,
				goroutines: 3, readRatio: 0, seed: 9, json: true}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, io.Discard)
			if err != nil {
				t.Fatalf("parseConfig(%q): %v", tt.args, err)
			}
			want := def
			tt.want(&want)
			if got != want {
				t.Fatalf("parseConfig(%q) = %+v, want %+v", tt.args, got, want)
			}
		})
	}
}

// TestDefaultConfig ensures the documented defaults.
func TestDefaultConfig(t *testing.T) {
	want := config{duration: 5 * time.Second, keys: 1_000_000, keySize: 16, valueSize: 100,
		goroutines: runtime.GOMAXPROCS(0), readRatio: 0.8, seed: 1}
	if got := defaultConfig(); got != want {
		t.Fatalf("defaultConfig() = %+v, want %+v", got, want)
	}
}

// TestParseConfig_Rejects ensures bad values are refused with an error naming the flag.
func TestParseConfig_Rejects(t *testing.T) {
	tests := []struct {
		args    []string
		mention string
		invalid bool // wraps errInvalidConfig (else it is a flag syntax error)
	}{
		{[]string{"--duration=0s"}, "--duration", true},
		{[]string{"--duration=-1s"}, "--duration", true},
		{[]string{"--keys=0"}, "--keys", true},
		{[]string{"--keys=1000", "--key-size=2"}, "--key-size", true},
		{[]string{"--key-size=0"}, "--key-size", true},
		{[]string{"--key-size=65536"}, "--key-size", true},
		{[]string{"--value-size=-1"}, "--value-size", true},
		{[]string{"--value-size=67108865"}, "--value-size", true},
		{[]string{"--goroutines=0"}, "--goroutines", true},
		{[]string{"--read-ratio=1.5"}, "--read-ratio", true},
		{[]string{"--read-ratio=-0.1"}, "--read-ratio", true},
		{[]string{"--read-ratio=NaN"}, "--read-ratio", true},
		{[]string{"extra"}, "extra", true},
		{[]string{"--keys=many"}, "-keys", false},
		{[]string{"--no-such-flag"}, "no-such-flag", false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out strings.Builder
			_, err := parseConfig(tt.args, &out)
			if err == nil {
				t.Fatalf("parseConfig(%q) accepted", tt.args)
			}
			if got := errors.Is(err, errInvalidConfig); got != tt.invalid {
				t.Fatalf("errors.Is(%v, errInvalidConfig) = %v, want %v", err, got, tt.invalid)
			}
			if msg := err.Error() + out.String(); !strings.Contains(msg, tt.mention) {
				t.Fatalf("error %q (output %q) does not mention %q", err, out.String(), tt.mention)
			}
		})
	}
}

// TestParseConfig_Help ensures --help prints the flags and reports flag.ErrHelp.
func TestParseConfig_Help(t *testing.T) {
	var out strings.Builder
	_, err := parseConfig([]string{"--help"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(--help) error = %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"-duration", "-keys", "-key-size", "-value-size", "-goroutines", "-read-ratio", "-seed", "-json"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("usage does not mention %s:\n%s", name, out.String())
		}
	}
}
