package format

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xlogtool/xlogtool/box"
)

// Filter selects rows the way `tt cat` does, plus row types.
//
//   - From: rows with LSN >= From (inclusive).
//   - To: rows with LSN < To (exclusive, as in tt, whose help text says
//     otherwise); 0 means no bound.
//   - Before: rows with a timestamp < Before (exclusive); rows without a
//     timestamp count as 0; NaN means no bound.
//   - Spaces: rows of these spaces only (rows without a space are dropped).
//   - Without Spaces, rows of spaces below 512 are hidden unless ShowSystem;
//     rows without a space id (NOP, RAFT, synchro rows) are always shown.
//   - Replicas: rows of these replica ids only (0 selects local rows).
//   - Types: rows of these types only.
type Filter struct {
	From       uint64
	To         uint64
	Before     float64
	Spaces     []uint32
	ShowSystem bool
	Replicas   []uint32
	Types      []box.RowType
}

// NewFilter returns a filter that lets every row through.
func NewFilter() Filter { return Filter{Before: math.NaN(), ShowSystem: true} }

// Match reports whether the row passes the filter.
func (f *Filter) Match(r *Row) bool {
	if r.LSN < f.From || (f.To != 0 && r.LSN >= f.To) {
		return false
	}
	if !math.IsNaN(f.Before) && r.Timestamp >= f.Before {
		return false
	}
	if len(f.Replicas) > 0 && !containsU32(f.Replicas, r.ReplicaID) {
		return false
	}
	if len(f.Types) > 0 {
		ok := false
		for _, t := range f.Types {
			ok = ok || t == r.Type
		}
		if !ok {
			return false
		}
	}
	if len(f.Spaces) > 0 || !f.ShowSystem {
		sid, has := r.SpaceID()
		if len(f.Spaces) > 0 {
			return has && containsU32(f.Spaces, sid)
		}
		if has && sid < box.SystemSpaceMax {
			return false
		}
	}
	return true
}

func containsU32(list []uint32, v uint32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ParseTimestamp accepts a Unix time as a decimal number of seconds or an
// RFC 3339 time (with optional fractional seconds).
func ParseTimestamp(s string) (float64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("bad timestamp %q: want Unix seconds or RFC 3339 (2024-11-14T14:02:36.818+00:00)", s)
	}
	return float64(t.Unix()) + float64(t.Nanosecond())/1e9, nil
}

// ParseTypes parses a comma-separated list of row types.
func ParseTypes(list []string) ([]box.RowType, error) {
	var out []box.RowType
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			t, err := box.ParseRowType(s)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	return out, nil
}
