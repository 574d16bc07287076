package repair

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xlogtool/xlogtool/format"
)

// Options configure Run.
type Options struct {
	// WALDir holds the .xlog files (and the .snap files unless SnapDir is set).
	WALDir string
	// SnapDir holds the .snap files; default WALDir.
	SnapDir string
	// OutDir receives the repaired WAL files (and snapshots unless
	// OutSnapDir is set) and the lost/ side files. It must not exist or be
	// empty, and must not be inside an input directory.
	OutDir string
	// OutSnapDir receives the snapshots; default OutDir.
	OutSnapDir string
	// NoSync skips fsync of the files written (tests).
	NoSync bool
	// Progress, when set, is told after each file is analysed and after
	// each is written how many bytes of the input are done, of total (every
	// input byte counts twice: read, then copied).
	Progress func(done, total int64)
}

// UsageError is a problem with the options: nothing was read or written.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usage(f string, a ...any) error { return &UsageError{Err: fmt.Errorf(f, a...)} }

// run is the state of one repair.
type run struct {
	opts    Options
	rep     *Report
	wals    []*walFile // every .xlog, in signature order
	snaps   []*snapFile
	snap    *snapFile // the snapshot recovery starts from
	uuid    string
	version string
	files   []*walFile // the WAL files of the instance, analysed
	outs    []*outWAL
	bridged *outWAL  // the first WAL after a bridge file, if one was added
	vinyl   []string // vinyl files and directories copied as they are
	// madeDirs: the output directories write created.
	madeDirs []string
	// done and total: bytes of the input analysed and written, for
	// Options.Progress.
	done, total int64
}

// Run repairs the data directory described by opts into opts.OutDir and
// reports what it did. It never writes to the input directories. The error
// is about the options (a *UsageError) or reading and writing files. When
// the input cannot be turned into something Tarantool recovers from, Run
// writes nothing and returns a report with Consistent false and Error set;
// so it does too, leaving the output for inspection, when the output it
// wrote fails the final check.
func Run(opts Options) (*Report, error) {
	if opts.SnapDir == "" {
		opts.SnapDir = opts.WALDir
	}
	if opts.OutSnapDir == "" {
		opts.OutSnapDir = opts.OutDir
	}
	if err := checkDirs(&opts); err != nil {
		return nil, err
	}
	rp := &run{opts: opts, rep: &Report{
		Input:  Dirs{WAL: opts.WALDir, Snap: opts.SnapDir},
		Output: Dirs{WAL: opts.OutDir, Snap: opts.OutSnapDir},
	}}
	if err := rp.list(); err != nil {
		return nil, err
	}
	for _, w := range rp.wals {
		rp.total += 2 * w.size
	}
	for _, sf := range rp.snaps {
		rp.total += 2 * sf.size
	}
	if err := rp.analyze(); err != nil {
		return nil, err
	}
	if rp.rep.Error != "" {
		return rp.rep, nil
	}
	if err := rp.write(); err != nil {
		// Half an output is worse than none: Tarantool would start
		// from it and miss what was not written.
		rp.removeOutput()
		rp.rep.Error = "the output could not be written (nothing was left in the output directory)"
		rp.rep.Files = nil
		return rp.rep, err
	}
	probs := checkOutput(opts.OutDir, opts.OutSnapDir, rp.snap.vclock, rp.uuid)
	if len(probs) > 0 {
		rp.rep.Error = "the result does not pass the recovery checks: " + strings.Join(probs, "; ")
		return rp.rep, nil
	}
	rp.rep.Consistent = true
	return rp.rep, nil
}

// checkDirs validates the directories and makes the paths absolute.
func checkDirs(o *Options) error {
	if o.WALDir == "" {
		return usage("no input directory")
	}
	if o.OutDir == "" {
		return usage("no output directory (--out)")
	}
	for _, p := range []*string{&o.WALDir, &o.SnapDir, &o.OutDir, &o.OutSnapDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return usage("%v", err)
		}
		*p = abs
	}
	for _, in := range []string{o.WALDir, o.SnapDir} {
		st, err := os.Stat(in)
		if err != nil {
			return usage("%v", err)
		}
		if !st.IsDir() {
			return usage("%s is not a directory", in)
		}
	}
	for _, out := range []string{o.OutDir, o.OutSnapDir} {
		real := resolve(out)
		for _, in := range []string{o.WALDir, o.SnapDir} {
			rin := resolve(in)
			if real == rin || strings.HasPrefix(real, rin+string(filepath.Separator)) {
				return usage("output directory %s is inside input directory %s", out, in)
			}
		}
		ents, err := os.ReadDir(out)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return usage("%v", err)
		case len(ents) > 0:
			return usage("output directory %s is not empty", out)
		}
	}
	return nil
}

