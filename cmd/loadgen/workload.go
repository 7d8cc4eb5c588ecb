package main

import (
	"fmt"
	"math/rand/v2"
)

// action is what a workload asks a worker to do next.
type action uint8

const (
	// actGet reads a key with Store.Get.
	actGet action = iota
	// actPut writes a key with Store.Insert (reported as insert or update).
	actPut
	// actDelete removes a key with Store.Delete.
	actDelete
)

// op is one operation chosen by a workload: an action on the key of index key.
type op struct {
	action action
	key    int
}

// workload chooses the operations of a run. One workload value is shared by every worker, so
// next must not mutate it: all per-worker state lives in the generator r.
type workload interface {
	// name identifies the workload in reports.
	name() string
	// next returns a worker's next operation, drawing randomness only from r.
	next(r *rand.Rand) op
}

// mixedDeleteShare is the fraction of the mixed workload's writes that are deletes; the rest
// are inserts (of absent keys) and updates (of present ones).
const mixedDeleteShare = 0.1

// mixed is the default workload: uniformly random keys; a readRatio fraction of gets, and
// the rest writes, of which mixedDeleteShare are deletes and the others puts.
type mixed struct {
	keys      int
	readRatio float64
	// putBelow is the threshold below which a uniform draw in [0, 1) means a put; draws
	// below readRatio mean a get, the others a delete.
	putBelow float64
}

// newMixed returns the mixed workload over keys keys.
func newMixed(keys int, readRatio float64) *mixed {
	return &mixed{
		keys:      keys,
		readRatio: readRatio,
		putBelow:  readRatio + (1-readRatio)*(1-mixedDeleteShare),
	}
}

func (m *mixed) name() string { return "mixed" }

func (m *mixed) next(r *rand.Rand) op {
	x := r.Float64()
	o := op{key: r.IntN(m.keys)}
	switch {
	case x < m.readRatio:
		o.action = actGet
	case x < m.putBelow:
		o.action = actPut
	default:
		o.action = actDelete
	}
	return o
}

// newWorkload returns the workload a configuration asks for. Only the mixed workload exists
// so far; later workloads are chosen here.
func newWorkload(cfg config) (workload, error) {
	if cfg.keys < 1 {
		return nil, fmt.Errorf("%w: the workload needs at least one key", errInvalidConfig)
	}
	return newMixed(cfg.keys, cfg.readRatio), nil
}
