package repair

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/xlogtool/xlogtool/format"
)

// checkOutput reads the output back the way Tarantool's recovery would and
// returns every rule it breaks: every file complete (EOF marker, nothing
// after it, checksums), names equal to the header signatures, the instance
// UUID, the newest snapshot, WAL VClocks growing along the chain with each
// PrevVClock equal to the VClock before it, a WAL to start recovery from,
// rows above their file's VClock with growing LSNs, and whole
// transactions only.
func checkOutput(walDir, snapDir string, snapVClock format.VClock, uuid string) []string {
	var probs []string
	bad := func(f string, a ...any) { probs = append(probs, fmt.Sprintf(f, a...)) }

	snaps, err := format.ScanDir(snapDir)
	if err != nil {
		return []string{err.Error()}
	}
	var newest *format.Meta
	for _, ref := range snaps {
		if ref.Ext != ".snap" {
			continue
		}
		m, err := readAllChecked(ref.Path, nil)
		if err != nil {
			bad("%s: %v", ref.Path, err)
			continue
		}
		if m.FileType != format.TypeSNAP || m.Instance != uuid || !namedBy(ref.Path, m) {
			bad("%s: header does not match (type %s, instance %s, vclock %s)", ref.Path, m.FileType, m.Instance, m.VClock)
		}
		if newest == nil || newest.VClock.LessEq(m.VClock) {
			newest = m
		} else if !m.VClock.LessEq(newest.VClock) {
			bad("%s: VClock %s is not ordered with %s", ref.Path, m.VClock, newest.VClock)
		}
	}
	if newest == nil {
		bad("no snapshot in %s", snapDir)
	} else if !newest.VClock.Equal(snapVClock) {
		bad("the newest snapshot has VClock %s, want %s", newest.VClock, snapVClock)
	}

	wals, err := format.ScanDir(walDir)
	if err != nil {
		return append(probs, err.Error())
	}
	var prev *format.Meta
	var end format.VClock
	start := false
	for _, ref := range wals {
		if ref.Ext != ".xlog" {
			continue
		}
		name := filepath.Base(ref.Path)
		var hdr *format.Meta
		var vc format.VClock
		tx := format.NewTxAssembler(format.TxOptions{})
		m, err := readAllChecked(ref.Path, func(m *format.Meta, r *format.Row) error {
			if hdr == nil {
				hdr, vc = m, m.VClock.Max(end)
			}
			if r.LSN <= vc.Get(r.ReplicaID) {
				return fmt.Errorf("row %d:%d is not above %s", r.ReplicaID, r.LSN, vc)
			}
			vc.Set(r.ReplicaID, r.LSN)
			return checkTxs(tx.Add(r))
		})
		if err == nil && tx.Open() {
			err = errors.New("the file ends inside a transaction")
		}
		if err != nil {
			bad("%s: %v", name, err)
			if m == nil {
				continue
			}
		}
		if m.FileType != format.TypeXLOG || m.Instance != uuid || !namedBy(ref.Path, m) {
			bad("%s: header does not match (type %s, instance %s, vclock %s)", name, m.FileType, m.Instance, m.VClock)
		}
		if prev != nil {
			if m.VClock.Compare(prev.VClock) != format.After {
				bad("%s: VClock %s does not follow %s", name, m.VClock, prev.VClock)
			}
			if m.HasPrevVClock && !m.PrevVClock.Equal(prev.VClock) {
				bad("%s: PrevVClock %s, the file before has VClock %s", name, m.PrevVClock, prev.VClock)
			}
		}
		if m.VClock.LessEq(snapVClock) {
			start = true
		}
		end = end.Max(m.VClock).Max(vc)
		prev = m
	}
	if prev != nil && !start {
		bad("no WAL file to start recovery from snapshot %s", snapVClock)
	}
	return probs
}

// readAllChecked reads a file without skipping anything; it fails unless
// the file is complete. fn sees every row.
func readAllChecked(path string, fn func(*format.Meta, *format.Row) error) (*format.Meta, error) {
	r, err := format.Open(path, format.Options{})
	if err != nil {
		if r != nil {
			return r.Meta(), err
		}
		return nil, err
	}
	defer r.Close()
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return r.Meta(), err
		}
		if fn != nil {
			if err := fn(r.Meta(), row); err != nil {
				return r.Meta(), err
			}
		}
	}
	if r.End() != format.EndClean {
		return r.Meta(), fmt.Errorf("ends %s", r.End())
	}
	return r.Meta(), nil
}

// checkTxs checks the transactions a row ended against Tarantool's
// transaction rules.
func checkTxs(txs []*format.Tx) error {
	for _, t := range txs {
		switch {
		case t.End == format.TxInterrupted:
			return fmt.Errorf("row %d:%d starts a transaction before tsn %d committed", t.By.ReplicaID, t.By.LSN, t.TSN)
		case t.Headless && t.Origin != 0:
			return fmt.Errorf("row %d:%d: first global row of a transaction with LSN/TSN mismatch (tsn %d)", t.Origin, t.FirstGlobal, t.TSN)
		case t.Headless:
			return fmt.Errorf("local transaction tsn %d does not start at its first row %d", t.TSN, t.FirstLSN)
		}
	}
	return nil
}

// namedBy reports whether the file's name is the signature of its header's
// vclock, the only name Tarantool reads it under.
func namedBy(path string, m *format.Meta) bool {
	sig, _, ok := format.ParseFileName(path)
	return ok && sig == m.VClock.Signature()
}
