package format

import (
	"errors"
	"io"
)

// ScanOptions configure ScanFiles.
type ScanOptions struct {
	Force bool
	// Filter selects the rows passed on; nil passes every row.
	Filter *Filter
	// OnFile is called when a file has been opened, before its rows.
	OnFile func(ref FileRef, r *Reader) error
	// OnFileEnd is called after the last row of a file.
	OnFileEnd func(ref FileRef, r *Reader) error
	// OnIssue is called for every warning and, with Force, every damage
	// skipped; errors that stop a file are returned in the result instead.
	OnIssue func(*Error)
	// Ahead, if set, works on whole blocks ahead of the scan, on the
	// goroutines that check and decompress them (Options.Ahead), so that
	// what is done with the rows of a file runs on more than one CPU: it
	// gets a block and the filter, and returns its result for the rows the
	// filter selects and the number of rows of the block (Block.Rows
	// gives both), or nil when it cannot do the block. OnAhead then gets
	// the results in file order in place of calls of fn for those rows;
	// the other blocks' rows go to fn as usual.
	Ahead   func(ref FileRef, b *Block, flt *Filter) (res any, rows int)
	OnAhead func(ref FileRef, res any) error
}

// ScanResult sums up a scan.
type ScanResult struct {
	Files    int
	Rows     int64
	Damaged  int     // files with damage (stopped at or, with Force, skipped)
	Warnings int     // torn tails and missing EOF markers
	Errors   []error // one per file that stopped at damage or could not be read
}

// ScanFiles reads the files in order and calls fn for every row that passes
// the filter. A file that stops at damage is reported in the result and the
// scan goes on with the next file; an error returned by fn ends the scan.
func ScanFiles(files []FileRef, opts ScanOptions, fn func(ref FileRef, r *Row) error) (ScanResult, error) {
	var res ScanResult
	for _, ref := range files {
		res.Files++
		damaged := false
		ropts := Options{Name: ref.Path, Force: opts.Force, Ahead: aheadFunc(ref, opts), OnIssue: func(e *Error) {
			if e.IsWarning() {
				res.Warnings++
			} else {
				damaged = true
			}
			if opts.OnIssue != nil && (e.IsWarning() || opts.Force) {
				opts.OnIssue(e)
			}
		}}
		rd, err := Open(ref.Path, ropts)
		if err != nil {
			res.Errors = append(res.Errors, err)
			res.Damaged++
			if rd != nil {
				rd.Close()
			}
			continue
		}
		if opts.OnFile != nil {
			if err := opts.OnFile(ref, rd); err != nil {
				rd.Close()
				return res, err
			}
		}
		for {
			row, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				res.Errors = append(res.Errors, err)
				break
			}
			if ar, n := rd.TakeAhead(); ar != nil {
				res.Rows += int64(n)
				if err := opts.OnAhead(ref, ar); err != nil {
					rd.Close()
					return res, err
				}
				continue
			}
			res.Rows++
			if opts.Filter != nil && !opts.Filter.Match(row) {
				continue
			}
			if err := fn(ref, row); err != nil {
				rd.Close()
				return res, err
			}
		}
		if damaged {
			res.Damaged++
		}
		if opts.OnFileEnd != nil {
			if err := opts.OnFileEnd(ref, rd); err != nil {
				rd.Close()
				return res, err
			}
		}
		rd.Close()
	}
	return res, nil
}

// aheadFunc is the Options.Ahead of the reader of ref: opts.Ahead with the
// filter.
func aheadFunc(ref FileRef, opts ScanOptions) func(*Block) (any, int) {
	if opts.Ahead == nil || opts.OnAhead == nil {
		return nil
	}
	return func(b *Block) (any, int) { return opts.Ahead(ref, b, opts.Filter) }
}
