package iproto

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// bodyWriter appends a body's bytes; the requests below implement
// EncodeBody through it so that encoding and decoding share one layout.
type bodyAppender interface {
	AppendBody(b []byte) []byte
}

func writeBody(enc *msgpack.Encoder, r bodyAppender) error {
	b := r.AppendBody(nil)
	if len(b) == 0 {
		return nil
	}
	_, err := enc.Writer().Write(b)
	return err
}

// FetchSnapshotRequest asks for the server's data as an anonymous replica
// (FETCH_SNAPSHOT). Servers before 3.0 take no body: the zero value encodes
// none. ServerVersion > 0 makes a 3.0+ server send the JOIN_META stage;
// InstanceUUID makes a 3.3+ server register a WAL-GC consumer.
type FetchSnapshotRequest struct {
	ServerVersion uint32
	InstanceUUID  string
}

// JoinRequest joins a replica to the replica set (JOIN).
type JoinRequest struct {
	InstanceUUID  string
	ServerVersion uint32 // 0: not sent (pre-2.7.3 form, no META stage)
	InstanceName  string // 3.0+; empty: not sent
}

// RegisterRequest turns an anonymous replica into a normal one (REGISTER).
type RegisterRequest struct {
	InstanceUUID string
	InstanceName string // 3.0+; empty: not sent
	VClock       format.VClock
}

// SubscribeRequest starts the stream of WAL rows after VClock (SUBSCRIBE).
type SubscribeRequest struct {
	ReplicasetUUID string
	InstanceUUID   string
	VClock         format.VClock
	// ServerVersion is the subscriber's version id (0: not sent). A 2.6
	// relay ignores the ACKs of a subscriber that sends none and treats
	// the rows it has sent as acknowledged instead.
	ServerVersion  uint32
	Anon           bool
	IDFilter       []uint32
	ReplicasetName string // 3.0+; empty: not sent
	InstanceName   string // 3.0+; empty: not sent
}

// VoteRequest asks for the server's ballot (VOTE). It has no body.
type VoteRequest struct{}

func (FetchSnapshotRequest) Type() box.RowType { return box.TypeFetchSnap }
func (JoinRequest) Type() box.RowType          { return box.TypeJoin }
func (RegisterRequest) Type() box.RowType      { return box.TypeRegister }
func (SubscribeRequest) Type() box.RowType     { return box.TypeSubscribe }
func (VoteRequest) Type() box.RowType          { return box.TypeVote }

func (r FetchSnapshotRequest) EncodeBody(enc *msgpack.Encoder) error { return writeBody(enc, r) }
func (r JoinRequest) EncodeBody(enc *msgpack.Encoder) error          { return writeBody(enc, r) }
func (r RegisterRequest) EncodeBody(enc *msgpack.Encoder) error      { return writeBody(enc, r) }
func (r SubscribeRequest) EncodeBody(enc *msgpack.Encoder) error     { return writeBody(enc, r) }
func (VoteRequest) EncodeBody(*msgpack.Encoder) error                { return nil }

// AppendBody appends the request body; nothing when both fields are zero.
func (r FetchSnapshotRequest) AppendBody(b []byte) []byte {
	n := count(r.ServerVersion != 0, r.InstanceUUID != "")
	if n == 0 {
		return b
	}
	b = format.AppendMapLen(b, n)
	if r.ServerVersion != 0 {
		b = format.AppendUint(append(b, box.KeyServerVersion), uint64(r.ServerVersion))
	}
	if r.InstanceUUID != "" {
		b = format.AppendString(append(b, box.KeyInstanceUUID), r.InstanceUUID)
	}
	return b
}

// AppendBody appends the request body.
func (r JoinRequest) AppendBody(b []byte) []byte {
	b = format.AppendMapLen(b, 1+count(r.ServerVersion != 0, r.InstanceName != ""))
	b = format.AppendString(append(b, box.KeyInstanceUUID), r.InstanceUUID)
	if r.ServerVersion != 0 {
		b = format.AppendUint(append(b, box.KeyServerVersion), uint64(r.ServerVersion))
	}
	if r.InstanceName != "" {
		b = format.AppendString(append(b, box.KeyInstanceName), r.InstanceName)
	}
	return b
}

