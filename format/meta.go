package format

import (
	"bytes"
	"fmt"
	"strings"
)

// File types written in the first line of the text header.
const (
	TypeXLOG  = "XLOG"
	TypeSNAP  = "SNAP"
	TypeVYLOG = "VYLOG"
	TypeRUN   = "RUN"
	TypeINDEX = "INDEX"
)

// Format versions.
const (
	Version12 = "0.12"
	Version13 = "0.13"
)

// MetaMaxLen is the longest text header Tarantool accepts (1024 bytes plus
// the longest vclock text).
const MetaMaxLen = 1858

// MetaKV is one "Key: value" line of the text header.
type MetaKV struct {
	Key, Value string
}

// Meta is the text header of a log file.
type Meta struct {
	FileType string // XLOG, SNAP, VYLOG, RUN, INDEX or anything else found
	Version  string // format version: 0.12 or 0.13
	// Instance is the instance UUID (the "Instance:" line, or "Server:" in
	// files written before 1.7.4).
	Instance string
	// InstanceKey is the key the UUID was found under ("Instance" or "Server").
	InstanceKey string
	// Tarantool is the "Version:" line: the version of the writer.
	Tarantool     string
	VClock        VClock
	HasVClock     bool
	PrevVClock    VClock
	HasPrevVClock bool
	// Lines holds every key line in file order, known keys included.
	Lines []MetaKV
	// Size is the length of the header including the terminating empty line:
	// the offset of the first block.
	Size int64
}

// KnownFileType reports whether the file type is one Tarantool writes.
func (m *Meta) KnownFileType() bool {
	switch m.FileType {
	case TypeXLOG, TypeSNAP, TypeVYLOG, TypeRUN, TypeINDEX:
		return true
	}
	return false
}

// Ext returns the file name extension of the file type (".xlog", ...).
func (m *Meta) Ext() string { return ExtOf(m.FileType) }

// ExtOf returns the extension Tarantool uses for a file type.
func ExtOf(fileType string) string { return "." + strings.ToLower(fileType) }

// Get returns the value of key from the header lines.
func (m *Meta) Get(key string) (string, bool) {
	for _, kv := range m.Lines {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// errMetaIncomplete is returned by parseMeta when more data is needed.
var errMetaIncomplete = fmt.Errorf("incomplete header")

// ParseMeta parses the text header at the start of b. It returns the header
// and its length; the binary part starts at that offset.
func ParseMeta(b []byte) (*Meta, error) {
	end := bytes.Index(b, []byte("\n\n"))
	if end < 0 {
		if len(b) >= MetaMaxLen {
			return nil, fmt.Errorf("no end of the text header in the first %d bytes", MetaMaxLen)
		}
		return nil, errMetaIncomplete
	}
	m := &Meta{Size: int64(end + 2)}
	lines := strings.Split(string(b[:end]), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("text header has no format version line")
	}
	m.FileType = lines[0]
	m.Version = lines[1]
	if len(m.FileType) >= 10 || len(m.FileType) == 0 || !printable(m.FileType) {
		return nil, fmt.Errorf("bad file type line %q", lines[0])
	}
	if len(m.Version) >= 10 || !printable(m.Version) {
		return nil, fmt.Errorf("bad format version line %q", lines[1])
	}
	if m.Version != Version12 && m.Version != Version13 {
		return m, fmt.Errorf("unsupported file format version %s", m.Version)
	}
	for _, line := range lines[2:] {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return m, fmt.Errorf("header line %q has no ':'", line)
		}
		v = strings.TrimLeft(v, " \t")
		v = strings.TrimRight(v, "\r")
		m.Lines = append(m.Lines, MetaKV{Key: k, Value: v})
		switch k {
		case "Instance", "Server":
			if len(v) != 36 {
				return m, fmt.Errorf("bad instance UUID %q", v)
			}
			m.Instance, m.InstanceKey = v, k
		case "Version":
			m.Tarantool = v
		case "VClock":
			vc, err := ParseVClock(v)
			if err != nil {
				return m, fmt.Errorf("bad VClock: %w", err)
			}
			m.VClock, m.HasVClock = vc, true
		case "PrevVClock":
			vc, err := ParseVClock(v)
			if err != nil {
				return m, fmt.Errorf("bad PrevVClock: %w", err)
			}
			m.PrevVClock, m.HasPrevVClock = vc, true
		}
	}
	return m, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Encode renders the header as Tarantool writes it: file type, version,
// Version, Instance, VClock, PrevVClock, then any other lines kept in Lines.
func (m *Meta) Encode() []byte {
	var b bytes.Buffer
	version := m.Version
	if version == "" {
		version = Version13
	}
	fmt.Fprintf(&b, "%s\n%s\n", m.FileType, version)
	if m.Tarantool != "" {
		fmt.Fprintf(&b, "Version: %s\n", m.Tarantool)
	}
	if m.Instance != "" {
		key := m.InstanceKey
		if key == "" {
			key = "Instance"
			if version == Version12 {
				key = "Server"
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", key, m.Instance)
	}
	if m.HasVClock {
		fmt.Fprintf(&b, "VClock: %s\n", m.VClock)
	}
	if m.HasPrevVClock {
		fmt.Fprintf(&b, "PrevVClock: %s\n", m.PrevVClock)
	}
	for _, kv := range m.Lines {
		switch kv.Key {
		case "Version", "Instance", "Server", "VClock", "PrevVClock":
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", kv.Key, kv.Value)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// FileName returns the name Tarantool gives a file of this type and vclock:
// the signature as 20 decimal digits plus the extension.
func FileName(fileType string, vc VClock) string {
	return fmt.Sprintf("%020d%s", vc.Signature(), ExtOf(fileType))
}
