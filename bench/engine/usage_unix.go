//go:build unix

package engine

import (
	"io/fs"
	"syscall"
)

// allocated returns the bytes of disk blocks a file occupies (holes of a sparse file are not
// counted).
func allocated(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
