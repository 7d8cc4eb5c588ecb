//go:build !unix

package engine

import "io/fs"

// allocated returns the apparent size of a file: block counts are not available here.
func allocated(info fs.FileInfo) int64 { return info.Size() }