// AppendBody appends the request body.
func (r RegisterRequest) AppendBody(b []byte) []byte {
	b = format.AppendMapLen(b, 2+count(r.InstanceName != ""))
	b = format.AppendString(append(b, box.KeyInstanceUUID), r.InstanceUUID)
	if r.InstanceName != "" {
		b = format.AppendString(append(b, box.KeyInstanceName), r.InstanceName)
	}
	return format.AppendVClock(append(b, box.KeyVClock), r.VClock)
}

// AppendBody appends the request body.
func (r SubscribeRequest) AppendBody(b []byte) []byte {
	b = format.AppendMapLen(b, 4+count(r.ServerVersion != 0, r.IDFilter != nil, r.ReplicasetName != "", r.InstanceName != ""))
	b = format.AppendString(append(b, box.KeyReplicasetUUID), r.ReplicasetUUID)
	b = format.AppendString(append(b, box.KeyInstanceUUID), r.InstanceUUID)
	b = format.AppendVClock(append(b, box.KeyVClock), r.VClock)
	if r.ServerVersion != 0 {
		b = format.AppendUint(append(b, box.KeyServerVersion), uint64(r.ServerVersion))
	}
	b = format.AppendBool(append(b, box.KeyReplicaAnon), r.Anon)
	if r.IDFilter != nil {
		b = format.AppendArrayLen(append(b, box.KeyIDFilter), len(r.IDFilter))
		for _, id := range r.IDFilter {
			b = format.AppendUint(b, uint64(id))
		}
	}
	if r.ReplicasetName != "" {
		b = format.AppendString(append(b, box.KeyReplicasetName), r.ReplicasetName)
	}
	if r.InstanceName != "" {
		b = format.AppendString(append(b, box.KeyInstanceName), r.InstanceName)
	}
	return b
}

// DecodeFetchSnapshot decodes a FETCH_SNAPSHOT body (empty for 2.x
// clients). Keys it does not know are skipped.
func DecodeFetchSnapshot(body []byte) (FetchSnapshotRequest, error) {
	var r FetchSnapshotRequest
	err := eachKey(body, "FETCH_SNAPSHOT", func(k uint64, c *format.MPCursor) error {
		var err error
		switch k {
		case box.KeyServerVersion:
			r.ServerVersion, err = mpUint32(c)
		case box.KeyInstanceUUID:
			r.InstanceUUID, err = mpString(c)
		default:
			err = c.Skip()
		}
		return err
	})
	return r, err
}

// DecodeJoin decodes a JOIN body.
func DecodeJoin(body []byte) (JoinRequest, error) {
	var r JoinRequest
	err := eachKey(body, "JOIN", func(k uint64, c *format.MPCursor) error {
		var err error
		switch k {
		case box.KeyInstanceUUID:
			r.InstanceUUID, err = mpString(c)
		case box.KeyServerVersion:
			r.ServerVersion, err = mpUint32(c)
		case box.KeyInstanceName:
			r.InstanceName, err = mpString(c)
		default:
			err = c.Skip()
		}
		return err
	})
	if err == nil && r.InstanceUUID == "" {
		err = fmt.Errorf("iproto: JOIN body has no instance UUID")
	}
	return r, err
}

// DecodeRegister decodes a REGISTER body.
func DecodeRegister(body []byte) (RegisterRequest, error) {
	var r RegisterRequest
	err := eachKey(body, "REGISTER", func(k uint64, c *format.MPCursor) error {
		var err error
		switch k {
		case box.KeyInstanceUUID:
			r.InstanceUUID, err = mpString(c)
		case box.KeyInstanceName:
			r.InstanceName, err = mpString(c)
		case box.KeyVClock:
			r.VClock, err = format.DecodeVClock(c)
		default:
			err = c.Skip()
		}
		return err
	})
	if err == nil && r.InstanceUUID == "" {
		err = fmt.Errorf("iproto: REGISTER body has no instance UUID")
	}
	return r, err
}

