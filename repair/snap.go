package repair

import (
	"errors"
	"io"
	"os"
	"strings"

	"github.com/xlogtool/xlogtool/format"
)

// snapFile is one input snapshot and whether it can be trusted.
type snapFile struct {
	path, name string
	sig        uint64
	size       int64
	hdr        headerInfo

	trusted bool
	why     string // why it is not trusted
	// end is where the data to copy ends: just after the EOF marker.
	end int64
	// vclock is the snapshot's vclock (from its header, or for a rebuilt
	// header from the WAL of the same signature).
	vclock    format.VClock
	hasVClock bool
	instance  string
	rebuilt   bool   // the header is written anew
	outName   string // name in the output
	foreign   bool
}

// analyzeSnap reads a snapshot completely. A snapshot is trusted only when
// every block checks out, every row decodes and the EOF marker is there
// (bytes after the marker are cut off); its header may be rebuilt later.
func analyzeSnap(sf *snapFile) error {
	f, err := os.Open(sf.path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	sf.size = st.Size()
	s := newScanner(f, sf.size)
	sf.hdr = s.readHeader(format.TypeSNAP, sf.sig)
	if s.err != nil {
		return s.err
	}
	if m := sf.hdr.meta; sf.hdr.ok {
		sf.vclock, sf.hasVClock, sf.instance = m.VClock, true, m.Instance
	}
	if !sf.hdr.ok && !sf.hdr.clean {
		sf.why = "the header is damaged and data may be missing after it"
		return nil
	}
	base := sf.hdr.start - int64(len(fakeSnapHeader))
	src := io.MultiReader(strings.NewReader(fakeSnapHeader), io.NewSectionReader(f, sf.hdr.start, sf.size-sf.hdr.start))
	rd, err := format.NewReader(src, format.Options{Name: sf.path})
	if err != nil {
		return err
	}
	defer rd.Close()
	for {
		_, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e, ok := format.AsError(err)
			switch {
			case !ok || e.Kind == format.KindIO:
				return err
			case e.Kind == format.KindAfterEOF:
				sf.trusted, sf.end = true, e.Offset+base
				return nil
			}
			sf.why = e.Kind.String() + " at offset " + itoa(e.Offset+base) + ": " + e.Msg
			return nil
		}
	}
	if rd.End() != format.EndClean {
		sf.why = "no EOF marker (" + rd.End().String() + "): the snapshot may be incomplete"
		return nil
	}
	sf.trusted, sf.end = true, rd.GoodEnd()+base
	return nil
}
