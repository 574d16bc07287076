package format

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// LogExts are the extensions of the files a directory scan collects.
var LogExts = []string{".snap", ".xlog", ".vylog"}

// ParseFileName splits a Tarantool log file name into its signature and
// extension, following Tarantool's rule: everything before the first dot is
// a decimal number and the rest is exactly one of the known extensions (so
// "N.xlog.inprogress" is not a log file).
func ParseFileName(name string) (sig uint64, ext string, ok bool) {
	base := filepath.Base(name)
	dot := strings.IndexByte(base, '.')
	if dot <= 0 {
		return 0, "", false
	}
	ext = base[dot:]
	known := false
	for _, e := range LogExts {
		if ext == e {
			known = true
		}
	}
	if !known {
		return 0, "", false
	}
	sig, err := strconv.ParseUint(base[:dot], 10, 64)
	if err != nil {
		return 0, "", false
	}
	return sig, ext, true
}

// logExt returns the log extension a directory entry's name ends with
// ("test.xlog", "timestamp.snap"), or "".
func logExt(name string) string {
	for _, e := range LogExts {
		if strings.HasSuffix(name, e) && len(name) > len(e) {
			return e
		}
	}
	return ""
}

// FileRef is one log file found by Collect.
type FileRef struct {
	Path string
	// Signature is the vclock signature of the file's header (of its name
	// when the header cannot be read; 0 when neither tells).
	Signature uint64
	Ext       string
}

// CollectOptions tune CollectFiles.
type CollectOptions struct {
	// Recursive descends into subdirectories.
	Recursive bool
	// OnSkip is told about directory entries named like log files that
	// are not read: FIFOs, devices and other files that are not regular
	// (opening them could block forever).
	OnSkip func(path, why string)
}

// Collect is CollectFiles without notes about skipped entries.
func Collect(args []string, recursive bool) ([]FileRef, error) {
	return CollectFiles(args, CollectOptions{Recursive: recursive})
}

// CollectFiles expands the arguments into log files. Files are taken as
// given, whatever their name and kind (a pipe is read once, by the
// command). Directories contribute every regular .snap, .xlog and .vylog
// file they hold (see ScanDir), and with Recursive those of their
// subdirectories, each directory's files together. A file reached twice
// (named twice, or through a directory and by name) is listed once, where
// it is first reached.
func CollectFiles(args []string, opts CollectOptions) ([]FileRef, error) {
	var out []FileRef
	var seen []os.FileInfo
	add := func(ref FileRef, st os.FileInfo) {
		if seenBefore(seen, st) {
			return
		}
		seen = append(seen, st)
		out = append(out, ref)
	}
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			sig, ext, _ := ParseFileName(a)
			if ext == "" {
				ext = logExt(filepath.Base(a))
			}
			if ext == "" {
				ext = filepath.Ext(a)
			}
			add(FileRef{Path: a, Signature: sig, Ext: ext}, st)
			continue
		}
		if seenBefore(seen, st) {
			continue // the same directory again
		}
		seen = append(seen, st)
		dirs := []string{a}
		if opts.Recursive {
			dirs = dirs[:0]
			err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		for _, d := range dirs {
			files, err := scanDir(d, opts.OnSkip)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				if st, err := os.Stat(f.Path); err == nil {
					add(f, st)
				}
			}
		}
	}
	return out, nil
}

func seenBefore(seen []os.FileInfo, st os.FileInfo) bool {
	for _, s := range seen {
		if os.SameFile(s, st) {
			return true
		}
	}
	return false
}

// ScanDir lists the log files of one directory in recovery order: every
// regular file whose name ends with .snap, .xlog or .vylog (not only those
// named by their vclock signature, as tt reads them too), ordered by the
// vclock signature of their header, a snapshot before the vylog and the
// xlog that start at its vclock. Entries that are not regular files are
// left out.
func ScanDir(dir string) ([]FileRef, error) { return scanDir(dir, nil) }

// ScanDirSkip is ScanDir telling onSkip about the entries left out because
// they are not regular files.
func ScanDirSkip(dir string, onSkip func(path, why string)) ([]FileRef, error) {
	return scanDir(dir, onSkip)
}

func scanDir(dir string, onSkip func(path, why string)) ([]FileRef, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []FileRef
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		ext := logExt(e.Name())
		if ext == "" {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if !e.Type().IsRegular() {
			st, err := os.Stat(path) // a symbolic link to a regular file is fine
			if err != nil || !st.Mode().IsRegular() {
				if onSkip != nil && (err != nil || !st.IsDir()) {
					onSkip(path, "not a regular file")
				}
				continue
			}
		}
		sig, _, _ := ParseFileName(e.Name())
		if m, err := readHeader(path); err == nil && m.HasVClock {
			sig = m.VClock.Signature()
		}
		files = append(files, FileRef{Path: path, Signature: sig, Ext: ext})
	}
	SortFiles(files)
	return files, nil
}

// readHeader reads the text header of a regular file.
func readHeader(path string) (*Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, MetaMaxLen+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return ParseMeta(buf[:n])
}

var extOrder = map[string]int{".snap": 0, ".vylog": 1, ".xlog": 2}

// SortFiles orders the files of each directory by signature; at equal
// signatures a snapshot comes before the vylog and the xlog that start at
// it, and files of the same kind keep their order by name.
func SortFiles(files []FileRef) {
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if filepath.Dir(a.Path) != filepath.Dir(b.Path) {
			return false
		}
		if a.Signature != b.Signature {
			return a.Signature < b.Signature
		}
		if extOrder[a.Ext] != extOrder[b.Ext] {
			return extOrder[a.Ext] < extOrder[b.Ext]
		}
		return a.Path < b.Path
	})
}

// EndsWithEOF reports whether a regular file ends with the EOF marker, as
// every complete log file does. Tarantool refuses to start from a snapshot
// without it: it was torn while being written. ok is false when the file
// is not a regular file (a pipe cannot be looked at before it is read).
func EndsWithEOF(path string) (eof, ok bool, err error) {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return false, false, err // a pipe is not even opened: it may be read once only
	}
	f, err := os.Open(path)
	if err != nil {
		return false, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, false, err
	}
	if !st.Mode().IsRegular() {
		return false, false, nil
	}
	if st.Size() < int64(len(MagicEOF)) {
		return false, true, nil
	}
	var tail [len(MagicEOF)]byte
	if _, err := f.ReadAt(tail[:], st.Size()-int64(len(tail))); err != nil {
		return false, false, err
	}
	return tail == MagicEOF, true, nil
}

// CheckName reports whether the file name matches the signature of the
// header's vclock, as Tarantool requires.
func CheckName(path string, m *Meta) error {
	sig, _, ok := ParseFileName(path)
	if !ok || !m.HasVClock {
		return nil
	}
	if got := m.VClock.Signature(); got != sig {
		return fmt.Errorf("file name signature %d does not match the VClock %s (signature %d)", sig, m.VClock, got)
	}
	return nil
}