// DecodeSubscribe decodes a SUBSCRIBE body (keys in any order).
func DecodeSubscribe(body []byte) (SubscribeRequest, error) {
	var r SubscribeRequest
	err := eachKey(body, "SUBSCRIBE", func(k uint64, c *format.MPCursor) error {
		var err error
		switch k {
		case box.KeyReplicasetUUID:
			r.ReplicasetUUID, err = mpString(c)
		case box.KeyInstanceUUID:
			r.InstanceUUID, err = mpString(c)
		case box.KeyVClock:
			r.VClock, err = format.DecodeVClock(c)
		case box.KeyServerVersion:
			r.ServerVersion, err = mpUint32(c)
		case box.KeyReplicaAnon:
			r.Anon, err = c.Bool()
		case box.KeyIDFilter:
			var n int
			if n, err = c.ArrayLen(); err != nil {
				return err
			}
			r.IDFilter = make([]uint32, 0, min(n, format.VClockMax))
			for range n {
				id, err := mpUint32(c)
				if err != nil {
					return err
				}
				r.IDFilter = append(r.IDFilter, id)
			}
		case box.KeyReplicasetName:
			r.ReplicasetName, err = mpString(c)
		case box.KeyInstanceName:
			r.InstanceName, err = mpString(c)
		default:
			err = c.Skip()
		}
		return err
	})
	return r, err
}

// VClockResponse is the body {VCLOCK: vclock} of the OK packets that open
// and close the FETCH_SNAPSHOT and JOIN streams and end REGISTER.
type VClockResponse struct {
	VClock format.VClock
}

// AppendBody appends the body.
func (r VClockResponse) AppendBody(b []byte) []byte {
	return format.AppendVClock(append(format.AppendMapLen(b, 1), box.KeyVClock), r.VClock)
}