// resolve returns the path with symbolic links resolved as far as it
// exists, following a link whose target does not exist yet (MkdirAll
// would create the target).
func resolve(p string) string {
	return resolveDepth(p, 0)
}

func resolveDepth(p string, depth int) string {
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		}
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink != 0 && depth < 40 {
			if t, err := os.Readlink(p); err == nil {
				if !filepath.IsAbs(t) {
					t = filepath.Join(filepath.Dir(p), t)
				}
				return filepath.Join(resolveDepth(t, depth+1), rest)
			}
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// list finds the input files.
func (rp *run) list() error {
	dirs := []string{rp.opts.WALDir}
	if rp.opts.SnapDir != rp.opts.WALDir {
		dirs = append(dirs, rp.opts.SnapDir)
	}
	for i, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			name := e.Name()
			path := filepath.Join(dir, name)
			if e.IsDir() {
				if isNumber(name) && i == 0 {
					rp.vinyl = append(rp.vinyl, path)
				}
				continue
			}
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				// A FIFO or device: opening it could block forever.
				rp.rep.Files = append(rp.rep.Files, FileResult{Input: name, Status: "ignored",
					Detail: "not a regular file"})
				continue
			}
			sig, ext, ok := format.ParseFileName(name)
			switch {
			case !ok:
				if strings.HasSuffix(name, ".inprogress") || strings.HasSuffix(name, ".corrupted") {
					rp.rep.Files = append(rp.rep.Files, FileResult{Input: name, Status: "ignored",
						Detail: "Tarantool does not read such files"})
				}
			case ext == ".xlog" && i == 0:
				st, err := e.Info()
				if err != nil {
					return err
				}
				rp.wals = append(rp.wals, &walFile{path: path, name: name, sig: sig, size: st.Size()})
			case ext == ".snap" && dir == rp.opts.SnapDir:
				rp.snaps = append(rp.snaps, &snapFile{path: path, name: name, sig: sig})
			case ext == ".vylog" && i == 0:
				rp.vinyl = append(rp.vinyl, path)
			}
		}
	}
	sort.Slice(rp.wals, func(i, j int) bool { return rp.wals[i].sig < rp.wals[j].sig })
	sort.Slice(rp.snaps, func(i, j int) bool { return rp.snaps[i].sig < rp.snaps[j].sig })
	return nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// analyze reads every input file and plans the output.
func (rp *run) analyze() error {
	for _, w := range rp.wals {
		f, err := os.Open(w.path)
		if err != nil {
			return err
		}
		s := newScanner(f, w.size)
		w.hdr = s.readHeader(format.TypeXLOG, w.sig)
		f.Close()
		if s.err != nil {
			return fmt.Errorf("%s: %w", w.path, s.err)
		}
	}
	for _, sf := range rp.snaps {
		if err := analyzeSnap(sf); err != nil {
			return fmt.Errorf("%s: %w", sf.path, err)
		}
		rp.progress(sf.size)
	}
	if len(rp.wals) == 0 && len(rp.snaps) == 0 {
		rp.rep.Error = "no .xlog or .snap files in the input"
		return nil
	}
	if !rp.pickSnapshot() {
		return nil
	}
	var files []*walFile
	var floor format.VClock
	for _, w := range rp.wals {
		if w.hdr.ok && w.hdr.meta.Instance != rp.uuid {
			w.foreign = true
			rp.rep.Repaired = append(rp.rep.Repaired, Action{File: w.name, Action: "drop-foreign-file",
				Detail: "written by instance " + w.hdr.meta.Instance + ", not " + rp.uuid})
			rp.rep.Files = append(rp.rep.Files, FileResult{Input: w.name, Status: "dropped", Detail: "another instance's file"})
			continue
		}
		var err error
		if floor, err = analyzeWAL(w, floor); err != nil {
			return err
		}
		rp.progress(w.size)
		files = append(files, w)
	}
	rp.files = files
	if err := rp.planHeaders(files); err != nil {
		rp.rep.Error = err.Error()
		return nil
	}
	n := 0
	for _, w := range files {
		if len(w.lostRows) > 0 {
			n++
			w.sideName = fmt.Sprintf("lost/%04d.xlog", n)
		}
		if len(w.looseRows) > 0 {
			n++
			w.looseName = fmt.Sprintf("lost/%04d.xlog", n)
		}
	}
	rp.account(files)
	rp.addTail()
	rp.describe(files)
	return nil
}

