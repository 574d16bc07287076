package verify

import (
	"fmt"
	"strconv"
	"strings"
)

// version is a Tarantool release number taken from a file header's
// "Version:" line (e.g. "2.6.0-0-g47aa4e01e"). The zero value means
// unknown (files without the line were written before 1.7.4).
type version struct {
	major, minor, patch int
}

func parseVersion(s string) version {
	s = strings.TrimSpace(s)
	var v version
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return v
	}
	num := func(p string) (int, bool) {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(p[:end])
		return n, err == nil
	}
	var ok bool
	if v.major, ok = num(parts[0]); !ok {
		return version{}
	}
	if v.minor, ok = num(parts[1]); !ok {
		return version{}
	}
	if len(parts) == 3 {
		v.patch, _ = num(parts[2])
	}
	return v
}

func (v version) known() bool { return v.major != 0 }

func (v version) String() string {
	if !v.known() {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch)
}

func (v version) less(o version) bool {
	if v.major != o.major {
		return v.major < o.major
	}
	if v.minor != o.minor {
		return v.minor < o.minor
	}
	return v.patch < o.patch
}

// atLeast reports whether v is at least the release of its own minor
// branch listed in fixes ("2.6.3", "2.7.2", ...), or at least since when
// v's branch is newer than every listed branch. A branch older than all
// listed ones never has the feature.
func (v version) atLeast(since string, backports ...string) bool {
	first := parseVersion(since)
	for _, b := range backports {
		bv := parseVersion(b)
		if v.major == bv.major && v.minor == bv.minor {
			return !v.less(bv)
		}
	}
	return !v.less(first)
}

// rules are the synchronous-replication rules of one writer version
// (FORMAT.md 6.5, 6.6).
type rules struct {
	v version
	// flags: WAIT_SYNC/WAIT_ACK are written (2.6.3/2.7.2/2.8.1+); before,
	// synchronous transactions are found by their spaces.
	flags bool
	// implicitOwner: the origin of the first transaction entering an empty
	// queue becomes its owner (before 2.7.3/2.8.2/2.10.0).
	implicitOwner bool
	// masterMismatch: a CONFIRM/ROLLBACK for another owner is an error
	// (ER_SYNC_MASTER_MISMATCH: 2.5.x, 2.6.0, 2.6.1, 2.7.0).
	masterMismatch bool
	// filters: the receiver checks synchro rows for split-brain
	// (2.10.1+), generation B from 3.5.2/3.6.3/3.7.0.
	filters, filtersB bool
	// outdatedConfirmOK: a CONFIRM for an already confirmed LSN is not an
	// error (3.5.0/2.11.8+, commit e454545e53).
	outdatedConfirmOK bool
	// staleAsyncChecked: an async transaction from an old term is
	// refused (2.10.1+); before, it was applied.
	staleAsyncChecked bool
	// snapshotLimbo: snapshots carry the queue state in a PROMOTE row
	// (2.7.3/2.8.2/2.10.0+).
	snapshotLimbo bool
	// termStart is the initial queue term (1 since 3.8.0).
	termStart uint64
}

func rulesFor(s string) rules {
	v := parseVersion(s)
	r := rules{v: v}
	if !v.known() {
		// Very old writer (no Version line): no synchronous replication.
		return r
	}
	r.flags = v.atLeast("2.8.1", "2.6.3", "2.7.2")
	r.implicitOwner = !v.atLeast("2.10.0", "2.7.3", "2.8.2") || (v.major == 2 && v.minor == 6)
	r.masterMismatch = v.major == 2 && (v.minor == 5 || (v.minor == 6 && v.patch <= 1) || (v.minor == 7 && v.patch == 0))
	r.filters = v.atLeast("2.10.1")
	r.filtersB = v.atLeast("3.7.0", "3.5.2", "3.6.3")
	r.outdatedConfirmOK = v.atLeast("3.5.0", "2.11.8")
	r.staleAsyncChecked = r.filters
	r.snapshotLimbo = v.atLeast("2.10.0", "2.7.3", "2.8.2") && !(v.major == 2 && v.minor == 6)
	if v.atLeast("3.8.0") {
		r.termStart = 1
	}
	return r
}
