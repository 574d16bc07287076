package format

import (
	"fmt"
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

// FileRef is one log file found by Collect.
type FileRef struct {
	Path      string
	Signature uint64 // from the name; 0 for names that are not signatures
	Ext       string
}

// Collect expands the arguments into log files: files are taken as given
// (whatever their name), directories contribute their .snap, .xlog and
// .vylog files ordered by vclock signature (snapshots before logs of the
// same signature), and with recursive also those of their subdirectories,
// each directory's files together.
func Collect(args []string, recursive bool) ([]FileRef, error) {
	var out []FileRef
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			sig, ext, _ := ParseFileName(a)
			if ext == "" {
				ext = filepath.Ext(a)
			}
			out = append(out, FileRef{Path: a, Signature: sig, Ext: ext})
			continue
		}
		dirs := []string{a}
		if recursive {
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
			files, err := ScanDir(d)
			if err != nil {
				return nil, err
			}
			out = append(out, files...)
		}
	}
	return out, nil
}

// ScanDir lists the log files of one directory in recovery order.
func ScanDir(dir string) ([]FileRef, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []FileRef
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		sig, ext, ok := ParseFileName(e.Name())
		if !ok {
			continue
		}
		files = append(files, FileRef{Path: filepath.Join(dir, e.Name()), Signature: sig, Ext: ext})
	}
	SortFiles(files)
	return files, nil
}

var extOrder = map[string]int{".snap": 0, ".vylog": 1, ".xlog": 2}

// SortFiles orders files by signature; at equal signatures a snapshot comes
// before the vylog and the xlog that start at it.
func SortFiles(files []FileRef) {
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if filepath.Dir(a.Path) != filepath.Dir(b.Path) {
			return false
		}
		if a.Signature != b.Signature {
			return a.Signature < b.Signature
		}
		return extOrder[a.Ext] < extOrder[b.Ext]
	})
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