// pickSnapshot chooses the snapshot recovery starts from: the newest one
// that can be trusted. It also settles the instance UUID.
func (rp *run) pickSnapshot() bool {
	for _, sf := range rp.snaps {
		if !sf.trusted || sf.hdr.ok {
			continue
		}
		// Rebuild the header: the VClock of a snapshot is the VClock of the
		// WAL file started at the same checkpoint, which has its signature.
		for _, w := range rp.wals {
			if w.hdr.ok && w.sig == sf.sig {
				sf.vclock, sf.hasVClock = w.hdr.meta.VClock, true
			}
		}
		if m := sf.hdr.meta; !sf.hasVClock && m != nil && m.HasVClock && m.VClock.Signature() == sf.sig {
			sf.vclock, sf.hasVClock = m.VClock, true
		}
		if !sf.hasVClock {
			sf.trusted, sf.why = false, "damaged header and no WAL file with its signature to take the VClock from"
			continue
		}
		sf.rebuilt = true
	}
	votes := map[string]int{}
	for i := len(rp.snaps) - 1; i >= 0 && rp.uuid == ""; i-- {
		if sf := rp.snaps[i]; sf.trusted && sf.hdr.ok {
			rp.uuid, rp.version = sf.instance, sf.hdr.meta.Tarantool
		}
	}
	for _, w := range rp.wals {
		if w.hdr.ok {
			votes[w.hdr.meta.Instance]++
			if rp.version == "" {
				rp.version = w.hdr.meta.Tarantool
			}
		}
	}
	if rp.uuid == "" {
		best := 0
		for u, n := range votes {
			if n > best || (n == best && u < rp.uuid) {
				rp.uuid, best = u, n
			}
		}
	}
	if rp.uuid == "" {
		for _, sf := range rp.snaps {
			if m := sf.hdr.meta; m != nil && len(m.Instance) == 36 {
				rp.uuid = m.Instance
			}
		}
	}
	var dropped []string
	for i := len(rp.snaps) - 1; i >= 0; i-- {
		sf := rp.snaps[i]
		if sf.trusted && sf.hdr.ok && sf.instance != rp.uuid {
			sf.trusted, sf.foreign, sf.why = false, true, "written by instance "+sf.instance
		}
		if !sf.trusted {
			rp.rep.Repaired = append(rp.rep.Repaired, Action{File: sf.name, Action: "drop-snapshot", Detail: sf.why})
			rp.rep.Files = append(rp.rep.Files, FileResult{Input: sf.name, Status: "dropped", Detail: sf.why})
			dropped = append(dropped, sf.name)
			continue
		}
		sf.outName = format.FileName(format.TypeSNAP, sf.vclock)
		if rp.snap == nil {
			rp.snap = sf
		}
	}
	if rp.uuid == "" {
		rp.rep.Error = "no file tells the instance UUID"
		return false
	}
	rp.rep.Instance = rp.uuid
	if rp.snap == nil {
		rp.rep.Error = "no snapshot can be trusted, so Tarantool has nothing to start recovery from"
		if len(rp.snaps) == 0 {
			rp.rep.Error = "no snapshot in the input, so Tarantool has nothing to start recovery from"
		}
		return false
	}
	if newest := rp.snaps[len(rp.snaps)-1]; newest != rp.snap {
		rp.rep.Repaired = append(rp.rep.Repaired, Action{File: rp.snap.name, Action: "use-older-snapshot",
			Detail: "the newer snapshots cannot be trusted (" + strings.Join(dropped, ", ") +
				"); recovery replays the WAL files from this one"})
		rp.rep.Warnings = append(rp.rep.Warnings, "recovery starts from the older snapshot "+rp.snap.outName)
	}
	rp.rep.Snapshot = rp.snap.outName
	return true
}

