package repair

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xlogtool/xlogtool/format"
)

// fileWriter writes one output file as NAME.inprogress and renames it to
// NAME when it is complete, as Tarantool does.
type fileWriter struct {
	path   string
	f      *format.OutFile
	w      *bufio.Writer
	noSync bool
	enc    format.BlockEncoder
}

func createFile(path string, noSync bool) (*fileWriter, error) {
	f, err := format.CreateOutFile(path)
	if err != nil {
		return nil, err
	}
	return &fileWriter{path: path, f: f, w: bufio.NewWriterSize(f, 1<<20), noSync: noSync}, nil
}

func (fw *fileWriter) Write(b []byte) (int, error) { return fw.w.Write(b) }

// block writes rows (raw header and body bytes back to back) as one block,
// compressed from Tarantool's threshold on.
func (fw *fileWriter) block(payload []byte) error {
	fix, payload, err := fw.enc.Encode(payload)
	if err != nil {
		return err
	}
	if _, err := fw.w.Write(fix); err != nil {
		return err
	}
	_, err = fw.w.Write(payload)
	return err
}

// close writes the EOF marker, syncs and renames the file.
func (fw *fileWriter) close(eof bool) error {
	var err error
	if eof {
		_, err = fw.w.Write(format.MagicEOF[:])
	}
	if err == nil {
		err = fw.w.Flush()
	}
	fw.enc.Close()
	if err != nil {
		fw.f.Abort()
		return err
	}
	return fw.f.Commit(fw.noSync)
}

func (fw *fileWriter) abort() {
	fw.enc.Close()
	fw.f.Abort()
}

// walMeta builds the header of an output WAL file.
func (rp *run) walMeta(o *outWAL) *format.Meta {
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: rp.version,
		Instance: rp.uuid, VClock: o.vclock, HasVClock: true, PrevVClock: o.prev, HasPrevVClock: o.hasPrev}
	if o.src != nil && o.src.hdr.ok {
		src := o.src.hdr.meta
		if src.Tarantool != "" {
			m.Tarantool = src.Tarantool
		}
		m.Version, m.InstanceKey, m.Lines = src.Version, src.InstanceKey, src.Lines
	}
	return m
}

// writeWAL writes one output WAL: the header, every intact block (copied
// byte for byte, or rebuilt from the rows kept when some rows of it are
// dropped) and the EOF marker.
func (rp *run) writeWAL(o *outWAL) (err error) {
	fw, err := createFile(filepath.Join(rp.opts.OutDir, o.name), rp.opts.NoSync)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fw.abort()
		}
	}()
	w := o.src
	if w == nil {
		if _, err := fw.Write(rp.walMeta(o).Encode()); err != nil {
			return err
		}
		return fw.close(true)
	}
	f, err := os.Open(w.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if o.keepHeader {
		if _, err := io.Copy(fw, io.NewSectionReader(f, 0, w.hdr.start)); err != nil {
			return err
		}
	} else if _, err := fw.Write(rp.walMeta(o).Encode()); err != nil {
		return err
	}
	for i := range w.pieces {
		p := &w.pieces[i]
		if p.kind != pBlock {
			continue
		}
		if len(p.drop) == 0 && !p.partial {
			if _, err := io.Copy(fw, io.NewSectionReader(f, p.off, p.size)); err != nil {
				return err
			}
			continue
		}
		if err := repack(fw, f, w.path, p); err != nil {
			return err
		}
	}
	return fw.close(true)
}

// repack writes the rows of block p that are kept as a new block.
func repack(fw *fileWriter, f io.ReaderAt, name string, p *piece) error {
	src := io.MultiReader(strings.NewReader(fakeXlogHeader), io.NewSectionReader(f, p.off, p.size))
	rd, err := format.NewReader(src, format.Options{Name: name})
	if err != nil {
		return err
	}
	defer rd.Close()
	var payload []byte
	for i := 0; i < p.nrows; i++ {
		row, err := rd.Next()
		if err != nil {
			return fmt.Errorf("%s: block at offset %d: %v", name, p.off, err)
		}
		if slices.Contains(p.drop, i) {
			continue
		}
		payload = append(payload, row.RawHeader...)
		payload = append(payload, row.Body...)
	}
	if len(payload) == 0 {
		return nil
	}
	return fw.block(payload)
}

// writeSnap copies a trusted snapshot: its data up to the EOF marker, with
// a new header when the old one was damaged.
func (rp *run) writeSnap(sf *snapFile) (err error) {
	fw, err := createFile(filepath.Join(rp.opts.OutSnapDir, sf.outName), rp.opts.NoSync)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fw.abort()
		}
	}()
	f, err := os.Open(sf.path)
	if err != nil {
		return err
	}
	defer f.Close()
	from := int64(0)
	if sf.rebuilt {
		m := &format.Meta{FileType: format.TypeSNAP, Version: format.Version13, Tarantool: rp.version,
			Instance: rp.uuid, VClock: sf.vclock, HasVClock: true}
		if _, err := fw.Write(m.Encode()); err != nil {
			return err
		}
		from = sf.hdr.start
	}
	if _, err := io.Copy(fw, io.NewSectionReader(f, from, sf.end-from)); err != nil {
		return err
	}
	return fw.close(false)
}

// writeSide writes rows that are not in the recovered logs to a side file
// under lost/, with our writer. Its name is not a signature of its VClock,
// so Tarantool would never take it for a WAL of the instance.
func (rp *run) writeSide(rel string, from *walFile, rows []*format.Row, verified bool) error {
	path := filepath.Join(rp.opts.OutDir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	v := "yes"
	if !verified {
		v = "no: decoded from damaged bytes"
	}
	var vc format.VClock
	if o := rp.outFor(from); o != nil {
		vc = o.vclock
	}
	m := &format.Meta{FileType: format.TypeXLOG, Version: format.Version13, Tarantool: rp.version,
		Instance: rp.uuid, VClock: vc, HasVClock: true,
		Lines: []format.MetaKV{{Key: "Lost-From", Value: from.name}, {Key: "Verified", Value: v}}}
	bw := bufio.NewWriter(f)
	w, err := format.NewWriter(bw, m, format.WriterOptions{BlockSize: 1, NoSync: rp.opts.NoSync})
	if err == nil {
		for _, r := range rows {
			if err = w.WriteRow(r); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil && !rp.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

func (rp *run) outFor(w *walFile) *outWAL {
	for _, o := range rp.outs {
		if o.src == w {
			return o
		}
	}
	return nil
}

// copyTree copies a file or a directory tree byte for byte.
func copyTree(src, dst string, noSync bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target, noSync)
	})
}

func copyFile(src, dst string, noSync bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil && !noSync {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}
