package feox

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"
)

// Sweep tuning: a sweep removes expired keys in expiry order, in rounds of up to sweepRound
// keys per stripe, for at most sweepBudget. A sweep that ends on its budget with expired keys
// left runs again after sweepBacklogPause instead of a whole TTLSweepInterval, so a burst of
// expiries is cleared quickly at a bounded share of one core.
const (
	sweepRound        = 256
	sweepBudget       = 20 * time.Millisecond
	sweepBacklogPause = 5 * time.Millisecond
	ttlStripes        = 16
	tombstoneInterval = time.Second
)

// ttlEntry is a key with the expiry of one of its versions.
type ttlEntry struct {
	expiry int64
	key    string
}

func ttlLess(a, b ttlEntry) bool {
	if a.expiry != b.expiry {
		return a.expiry < b.expiry
	}
	return a.key < b.key
}

// ttlIndex orders the keys that carry an expiry by that expiry, so the sweep finds every expired
// key without scanning the store. Writers add the new version's entry and remove the replaced
// version's entry after publishing; racing writers of one key can leave a stale entry behind,
// which the sweep discards when it reaches it (it checks the key's current record).
type ttlIndex struct {
	seed    maphash.Seed
	stripes [ttlStripes]struct {
		mu   sync.Mutex
		tree *btree.BTreeG[ttlEntry]
		_    [48]byte // keeps neighbouring stripes' mutexes off one cache line
	}
}

func (t *ttlIndex) init() {
	t.seed = maphash.MakeSeed()
	for i := range t.stripes {
		t.stripes[i].tree = btree.NewG(16, ttlLess)
	}
}

// update replaces the entry of key for expiry from (0 = none) with one for expiry to.
func (t *ttlIndex) update(key string, from, to int64) {
	if from == to {
		return
	}
	st := &t.stripes[maphash.String(t.seed, key)%ttlStripes]
	st.mu.Lock()
	if from != 0 {
		st.tree.Delete(ttlEntry{from, key})
	}
	if to != 0 {
		// Its own copy of the key: the caller's may keep a version's value alive.
		st.tree.ReplaceOrInsert(ttlEntry{to, strings.Clone(key)})
	}
	st.mu.Unlock()
}

// popExpired removes from stripe i and appends to dst up to n entries whose expiry is at or
// before now, earliest first.
func (t *ttlIndex) popExpired(dst []ttlEntry, i int, now int64, n int) []ttlEntry {
	st := &t.stripes[i]
	st.mu.Lock()
	for range n {
		e, ok := st.tree.Min()
		if !ok || e.expiry > now {
			break
		}
		st.tree.DeleteMin()
		dst = append(dst, e)
	}
	st.mu.Unlock()
	return dst
}

// len returns the number of entries.
func (t *ttlIndex) len() int {
	n := 0
	for i := range t.stripes {
		st := &t.stripes[i]
		st.mu.Lock()
		n += st.tree.Len()
		st.mu.Unlock()
	}
	return n
}

// tombList lists keys that hold a tombstone, for the background goroutine to drop.
type tombList struct {
	mu   sync.Mutex
	keys []string
}

func (l *tombList) add(key string) {
	l.mu.Lock()
	l.keys = append(l.keys, key)
	l.mu.Unlock()
}

func (l *tombList) take() []string {
	l.mu.Lock()
	keys := l.keys
	l.keys = nil
	l.mu.Unlock()
	return keys
}

// background runs the TTL sweep and drops tombstones until Close.
func (s *Store) background() {
	defer s.wg.Done()
	interval := s.opts.TTLSweepInterval
	sweep := interval > 0
	if !sweep {
		interval = tombstoneInterval
	}
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.evictKick:
			s.evict(nil) // reads brought values back past the cache's high watermark
			continue
		case <-timer.C:
		}
		wait := interval
		if sweep && s.sweep(sweepBudget) {
			wait = sweepBacklogPause
		}
		for _, k := range s.tombstones.take() {
			if !s.dropTombstone(k) {
				s.tombstones.add(k)
			}
		}
		timer.Reset(wait)
	}
}

// sweep removes expired keys, earliest expiry first, until none is left or budget has passed.
// It reports whether it stopped on the budget with expired keys left (a backlog).
func (s *Store) sweep(budget time.Duration) (backlog bool) {
	start := time.Now()
	buf := make([]ttlEntry, 0, sweepRound)
	for {
		found := false
		for i := range ttlStripes {
			now := wallNow()
			buf = s.ttl.popExpired(buf[:0], i, now, sweepRound)
			for _, e := range buf {
				found = true
				if r := s.hash.Load(e.key); r != nil && r.expiry() == e.expiry && r.expired(now) {
					s.expire(e.key, r, now)
				}
			}
		}
		s.stats.sweeps.Inc()
		if !found {
			return false
		}
		if time.Since(start) >= budget {
			return true
		}
	}
}