// describe fills the report's actions and file list from the plan.
func (rp *run) describe(files []*walFile) {
	rep := rp.rep
	end := rp.snap.vclock
	for _, o := range rp.outs {
		w := o.src
		if w == nil {
			end = end.Max(o.vclock)
			if o.how == "bridge" {
				rep.Repaired = append(rep.Repaired, Action{File: o.name, Action: "create-bridge-wal", Output: o.name,
					Detail: "empty WAL with the snapshot's VClock " + o.vclock.String() + " so recovery has a file to start from"})
			} else {
				rep.Repaired = append(rep.Repaired, Action{File: o.name, Action: "create-tail-wal", Output: o.name,
					Detail: "empty WAL with VClock " + o.vclock.String() + " so the instance does not reuse the LSNs of the lost rows"})
			}
			rep.Files = append(rep.Files, FileResult{Output: o.name, Status: "created"})
			continue
		}
		if o.dropped {
			rep.Repaired = append(rep.Repaired, Action{File: w.name, Action: "drop-empty-wal",
				Detail: "no rows left and the same VClock as its neighbour"})
			rep.Files = append(rep.Files, FileResult{Input: w.name, Status: "dropped", Detail: "no rows left"})
			continue
		}
		end = end.Max(o.vclock).Max(w.keptLast)
		changed := len(w.actions) > 0 || !o.keepHeader
		rep.Repaired = append(rep.Repaired, w.actions...)
		switch {
		case o.how == "rebuilt":
			rep.Repaired = append(rep.Repaired, Action{File: w.name, Action: "rebuild-header", Output: o.name,
				Detail: fmt.Sprintf("%s; VClock %s from the neighbouring files and the rows, instance %s", w.hdr.err, o.vclock, rp.uuid)})
		case o.how == "adjusted":
			rep.Repaired = append(rep.Repaired, Action{File: w.name, Action: "adjust-vclock", Output: o.name,
				Detail: fmt.Sprintf("VClock %s does not fit the rows and the files before; now %s", w.hdr.meta.VClock, o.vclock)})
		case !o.keepHeader && w.hdr.ok && w.hdr.meta.Instance == rp.uuid:
			was := "none"
			if w.hdr.meta.HasPrevVClock {
				was = w.hdr.meta.PrevVClock.String()
			}
			rep.Repaired = append(rep.Repaired, Action{File: w.name, Action: "set-prev-vclock", Output: o.name,
				Detail: fmt.Sprintf("PrevVClock %s (was %s): the VClock of the file before it in the output", o.prev, was)})
		}
		if o.name != w.name {
			rep.Repaired = append(rep.Repaired, Action{File: w.name, Action: "rename", Output: o.name,
				Detail: "the name must be the signature of the VClock " + o.vclock.String()})
		}
		status := "copied"
		if changed {
			status = "rewritten"
		}
		rep.Files = append(rep.Files, FileResult{Input: w.name, Output: o.name, Status: status})
	}
	for _, w := range files {
		if w.sideName != "" {
			rep.Repaired = append(rep.Repaired, Action{File: w.name, Action: "save-lost-rows", Output: w.sideName,
				Detail: fmt.Sprintf("%d rows of intact blocks that are not in the recovered log", len(w.lostRows))})
			rep.Files = append(rep.Files, FileResult{Input: w.name, Output: w.sideName, Status: "created", Detail: "lost rows"})
		}
		if w.looseName != "" {
			rep.Repaired = append(rep.Repaired, Action{File: w.name, Action: "save-unverified-rows", Output: w.looseName,
				Detail: fmt.Sprintf("%d rows decoded from damaged bytes; their content cannot be verified", len(w.looseRows))})
			rep.Files = append(rep.Files, FileResult{Input: w.name, Output: w.looseName, Status: "created", Detail: "unverified rows"})
		}
	}
	for _, sf := range rp.snaps {
		if !sf.trusted {
			continue
		}
		status, detail := "copied", ""
		if sf.rebuilt {
			status, detail = "rewritten", "header rebuilt"
			rep.Repaired = append(rep.Repaired, Action{File: sf.name, Action: "rebuild-header", Output: sf.outName,
				Detail: fmt.Sprintf("%s; VClock %s from the WAL file of the same signature", sf.hdr.err, sf.vclock)})
		}
		if sf.end < sf.size {
			status = "rewritten"
			off := sf.end
			rep.Repaired = append(rep.Repaired, Action{File: sf.name, Action: "drop-after-eof", Offset: &off,
				Bytes: sf.size - sf.end, Output: sf.outName, Detail: "bytes after the EOF marker"})
		}
		rep.Files = append(rep.Files, FileResult{Input: sf.name, Output: sf.outName, Status: status, Detail: detail})
	}
	for _, v := range rp.vinyl {
		rep.Files = append(rep.Files, FileResult{Input: filepath.Base(v), Output: filepath.Base(v), Status: "copied",
			Detail: "vinyl data, copied as it is"})
	}
	if len(rp.vinyl) > 0 {
		rep.Warnings = append(rep.Warnings, "vinyl files are copied unchanged; vinyl data is not checked or repaired")
	}
	rep.VClock = end
	for _, l := range rep.Lost {
		if l.OpenEnded {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf(
				"the log of replica %d ends in damage after LSN %d: later rows may have existed and cannot be counted", l.ReplicaID, l.LSNTo))
		}
	}
	synchro := false
	for _, w := range files {
		synchro = synchro || w.synchro
	}
	if synchro && len(rep.Lost) > 0 {
		rep.Warnings = append(rep.Warnings, "the logs hold synchronous transactions: a lost CONFIRM or ROLLBACK changes what happens to the transactions kept (check them with xlogtool verify)")
	}
	if len(rep.Lost) > 0 {
		rep.Warnings = append(rep.Warnings, "rows are lost: rows after them that depended on them (an INSERT of a key a lost row deleted, rows of a space a lost row created) can still make recovery fail")
	}
}

