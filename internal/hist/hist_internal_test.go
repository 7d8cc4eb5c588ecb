package hist

import (
	"math/rand/v2"
	"testing"
)

// TestBucketIndex_BoundariesAgree ensures every bucket's bounds map back to the bucket, that
// buckets are contiguous and ordered, and that the width stays within 1/32 of the lower bound.
func TestBucketIndex_BoundariesAgree(t *testing.T) {
	var lower uint64
	for i := range numBuckets {
		upper := bucketUpper(i)
		if upper < lower {
			t.Fatalf("bucket %d: upper %d below lower %d", i, upper, lower)
		}
		if got := bucketIndex(lower); got != i {
			t.Fatalf("bucketIndex(%d) = %d, want %d (lower bound)", lower, got, i)
		}
		if got := bucketIndex(upper); got != i {
			t.Fatalf("bucketIndex(%d) = %d, want %d (upper bound)", upper, got, i)
		}
		if lower >= subCount && (upper-lower)*subCount > lower {
			t.Fatalf("bucket %d: width %d exceeds 1/%d of lower bound %d", i, upper-lower+1, subCount, lower)
		}
		lower = upper + 1
	}
	if last := bucketUpper(numBuckets - 1); last != maxValue {
		t.Fatalf("last bucket ends at %d, want maxValue %d", last, maxValue)
	}
}

// TestBucketIndex_Table checks hand-computed indexes around the power-of-two boundaries.
func TestBucketIndex_Table(t *testing.T) {
	tests := []struct {
		v    uint64
		want int
	}{
		{0, 0},
		{1, 1},
		{31, 31},
		{32, 32},
		{63, 63},
		{64, 64},
		{65, 64},
		{66, 65},
		{127, 95},
		{128, 96},
		{131, 96},
		{132, 97},
		{maxValue, numBuckets - 1},
	}
	for _, tt := range tests {
		if got := bucketIndex(tt.v); got != tt.want {
			t.Errorf("bucketIndex(%d) = %d, want %d", tt.v, got, tt.want)
		}
	}
}

// TestBucketIndex_RandomValuesWithinBucket ensures random values across the whole range land
// in a bucket whose bounds enclose them.
func TestBucketIndex_RandomValuesWithinBucket(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		v := r.Uint64N(maxValue + 1)
		v >>= r.UintN(maxBits) // spread across magnitudes
		i := bucketIndex(v)
		lo := uint64(0)
		if i > 0 {
			lo = bucketUpper(i-1) + 1
		}
		if v < lo || v > bucketUpper(i) {
			t.Fatalf("value %d in bucket %d with bounds [%d, %d]", v, i, lo, bucketUpper(i))
		}
	}
}
