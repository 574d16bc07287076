package iproto_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/iproto"
)

func vc(t testing.TB, s string) format.VClock {
	t.Helper()
	v, err := format.ParseVClock(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every replication message decodes to what was encoded, both directions.
func TestReplicationRoundTrip(t *testing.T) {
	sub := iproto.SubscribeRequest{
		ReplicasetUUID: "80cb6818-0000-4000-8000-000000000001", InstanceUUID: "11111111-2222-4333-8444-555555555555",
		VClock: vc(t, "{1: 58, 2: 3}"), ServerVersion: 0x020600, Anon: true, IDFilter: []uint32{3},
		ReplicasetName: "rs", InstanceName: "i9",
	}
	got, err := iproto.DecodeSubscribe(sub.AppendBody(nil))
	if err != nil || !reflect.DeepEqual(got, sub) {
		t.Errorf("SUBSCRIBE: %+v, %v", got, err)
	}
	fs := iproto.FetchSnapshotRequest{ServerVersion: 0x030300, InstanceUUID: sub.InstanceUUID}
	if got, err := iproto.DecodeFetchSnapshot(fs.AppendBody(nil)); err != nil || got != fs {
		t.Errorf("FETCH_SNAPSHOT: %+v, %v", got, err)
	}
	if b := (iproto.FetchSnapshotRequest{}).AppendBody(nil); len(b) != 0 {
		t.Errorf("a 2.x FETCH_SNAPSHOT has a body: %x", b)
	}
	j := iproto.JoinRequest{InstanceUUID: sub.InstanceUUID, ServerVersion: 0x020a00, InstanceName: "x"}
	if got, err := iproto.DecodeJoin(j.AppendBody(nil)); err != nil || got != j {
		t.Errorf("JOIN: %+v, %v", got, err)
	}
	reg := iproto.RegisterRequest{InstanceUUID: sub.InstanceUUID, VClock: vc(t, "{1: 7}")}
	if got, err := iproto.DecodeRegister(reg.AppendBody(nil)); err != nil || !reflect.DeepEqual(got, reg) {
		t.Errorf("REGISTER: %+v, %v", got, err)
	}
	sr := iproto.SubscribeResponse{VClock: vc(t, "{1: 58}"), ReplicasetUUID: sub.ReplicasetUUID, ReplicasetName: "rs"}
	if got, err := iproto.DecodeSubscribeResponse(sr.AppendBody(nil)); err != nil || !reflect.DeepEqual(got, sr) {
		t.Errorf("SUBSCRIBE response: %+v, %v", got, err)
	}
	vr := iproto.VClockResponse{VClock: vc(t, "{0: 1, 1: 58}")}
	if got, err := iproto.DecodeVClockResponse(vr.AppendBody(nil)); err != nil || !reflect.DeepEqual(got, vr) {
		t.Errorf("vclock response: %+v, %v", got, err)
	}
	for _, hb := range []iproto.Heartbeat{{}, {VClockSync: 5, HasVClockSync: true}} {
		if got, err := iproto.DecodeHeartbeat(hb.AppendBody(nil)); err != nil || got != hb {
			t.Errorf("heartbeat: %+v, %v", got, err)
		}
	}
	ack := iproto.Ack{VClock: vc(t, "{1: 10, 2: 4}"), Term: 3, VClockSync: 9, HasVClockSync: true}
	if got, err := iproto.DecodeAck(ack.AppendBody(nil)); err != nil || !reflect.DeepEqual(got, ack) {
		t.Errorf("ACK: %+v, %v", got, err)
	}
	if _, err := iproto.DecodeAck(nil); err == nil {
		t.Error("a body-less ACK decoded")
	}
	for _, v := range []box.Version{{Major: 2, Minor: 6}, {Major: 2, Minor: 11}} {
		bl := iproto.Ballot{VClock: vc(t, "{1: 5}"), GCVClock: vc(t, "{1: 1}"), IsRO: true}
		if v.AtLeast(2, 6, 1) {
			bl.IsROCfg, bl.IsBooted, bl.CanLead = true, true, true
		} else {
			bl.IsLoading = true
		}
		if got, err := iproto.DecodeBallot(bl.AppendBody(nil, v), v); err != nil || !reflect.DeepEqual(got, bl) {
			t.Errorf("ballot %v: %+v, %v", v, got, err)
		}
	}
}

// The bytes are the ones Tarantool's applier writes (FORMAT.md §7.8) and
// the requests decode with a general MessagePack decoder.
func TestReplicationWireBytes(t *testing.T) {
	ack := iproto.Ack{VClock: vc(t, "{1: 58}")}
	want, _ := hex.DecodeString("ce00000008" + "810000" + "8126" + "81013a")
	if got := ack.AppendPacket(nil); !bytes.Equal(got, want) {
		t.Errorf("ACK packet %x, want %x", got, want)
	}
	sub := iproto.SubscribeRequest{ReplicasetUUID: "u", InstanceUUID: "i", VClock: vc(t, "{1: 2}"), ServerVersion: 0x020600, Anon: true}
	var m map[int]msgpack.RawMessage
	if err := msgpack.Unmarshal(sub.AppendBody(nil), &m); err != nil {
		t.Fatal(err)
	}
	if string(m[0x50]) != "\xc3" || string(m[0x25]) != "\xa1u" || string(m[0x24]) != "\xa1i" || m[0x06] == nil || m[0x26] == nil {
		t.Errorf("SUBSCRIBE body %v", m)
	}
}

func FuzzReplicationDecoders(f *testing.F) {
	f.Add((iproto.SubscribeRequest{VClock: vc(f, "{1: 2}"), IDFilter: []uint32{1}}).AppendBody(nil))
	f.Add((iproto.Ack{VClock: vc(f, "{1: 2}"), Term: 1}).AppendBody(nil))
	f.Add((iproto.Ballot{}).AppendBody(nil, box.Version{Major: 2, Minor: 11}))
	f.Fuzz(func(t *testing.T, b []byte) {
		iproto.DecodeSubscribe(b)
		iproto.DecodeAck(b)
		iproto.DecodeFetchSnapshot(b)
		iproto.DecodeJoin(b)
		iproto.DecodeRegister(b)
		iproto.DecodeSubscribeResponse(b)
		iproto.DecodeVClockResponse(b)
		iproto.DecodeHeartbeat(b)
		iproto.DecodeBallot(b, box.Version{Major: 2, Minor: 6})
		iproto.DecodeBallot(b, box.Version{Major: 3})
	})
}