// write creates the output.
func (rp *run) write() error {
	for _, d := range []string{rp.opts.OutDir, rp.opts.OutSnapDir} {
		if _, err := os.Lstat(d); errors.Is(err, os.ErrNotExist) {
			rp.madeDirs = append(rp.madeDirs, d)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, sf := range rp.snaps {
		if sf.trusted {
			rp.progress(sf.size)
			if err := rp.writeSnap(sf); err != nil {
				return err
			}
		}
	}
	for _, o := range rp.outs {
		if o.dropped {
			continue
		}
		if err := rp.writeWAL(o); err != nil {
			return err
		}
		if o.src != nil {
			rp.progress(o.src.size)
		}
	}
	for _, w := range rp.files {
		if w.sideName != "" {
			if err := rp.writeSide(w.sideName, w, w.lostRows, true); err != nil {
				return err
			}
		}
		if w.looseName != "" {
			if err := rp.writeSide(w.looseName, w, w.looseRows, false); err != nil {
				return err
			}
		}
	}
	for _, v := range rp.vinyl {
		if err := copyTree(v, filepath.Join(rp.opts.OutDir, filepath.Base(v)), rp.opts.NoSync); err != nil {
			return err
		}
	}
	return nil
}

// removeOutput removes what write created after it failed: the files it
// names (the output directories were empty, so nothing else is there),
// lost/, and the output directories it made, when empty.
func (rp *run) removeOutput() {
	var paths []string
	for _, sf := range rp.snaps {
		if sf.trusted && sf.outName != "" {
			paths = append(paths, filepath.Join(rp.opts.OutSnapDir, sf.outName))
		}
	}
	for _, o := range rp.outs {
		if !o.dropped {
			paths = append(paths, filepath.Join(rp.opts.OutDir, o.name))
		}
	}
	for _, w := range rp.files {
		for _, n := range []string{w.sideName, w.looseName} {
			if n != "" {
				paths = append(paths, filepath.Join(rp.opts.OutDir, n))
			}
		}
	}
	for _, p := range paths {
		os.Remove(p)
		os.Remove(p + ".inprogress")
	}
	for _, v := range rp.vinyl {
		os.RemoveAll(filepath.Join(rp.opts.OutDir, filepath.Base(v)))
	}
	os.Remove(filepath.Join(rp.opts.OutDir, "lost"))
	for i := len(rp.madeDirs) - 1; i >= 0; i-- {
		os.Remove(rp.madeDirs[i])
	}
}

// progress adds n bytes done and tells Options.Progress.
func (rp *run) progress(n int64) {
	rp.done += n
	if rp.opts.Progress != nil {
		rp.opts.Progress(min(rp.done, rp.total), rp.total)
	}
}
