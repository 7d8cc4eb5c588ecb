package crashtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// envPrefix starts the names of the environment variables that change what the module's tests
// do; a replay command repeats those that are set.
const envPrefix = "FEOX_"

// Seed returns the seed of a randomized test: the unsigned integer in the environment variable
// env, or a random one when env is unset. If tb fails, Seed has it log the command that runs the
// test again with that seed and the same FEOX_ settings (FEOX_TEST_IO, long modes).
func Seed(tb testing.TB, env string) uint64 {
	tb.Helper()
	seed := rand.Uint64()
	if v := os.Getenv(env); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			tb.Fatalf("%s=%q: %v", env, v, err)
		}
		seed = n
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("replay with: %s", replayCommand(tb.Name(), env, seed))
		}
	})
	return seed
}

// Count returns the positive integer in the environment variable env, or def when env is unset
// or holds something else: the size of a long mode.
func Count(env string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n > 0 {
		return n
	}
	return def
}

// replayCommand returns the shell command that runs the test name again with env=seed and the
// FEOX_ variables set now.
func replayCommand(name, env string, seed uint64) string {
	return goTestCommand(name, env+"="+strconv.FormatUint(seed, 10))
}

// goTestCommand returns the shell command that runs the test name with the variable setting
// set (NAME=value) and the FEOX_ variables set now, other than that one and ChildEnv.
func goTestCommand(name, set string) string {
	vars := []string{set}
	env, _, _ := strings.Cut(set, "=")
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, envPrefix) && k != env && k != ChildEnv {
			vars = append(vars, k+"="+shellQuote(v))
		}
	}
	slices.Sort(vars)
	race := ""
	if raceEnabled {
		race = " -race"
	}
	return fmt.Sprintf("%s go test%s -count=1 -run '%s' %s", strings.Join(vars, " "), race, runPattern(name), packageDir())
}

// packageDir returns the directory of the package under test (a test runs in it) relative to
// the module's root, as go test takes it: "./pkg/feox/", or "." when it cannot tell.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			rel, err := filepath.Rel(dir, wd)
			if err != nil || rel == "." {
				return "."
			}
			return "./" + filepath.ToSlash(rel) + "/"
		}
		if filepath.Dir(dir) == dir {
			return "."
		}
	}
}

// shellQuote returns s as one word of a POSIX shell command.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
