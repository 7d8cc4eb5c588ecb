package datafile

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/feoxdb/feox-go/internal/disk"
	"github.com/feoxdb/feox-go/internal/format"
	"github.com/feoxdb/feox-go/pkg/alloc"
	"github.com/feoxdb/feox-go/pkg/stages"
)

// Errors of the data file. Check them with errors.Is; each wraps its cause.
var (
	// ErrLocked means another open File (in this or another process) holds the file.
	ErrLocked = errors.New("datafile: data file is locked by another store")
	// ErrCorrupted means bytes read from the file failed verification: Open of a file that is
	// not a data file, or whose header copies are both damaged, or damage a crash cannot
	// explain; or a record read back that is not the version asked for.
	ErrCorrupted = errors.New("datafile: damaged data")
	// ErrNewerFormat means the file was written by a newer format version. It also matches
	// errors.ErrUnsupported.
	ErrNewerFormat = errors.New("datafile: the data file was written by a newer version of feox-go")
	// ErrOlderFormat means the file was written by an earlier format version, which the error
	// names. It also matches errors.ErrUnsupported, and not ErrCorrupted.
	ErrOlderFormat = errors.New("datafile: the data file was written by an earlier format version of feox-go")
	// ErrFull means the filesystem refused to grow the file, or to take a write for lack of
	// space.
	ErrFull = errors.New("datafile: no room on the filesystem")
)

// DefaultMaxGarbage is the default of Config.MaxGarbage: the written segments may be a
// quarter garbage (a file of about 1.33 times its live bytes).
const DefaultMaxGarbage = 0.25

// Index is what the data file asks of the store's index of versions: the place of the newest
// version of a key, which tells the cleaner and the writers current records from garbage.
type Index interface {
	// Newest returns the place of key's newest version (a deletion's included), or nil when
	// the index holds none.
	Newest(key string) *Place
}

// Config configures a data file. Path, Shards, Index and ShardOf are required.
type Config struct {
	// Path is the file; Open creates it if it does not exist.
	Path string
	// FileSize is the size of a new file (rounded to whole segments).
	FileSize int64
	// Shards is the number of pipeline shards, each with its own Backend and writer.
	Shards int
	// Writers selects and configures the shards' writers (disk.NewWriters); its IO also picks
	// the reader of values (disk.File.NewReader).
	Writers disk.WriterOptions
	// DirectIO asks for O_DIRECT writes where the filesystem allows them (disk.File.EnableDirect);
	// batches are then padded to a page.
	DirectIO bool
	// Index is the store's index of versions.
	Index Index
	// ShardOf returns the pipeline shard of key: the cleaner moves a record through its key's
	// shard, so that the versions of a key are written and settled in order.
	ShardOf func(key string) int
	// MaxGarbage is the fraction of the written segments' bytes that may be garbage before
	// the cleaner moves live records to reclaim it (0: DefaultMaxGarbage). The file then holds
	// about 1/(1-MaxGarbage) times its live bytes; each byte of garbage reclaimed costs
	// rewriting u/(1-u) bytes of live records, u being the victims' live share, which falls
	// as MaxGarbage rises. 1 turns the bound off: the cleaner then moves records only when free
	// segments run short. The caller validates it; a value outside (0, 1] is taken as 0.
	MaxGarbage float64
	// Log receives the file's log lines; the zero Logger is silent.
	Log zerolog.Logger
	// Crash, when set, is called at the points CrashPoints names (crash tests kill the
	// process there).
	Crash func(point string)
}

// CrashPoints returns the names of the points of the write protocol where Config.Crash is
// called: a shard starting a batch, just before and after the file grows, after a batch's
// writes and sync (before its versions are counted), after the complete stage has settled a
// batch, and in the cleaner after its moves are durable (before it erases the segments they
// left) and after the erasure is durable (before the segments return to the free list). A
// wrapped disk.Writer adds its own points between a batch's writes and its sync.
func CrashPoints() []string {
	return []string{"submit", "grow", "grown", "synced", "durable", "moved", "erased"}
}

