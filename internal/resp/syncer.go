package resp

import "sync"

// Syncer shares flushes among concurrent callers: Sync returns once a flush that started after
// the call has completed, and callers that arrive while a flush runs share the next one.
type Syncer struct {
	flush func() error

	mu      sync.Mutex
	cond    sync.Cond
	running bool
	started uint64 // flushes started
	done    uint64 // flushes completed; they complete in order
	err     error  // the error of the last completed flush
}

// NewSyncer returns a Syncer that calls flush (a store's Flush).
func NewSyncer(flush func() error) *Syncer {
	s := &Syncer{flush: flush}
	s.cond.L = &s.mu
	return s
}

// Sync blocks until a flush that started after the call has completed, and returns its error
// (or that of a later flush, which covers it too).
func (s *Syncer) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A flush already running may have started before the caller's writes: wait for the next.
	target := s.started + 1
	for s.done < target {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.started++
		n := s.started
		s.mu.Unlock()
		err := s.flush()
		s.mu.Lock()
		s.running, s.done, s.err = false, n, err
		s.cond.Broadcast()
	}
	return s.err
}
