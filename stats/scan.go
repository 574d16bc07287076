package stats

import "github.com/xlogtool/xlogtool/format"

// Options configure Scan.
type Options struct {
	// Filter selects the rows counted; nil counts every row.
	Filter *format.Filter
	// Force skips damaged blocks and goes on.
	Force bool
	// OnIssue is called for warnings and, with Force, skipped damage.
	OnIssue func(*format.Error)
	// Progress, if set, is called now and then with the bytes read so far
	// over all files.
	Progress func(done int64)
}

// Scan reads the files in order and counts their rows. Damage is reported
// in the scan result (as format.ScanFiles does), not as an error.
func Scan(files []format.FileRef, opts Options) (*Report, format.ScanResult, error) {
	c := New(opts.Filter)
	var done int64
	var rows int
	res, err := format.ScanFiles(files, format.ScanOptions{
		Force:   opts.Force,
		OnIssue: opts.OnIssue,
		OnFile: func(_ format.FileRef, r *format.Reader) error {
			c.BeginFile(r.Meta())
			return nil
		},
		OnFileEnd: func(_ format.FileRef, r *format.Reader) error {
			c.EndFile(r)
			done += r.Offset()
			if opts.Progress != nil {
				opts.Progress(done)
			}
			return nil
		},
	}, func(_ format.FileRef, r *format.Row) error {
		c.Row(r)
		if rows++; rows&0xfff == 0 && opts.Progress != nil {
			opts.Progress(done + r.Pos.Block)
		}
		return nil
	})
	rep := c.Report()
	rep.Files, rep.DamagedFiles, rep.Warnings = res.Files, res.Damaged, res.Warnings
	return rep, res, err
}