// File is a store's data file: a log of segments that the shards' Backends append batches to,
// the table that counts the live records of every segment, the deletion records kept on disk,
// and the cleaner that reclaims garbage. See the package documentation.
type File struct {
	cfg  Config
	file *disk.File
	salt uint64
	log  zerolog.Logger

	// mu guards the segment table, the free list, the head, kept, and the counted, superseded
	// and ghosts fields of every Place.
	mu   sync.Mutex
	segs []segment
	free *alloc.Allocator // free segments (the allocator's units are segments)
	head int64            // the open segment, -1 for none
	// align is the alignment of every frame's start and end (format.FrameAlign). With O_DIRECT
	// it is a page: every batch then starts and ends on a filesystem block, which a direct
	// write needs to avoid the filesystem's slow path for partial blocks.
	align uint64
	// liveRecords counts the records that count as live.
	liveRecords int64
	// appended is the log's clock: the bytes of the records batches placed since Open. A
	// segment's age is measured on it (segment.stamp).
	appended uint64
	// fellBack is set once the fallback from O_DIRECT has been logged.
	fellBack atomic.Bool
	taken    []uint32    // scratch of allocate: the segments it took from the free list
	cands    []candidate // scratch of pickVictims
	// maxGarbage is Config.MaxGarbage, defaulted.
	maxGarbage float64
	// act tells the cleaner whether the writers are busy (the cleaner goroutine's own).
	act activity
	// scratch holds the cleaning rounds' working memory (*scratch).
	scratch sync.Pool
	// kept holds the deletion records kept on disk while older copies of their key may remain
	// (their ghosts), by key.
	kept map[string]*Place
	// keptMin is the number of kept deletion records below which they never make the cleaner
	// work (cleanKeptMin; tests lower it).
	keptMin int64
	kick    chan struct{} // wakes the cleaner
	// cleanMu is held by the cleaner for each round, and eraseMu for each erasure, which may
	// overlap the next round (tests hold both to keep the file still).
	cleanMu, eraseMu sync.Mutex
	victims          []uint32      // the cleaner goroutine's scratch: a round's victims
	stop             chan struct{} // closed by StopCleaner
	done             chan struct{} // closed when the cleaner goroutine has returned
	// pipe is the pipeline the cleaner moves records through; set by StartCleaner.
	pipe Pipeline

	backends []*backend
	// reader reads values that left memory back: pread, or io_uring with disk.IOUring.
	reader disk.Reader

	batch                               atomic.Uint64 // store-wide batch numbers
	written, syncs, live, corrupt, read atomic.Int64
	moves, cleaned                      atomic.Int64
	// versionBytes counts the bytes of the new versions batches wrote (the cleaner's moves
	// left out): the writers' pace, which the cleaner watches.
	versionBytes atomic.Int64
}

// Pipeline is what the cleaner needs of the write pipeline (a *stages.Pipeline).
type Pipeline interface {
	// Enqueue hands e to shard, waiting for room.
	Enqueue(shard int, e stages.Entry) error
	// Flush returns once everything enqueued before is durable.
	Flush() error
}

// Open opens (or creates) the data file, recovers its records into rb (see Rebuilder) and sets
// up one Backend per shard. Nothing is erased at Open: its only writes zero the headers of torn
// frames, synced before Open returns. A file that is locked, damaged or of a newer format is
// left untouched.
func Open(cfg Config, rb Rebuilder) (*File, error) {
	df, created, err := disk.Open(cfg.Path, newFileSize(cfg.FileSize))
	switch {
	case errors.Is(err, disk.ErrLocked):
		return nil, fmt.Errorf("%w: %s: %w", ErrLocked, cfg.Path, err)
	case errors.Is(err, format.ErrNewerVersion):
		return nil, fmt.Errorf("%w: %s: %w", errors.Join(ErrNewerFormat, errors.ErrUnsupported), cfg.Path, err)
	case errors.Is(err, format.ErrOlderVersion):
		return nil, fmt.Errorf("%w: %s: %w", errors.Join(ErrOlderFormat, errors.ErrUnsupported), cfg.Path, err)
	case errors.Is(err, format.ErrCorrupted):
		return nil, fmt.Errorf("%w: %w", ErrCorrupted, err)
	case err != nil:
		return nil, err
	}
	f := &File{cfg: cfg, file: df, salt: df.Header().Salt, log: cfg.Log, free: alloc.New(), head: -1,
		align: format.FrameAlign, kept: make(map[string]*Place), keptMin: cleanKeptMin, kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), maxGarbage: cfg.MaxGarbage}
	if !(f.maxGarbage > 0 && f.maxGarbage <= 1) {
		f.maxGarbage = DefaultMaxGarbage
	}
	if err := f.open(created, rb); err != nil {
		f.closeIO()
		df.Close()
		return nil, err
	}
	f.log.Info().Str("path", cfg.Path).Bool("created", created).Int64("file_bytes", df.Size()).
		Msg("feox: data file opened")
	return f, nil
}

