package gen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// ErrUnknownDist is returned by ParseDist for a name it does not know.
var ErrUnknownDist = errors.New("unknown distribution")

// Dist is a request distribution: how the index of an existing key is chosen.
type Dist uint8

const (
	// Uniform gives every existing key the same chance.
	Uniform Dist = iota
	// Zipfian is YCSB's zipfian ("requestdistribution=zipfian"): a ScrambledZipf over the
	// initial key space, so that the popular keys stay the same while keys are inserted. The
	// hottest key gets about 4% of the draws at theta 0.99, whatever the key count.
	Zipfian
	// UnscrambledZipfian draws the index itself from a zipfian over the current key count:
	// index 0 is the hottest (7% of the draws for a million keys at theta 0.99), index 1 the
	// next. Keys hash their index, so the hot keys still lie scattered in key order.
	UnscrambledZipfian
	// Latest favours the most recently inserted keys: the newest index is rank 0 of a
	// zipfian over the current key count.
	Latest
)

// allDists returns every distribution, in the order of their names in help texts.
func allDists() [4]Dist { return [...]Dist{Uniform, Zipfian, UnscrambledZipfian, Latest} }

// String returns the distribution's name as accepted by ParseDist.
func (d Dist) String() string {
	switch d {
	case Uniform:
		return "uniform"
	case Zipfian:
		return "zipfian"
	case UnscrambledZipfian:
		return "unscrambled-zipfian"
	case Latest:
		return "latest"
	}
	return fmt.Sprintf("Dist(%d)", uint8(d))
}

// DistNames returns the names ParseDist accepts, separated by "|".
func DistNames() string {
	var names []string
	for _, d := range allDists() {
		names = append(names, d.String())
	}
	return strings.Join(names, "|")
}

// ParseDist returns the distribution called name.
func ParseDist(name string) (Dist, error) {
	for _, d := range allDists() {
		if d.String() == name {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w %q (want %s)", ErrUnknownDist, name, DistNames())
}

// Chooser draws the index of an existing key from a distribution. A Chooser is owned by one
// goroutine.
type Chooser struct {
	dist Dist
	scr  *ScrambledZipf // Zipfian
	zipf *Zipf          // UnscrambledZipfian, Latest
}

// NewChooser returns a chooser for d. base is the initial number of keys (the zipfian's
// fixed item space) and theta the zipfian constant.
func NewChooser(d Dist, base uint64, theta float64) *Chooser {
	c := &Chooser{dist: d}
	switch d {
	case Zipfian:
		c.scr = NewScrambledZipf(base, theta)
	case UnscrambledZipfian, Latest:
		c.zipf = NewZipf(max(base, 1), theta)
	}
	return c
}

// Index returns an index in [0, n), where n >= 1 is the current number of keys.
func (c *Chooser) Index(r *rand.Rand, n uint64) uint64 {
	switch c.dist {
	case Zipfian:
		i := c.scr.Index(r)
		if i >= n { // the key space shrank below the zipfian's items
			i %= n
		}
		return i
	case UnscrambledZipfian, Latest:
		if c.zipf.N() != n {
			c.zipf.SetN(n)
		}
		if c.dist == Latest {
			return n - 1 - c.zipf.Rank(r)
		}
		return c.zipf.Rank(r)
	}
	return r.Uint64N(n)
}
