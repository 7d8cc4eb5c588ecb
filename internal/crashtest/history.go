package crashtest

import (
	"errors"
	"fmt"
)

// History is what a crash may leave of each key that a sequence of operations wrote: the state
// the key had after the operations a reported Flush covered, or any state it took after them.
// S is a key's state; its zero value is the state of an absent key (never written, or
// deleted), so that a key the operations never touched may only be absent.
type History[S comparable] struct {
	covered map[string]S
	later   map[string][]S
}

// NewHistory returns an empty History.
func NewHistory[S comparable]() *History[S] {
	return &History[S]{covered: map[string]S{}, later: map[string][]S{}}
}

// Set records that an operation left key in state s; covered says whether a reported Flush
// covered the operation. The operations must be recorded in order.
func (h *History[S]) Set(key string, s S, covered bool) {
	if covered {
		h.covered[key] = s
		return
	}
	h.later[key] = append(h.later[key], s)
}

// Check returns nil if key may hold got after the crash, and otherwise an error that says
// what key may hold.
func (h *History[S]) Check(key string, got S) error {
	want, later := h.covered[key], h.later[key]
	if got == want {
		return nil
	}
	for _, s := range later {
		if got == s {
			return nil
		}
	}
	msg := fmt.Sprintf("key %s recovered as %v; the flushed writes left it %v", key, got, want)
	switch {
	case len(later) == 0:
		msg += ", and no later write touched it"
	case len(later) <= 4:
		msg += fmt.Sprintf(", and the %d later writes %v", len(later), later)
	default:
		msg += fmt.Sprintf(", and the %d later writes %v ...", len(later), later[:4])
	}
	return errors.New(msg)
}