// open completes Open: the segment table, recovery, the reader, O_DIRECT and the backends.
func (f *File) open(created bool, rb Rebuilder) error {
	if n := segmentsFor(f.file.Size()); f.file.Size() != format.DataStart+int64(n)*segBytes {
		// A file whose data area is not a whole number of segments (written by an older
		// feox-go) gets its last segment completed.
		if err := f.file.Grow(format.DataStart + int64(n)*segBytes); err != nil {
			return fmt.Errorf("%w: %w", ErrFull, err)
		}
	}
	f.addSegments(segmentsFor(f.file.Size()), false) // recovery marks the free ones of an old file held
	if !created {
		if err := f.recover(rb); err != nil {
			return err
		}
	}
	var err error
	if f.reader, err = f.file.NewReader(f.cfg.Writers.IO); err != nil {
		return err
	}
	if f.cfg.DirectIO {
		on, err := f.file.EnableDirect()
		switch {
		case err != nil:
			f.log.Warn().Err(err).Msg("feox: DirectIO asked for, writes stay buffered")
		case !on:
			f.log.Warn().Str("path", f.cfg.Path).Msg("feox: DirectIO asked for, but the filesystem reports no usable direct I/O alignment; writes stay buffered")
		default:
			f.align = pageSize // recovery left no open segment: the first batch starts one
		}
	}
	wo := f.cfg.Writers
	wo.Log = f.log
	ws, err := f.file.NewWriters(f.cfg.Shards, wo)
	if err != nil {
		return err
	}
	for _, w := range ws {
		f.backends = append(f.backends, newBackend(f, w))
	}
	return nil
}

// Backend returns the pipeline backend of shard i.
func (f *File) Backend(i int) stages.Backend { return f.backends[i] }

// Writer names the writer of the first shard ("uring" or "pwrite").
func (f *File) Writer() string { return f.backends[0].w.Name() }

// StartCleaner starts the cleaner goroutine, which moves records through p. StopCleaner stops
// it; both are called once.
func (f *File) StartCleaner(p Pipeline) {
	f.pipe = p
	go f.runCleaner()
}

// StopCleaner stops the cleaner and waits for it to return. Call it before the pipeline closes.
func (f *File) StopCleaner() {
	close(f.stop)
	if f.pipe != nil {
		<-f.done
	}
}

// Close releases the writers, the reader and the file. The pipeline must be closed first.
func (f *File) Close() error {
	f.closeIO()
	return f.file.Close()
}

// closeIO releases the shards' writers and the value reader.
func (f *File) closeIO() {
	if f.reader != nil {
		if err := f.reader.Close(); err != nil {
			f.log.Error().Err(err).Msg("feox: closing the value reader failed")
		}
	}
	for _, be := range f.backends {
		if err := be.w.Close(); err != nil {
			f.log.Error().Err(err).Msg("feox: closing an I/O backend failed")
		}
	}
}

// crashAt calls the crash hook, if any, at the named point of the write protocol.
func (f *File) crashAt(point string) {
	if f.cfg.Crash != nil {
		f.cfg.Crash(point)
	}
}

// Stats are the data file's counters and space figures.
type Stats struct {
	// Size is the file's apparent size; Allocated the bytes the filesystem holds for it (as du
	// reports them: erased segments are holes); Live the bytes of its live records; Free the
	// bytes of its free segments; Garbage the bytes of replaced and deleted records not yet
	// reclaimed.
	Size, Allocated, Live, Free, Garbage int64
	// Written and Read count the bytes written by batches and read back (values and the
	// cleaner's reads); Syncs counts the batches' data syncs.
	Written, Read, Syncs int64
	// Corrupt counts the torn frames Open skipped, each whole (a batch's records in one
	// segment).
	Corrupt int64
	// Cleaned counts the segments the cleaner erased; Moved the records it moved to do so.
	Cleaned, Moved int64
	// DirectIO reports that batches go to the file with O_DIRECT.
	DirectIO bool
}

// Stats returns the file's counters.
func (f *File) Stats() Stats {
	st := Stats{
		Size: f.file.Size(), Live: f.live.Load(), Written: f.written.Load(), Read: f.read.Load(),
		Syncs: f.syncs.Load(), Corrupt: f.corrupt.Load(), Cleaned: f.cleaned.Load(),
		Moved: f.moves.Load(), DirectIO: f.file.Direct().On,
	}
	st.Free, st.Garbage = f.space()
	if n, err := f.file.Allocated(); err == nil {
		st.Allocated = n
	}
	return st
}
