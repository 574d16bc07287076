package box

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Tarantool release number. The zero value means unknown
// (files written before 1.7.4 carry no "Version:" line).
type Version struct {
	Major, Minor, Patch uint32
}

// ParseVersion reads "major.minor.patch" and ignores whatever follows the
// patch number ("2.6.0-0-g47aa4e01e", "2.10.0-beta1").
func ParseVersion(s string) (Version, error) {
	orig := s
	var nums [3]uint32
	for i := range nums {
		j := 0
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		n, err := strconv.ParseUint(s[:j], 10, 32)
		if err != nil {
			return Version{}, fmt.Errorf("malformed version %q", orig)
		}
		nums[i] = uint32(n)
		s = s[j:]
		if i < 2 {
			if !strings.HasPrefix(s, ".") {
				return Version{}, fmt.Errorf("malformed version %q", orig)
			}
			s = s[1:]
		}
	}
	return Version{nums[0], nums[1], nums[2]}, nil
}

// VersionOf reads a version as files write it in their "Version:" line,
// leniently: "2.6" is 2.6.0, a patch that is not a number is 0, and
// anything without major and minor numbers is the zero (unknown) version.
func VersionOf(s string) Version {
	parts := strings.SplitN(strings.TrimSpace(s), ".", 3)
	if len(parts) < 2 {
		return Version{}
	}
	num := func(p string) (uint32, bool) {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		n, err := strconv.ParseUint(p[:end], 10, 32)
		return uint32(n), err == nil
	}
	var v Version
	var ok bool
	if v.Major, ok = num(parts[0]); !ok {
		return Version{}
	}
	if v.Minor, ok = num(parts[1]); !ok {
		return Version{}
	}
	if len(parts) == 3 {
		v.Patch, _ = num(parts[2])
	}
	return v
}

// Known reports whether the version is known (not zero).
func (v Version) Known() bool { return v.Major != 0 }

// ID returns the version as one comparable number, major<<16 | minor<<8 |
// patch (2.6.0 is 0x020600), as the protocol sends it.
func (v Version) ID() uint32 {
	return v.Major<<16 | (v.Minor&0xff)<<8 | v.Patch&0xff
}

// VersionFromID is the inverse of Version.ID.
func VersionFromID(id uint32) Version {
	return Version{id >> 16, id >> 8 & 0xff, id & 0xff}
}

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// AtLeast reports whether v is major.minor.patch or newer.
func (v Version) AtLeast(major, minor, patch uint32) bool {
	return !v.Less(Version{major, minor, patch})
}

// Since reports whether v has a feature that appeared in release first and
// was backported to older branches in the releases backports ("2.6.3",
// "2.7.2", ...): v is at least the backport of its own branch, or, when
// its branch got no backport, at least first. A branch older than every
// listed one never has the feature.
func (v Version) Since(first string, backports ...string) bool {
	for _, b := range backports {
		bv := VersionOf(b)
		if v.Major == bv.Major && v.Minor == bv.Minor {
			return !v.Less(bv)
		}
	}
	return !v.Less(VersionOf(first))
}

// String returns "major.minor.patch", or "unknown" for the zero version.
func (v Version) String() string {
	if !v.Known() {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}