// DecodeVClockResponse decodes the body of such an OK packet.
func DecodeVClockResponse(body []byte) (VClockResponse, error) {
	var r VClockResponse
	found := false
	err := eachKey(body, "vclock response", func(k uint64, c *format.MPCursor) error {
		if k != box.KeyVClock {
			return c.Skip()
		}
		found = true
		var err error
		r.VClock, err = format.DecodeVClock(c)
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("iproto: response body has no vclock")
	}
	return r, err
}

// SubscribeResponse is the body of the OK that accepts a SUBSCRIBE. Its
// header carries the server's replica id (key 0x02).
type SubscribeResponse struct {
	VClock         format.VClock
	ReplicasetUUID string
	ReplicasetName string // 3.x, when set
}

// AppendBody appends the body.
func (r SubscribeResponse) AppendBody(b []byte) []byte {
	b = format.AppendMapLen(b, 2+count(r.ReplicasetName != ""))
	b = format.AppendVClock(append(b, box.KeyVClock), r.VClock)
	b = format.AppendString(append(b, box.KeyReplicasetUUID), r.ReplicasetUUID)
	if r.ReplicasetName != "" {
		b = format.AppendString(append(b, box.KeyReplicasetName), r.ReplicasetName)
	}
	return b
}

// DecodeSubscribeResponse decodes the body of the OK to SUBSCRIBE.
func DecodeSubscribeResponse(body []byte) (SubscribeResponse, error) {
	var r SubscribeResponse
	found := false
	err := eachKey(body, "SUBSCRIBE response", func(k uint64, c *format.MPCursor) error {
		var err error
		switch k {
		case box.KeyVClock:
			found = true
			r.VClock, err = format.DecodeVClock(c)
		case box.KeyReplicasetUUID:
			r.ReplicasetUUID, err = mpString(c)
		case box.KeyReplicasetName:
			r.ReplicasetName, err = mpString(c)
		default:
			err = c.Skip()
		}
		return err
	})
	if err == nil && !found {
		err = fmt.Errorf("iproto: SUBSCRIBE response has no vclock")
	}
	return r, err
}

// Heartbeat is the body of the OK packets a relay sends when idle: none up
// to 2.10, {VCLOCK_SYNC: n} from 2.11 on.
type Heartbeat struct {
	VClockSync    uint64
	HasVClockSync bool
}

// AppendBody appends the body; nothing without a VCLOCK_SYNC.
func (h Heartbeat) AppendBody(b []byte) []byte {
	if !h.HasVClockSync {
		return b
	}
	return format.AppendUint(append(format.AppendMapLen(b, 1), box.KeyVClockSync), h.VClockSync)
}

// DecodeHeartbeat decodes a heartbeat body (empty for 2.x before 2.11).
func DecodeHeartbeat(body []byte) (Heartbeat, error) {
	var h Heartbeat
	err := eachKey(body, "heartbeat", func(k uint64, c *format.MPCursor) error {
		if k != box.KeyVClockSync {
			return c.Skip()
		}
		var err error
		h.VClockSync, err = c.Uint()
		h.HasVClockSync = true
		return err
	})
	return h, err
}

// Ack is what a subscriber sends back on the SUBSCRIBE connection: its
// vclock and, for 2.11+ servers, the last heartbeat number and its Raft
// term. Never send a Term above the server's: 2.11+ servers adopt it.
type Ack struct {
	VClock        format.VClock
	Term          uint64 // 0: not sent
	VClockSync    uint64
	HasVClockSync bool
	// Timestamp goes into the header (0: not sent).
	Timestamp float64
}

// AppendBody appends the ACK body.
func (a Ack) AppendBody(b []byte) []byte {
	b = format.AppendMapLen(b, 1+count(a.Term != 0, a.HasVClockSync))
	b = format.AppendVClock(append(b, box.KeyVClock), a.VClock)
	if a.Term != 0 {
		b = format.AppendUint(append(b, box.KeyTerm), a.Term)
	}
	if a.HasVClockSync {
		b = format.AppendUint(append(b, box.KeyVClockSync), a.VClockSync)
	}
	return b
}

// AppendPacket appends the whole ACK packet: the length prefix, the header
// {type OK, [timestamp]} (no sync, as Tarantool's applier writes it) and
// the body.
func (a Ack) AppendPacket(b []byte) []byte {
	b, start := beginPacket(b)
	h := format.Header{Type: box.TypeOK, Timestamp: a.Timestamp, Commit: true}
	b = format.AppendHeader(b, &h)
	b, _ = endPacket(a.AppendBody(b), start) // an ACK is far below the limit
	return b
}

// DecodeAck decodes an ACK body. A body-less ACK is an error, as on 2.11+.
func DecodeAck(body []byte) (Ack, error) {
	var a Ack
	if len(body) == 0 {
		return a, fmt.Errorf("iproto: ACK without a body")
	}
	err := eachKey(body, "ACK", func(k uint64, c *format.MPCursor) error {
		var err error
		switch k {
		case box.KeyVClock:
			a.VClock, err = format.DecodeVClock(c)
		case box.KeyTerm:
			a.Term, err = c.Uint()
		case box.KeyVClockSync:
			a.VClockSync, err = c.Uint()
			a.HasVClockSync = true
		default:
			err = c.Skip()
		}
		return err
	})
	return a, err
}

// Ballot is the server's answer to VOTE. The meaning of keys 1 and 4
// changed after 2.6: DecodeBallot and AppendBody take the server version.
type Ballot struct {
	IsRO      bool // 2.6: key 1; later: key 4 (the effective read-only state)
	IsROCfg   bool // later versions: key 1
	IsLoading bool // 2.6: key 4
	IsAnon    bool
	IsBooted  bool
	CanLead   bool
	VClock    format.VClock
	// GCVClock is the vclock of the oldest row the server still has: a
	// SUBSCRIBE from below it fails with ER_XLOG_GAP.
	GCVClock format.VClock
	// BootstrapLeaderUUID, RegisteredReplicaUUIDs and InstanceName are
	// kept for newer servers; decoding them is left to the node.
}

// Ballot keys.
const (
	ballotKeyIsROCfg  = 1
	ballotKeyVClock   = 2
	ballotKeyGCVClock = 3
	ballotKeyIsRO     = 4
	ballotKeyIsAnon   = 5
	ballotKeyIsBooted = 6
	ballotKeyCanLead  = 7
)

// ballotKeysChanged is the first version whose ballot key 1 means the
// configured read-only state and key 4 the effective one.
var ballotKeysChanged = box.Version{Major: 2, Minor: 6, Patch: 1}

// AppendBody appends the body {BALLOT: {...}} as a server of version v
// sends it.
func (bl Ballot) AppendBody(b []byte, v box.Version) []byte {
	b = append(format.AppendMapLen(b, 1), box.KeyBallot)
	if !v.AtLeast(ballotKeysChanged.Major, ballotKeysChanged.Minor, ballotKeysChanged.Patch) {
		b = format.AppendMapLen(b, 4)
		b = format.AppendBool(append(b, ballotKeyIsROCfg), bl.IsRO)
		b = format.AppendVClock(append(b, ballotKeyVClock), bl.VClock)
		b = format.AppendVClock(append(b, ballotKeyGCVClock), bl.GCVClock)
		return format.AppendBool(append(b, ballotKeyIsRO), bl.IsLoading)
	}
	b = format.AppendMapLen(b, 7)
	b = format.AppendBool(append(b, ballotKeyIsROCfg), bl.IsROCfg)
	b = format.AppendVClock(append(b, ballotKeyVClock), bl.VClock)
	b = format.AppendVClock(append(b, ballotKeyGCVClock), bl.GCVClock)
	b = format.AppendBool(append(b, ballotKeyIsRO), bl.IsRO)
	b = format.AppendBool(append(b, ballotKeyIsAnon), bl.IsAnon)
	b = format.AppendBool(append(b, ballotKeyIsBooted), bl.IsBooted)
	return format.AppendBool(append(b, ballotKeyCanLead), bl.CanLead)
}

// DecodeBallot decodes the body of the answer to VOTE from a server of
// version v.
func DecodeBallot(body []byte, v box.Version) (Ballot, error) {
	var bl Ballot
	old := !v.AtLeast(ballotKeysChanged.Major, ballotKeysChanged.Minor, ballotKeysChanged.Patch)
	found := false
	err := eachKey(body, "VOTE response", func(k uint64, c *format.MPCursor) error {
		if k != box.KeyBallot {
			return c.Skip()
		}
		found = true
		n, err := c.MapLen()
		if err != nil {
			return err
		}
		for range n {
			key, err := c.Uint()
			if err != nil {
				return err
			}
			switch key {
			case ballotKeyIsROCfg:
				if old {
					bl.IsRO, err = c.Bool()
				} else {
					bl.IsROCfg, err = c.Bool()
				}
			case ballotKeyVClock:
				bl.VClock, err = format.DecodeVClock(c)
			case ballotKeyGCVClock:
				bl.GCVClock, err = format.DecodeVClock(c)
			case ballotKeyIsRO:
				if old {
					bl.IsLoading, err = c.Bool()
				} else {
					bl.IsRO, err = c.Bool()
				}
			case ballotKeyIsAnon:
				bl.IsAnon, err = c.Bool()
			case ballotKeyIsBooted:
				bl.IsBooted, err = c.Bool()
			case ballotKeyCanLead:
				bl.CanLead, err = c.Bool()
			default:
				err = c.Skip()
			}
			if err != nil {
				return fmt.Errorf("ballot key %d: %w", key, err)
			}
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("iproto: VOTE response has no ballot")
	}
	return bl, err
}

// eachKey walks a body map with unsigned keys; fn must consume the value.
// An empty body is an empty map.
func eachKey(body []byte, what string, fn func(key uint64, c *format.MPCursor) error) error {
	if len(body) == 0 {
		return nil
	}
	c := format.NewMPCursor(body)
	n, err := c.MapLen()
	if err != nil {
		return fmt.Errorf("iproto: %s body: %w", what, err)
	}
	for range n {
		k, err := c.Uint()
		if err != nil {
			return fmt.Errorf("iproto: %s body key: %w", what, err)
		}
		if err := fn(k, c); err != nil {
			return fmt.Errorf("iproto: %s body key 0x%02x: %w", what, k, err)
		}
	}
	if c.More() {
		return fmt.Errorf("iproto: %s body: %d bytes after the map", what, len(c.Rest()))
	}
	return nil
}

func count(conds ...bool) int {
	n := 0
	for _, c := range conds {
		if c {
			n++
		}
	}
	return n
}

func mpString(c *format.MPCursor) (string, error) {
	if c.Kind() != format.MPStr {
		return "", fmt.Errorf("want a string")
	}
	s, err := c.Bytes()
	return string(s), err
}

func mpUint32(c *format.MPCursor) (uint32, error) {
	v, err := c.Uint()
	if err == nil && v > 0xffffffff {
		err = fmt.Errorf("%d out of range", v)
	}
	return uint32(v), err
}

// RowError returns the server error carried by an error packet decoded as
// a row (DecodePacket), or nil for any other packet.
func RowError(row *format.Row) error {
	if !row.Type.IsError() {
		return nil
	}
	return DecodeError(row.Type.ErrorCode(), row.Body)
}
