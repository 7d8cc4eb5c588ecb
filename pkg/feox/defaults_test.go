package feox_test

import (
	"testing"
	"time"

	"github.com/feoxdb/feox-go/pkg/feox"
)

// TestDefaults_Documented ensures the defaults and bounds hold the values their doc comments
// and docs/TUNING.md give (they come from the packages that implement them).
func TestDefaults_Documented(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"DefaultFileSize", feox.DefaultFileSize, 1 << 30},
		{"DefaultMaxMemory", feox.DefaultMaxMemory, 4 << 30},
		{"DefaultTTLSweepInterval", int64(feox.DefaultTTLSweepInterval), int64(time.Second)},
		{"DefaultRingSize", feox.DefaultRingSize, 1024},
		{"DefaultBatchEntries", feox.DefaultBatchEntries, 1024},
		{"DefaultBatchBytes", feox.DefaultBatchBytes, 16 << 20},
		{"DefaultFlushInterval", int64(feox.DefaultFlushInterval), int64(100 * time.Millisecond)},
		{"DefaultQueueDepth", feox.DefaultQueueDepth, 256},
		{"MaxRingSize", feox.MaxRingSize, 1 << 20},
		{"MaxShards", feox.MaxShards, 1024},
		{"MaxQueueDepth", feox.MaxQueueDepth, 32768},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, documented as %d", c.name, c.got, c.want)
		}
	}
	if feox.DefaultMaxGarbage != 0.25 {
		t.Errorf("DefaultMaxGarbage = %v, documented as 0.25", feox.DefaultMaxGarbage)
	}
}
