package verify_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/verify"
)

// Instances of different replica sets are compared only within their
// replica set.

func upgradeDir(t *testing.T, rel string) string {
	return filepath.Join(testfix.Dir(t), "tarantool/test/box-luatest/upgrade", rel)
}

func setNames(rep *verify.Report) []string {
	var out []string
	for _, rs := range rep.Replicasets {
		out = append(out, rs.UUID+"="+strings.Join(rs.Instances, ","))
	}
	return out
}

// TestReplicasetsVshard: the four instances of a two-shard vshard cluster
// (2.11) are two replica sets whose replica ids 1 and 2 are different
// instances; nothing is compared across them.
func TestReplicasetsVshard(t *testing.T) {
	base := upgradeDir(t, "2.11.0/vshard")
	var args []string
	for _, n := range []string{"instance-001", "instance-002", "instance-003", "instance-004"} {
		args = append(args, n+"="+filepath.Join(base, n))
	}
	rep := verifyDirs(t, args...)
	if rep.HasErrors() {
		t.Fatalf("errors:\n%s", reportText(rep))
	}
	wantNone(t, rep, verify.KindDivergentRow, verify.KindSplitBrain, verify.KindReplicaIDConflict)
	got := strings.Join(setNames(rep), " ")
	want := "cbf06940-0790-498b-948d-042b62cf3d29=instance-001,instance-002 ac522f65-aa94-4134-9f64-51ee384f1a54=instance-003,instance-004"
	if got != want {
		t.Fatalf("replica sets %s, want %s", got, want)
	}
	f := want1(t, rep, verify.KindForeignReplicaset, verify.Warning)
	if len(f.Instances) != 4 || !strings.Contains(f.Message, "2 replica sets") {
		t.Fatalf("%+v", f)
	}
	if len(rep.Table) != 2 || rep.Table[0].Origin != "instance-001" || rep.Table[1].Origin != "instance-003" ||
		rep.Table[0].Replicaset != 0 || rep.Table[1].Replicaset != 1 || len(rep.Table[1].LSN) != 2 {
		t.Fatalf("vclock table %+v", rep.Table)
	}
	text := reportText(rep)
	for _, s := range []string{"REPLICA SET cbf06940-0790-498b-948d-042b62cf3d29: instance-001, instance-002", "replica 1 (instance-003)"} {
		if !strings.Contains(text, s) {
			t.Fatalf("text lacks %q:\n%s", s, text)
		}
	}
	for _, in := range rep.Instances {
		if in.ReplicasetUUID == "" || len(in.Cluster) != 2 {
			t.Fatalf("%s: replica set %q cluster %v", in.Name, in.ReplicasetUUID, in.Cluster)
		}
	}

	// diff reads the replica set from the snapshot's system spaces.
	var srcs []verify.Source
	for _, a := range args {
		s, _ := verify.ParseSource(a)
		srcs = append(srcs, s)
	}
	vc, err := verify.VClocks(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(setNames(vc), " ") != want || !vc.SameVClocks() || len(vc.Table) != 2 || vc.Table[1].Origin != "instance-003" {
		t.Fatalf("diff: %v %+v", setNames(vc), vc.Table)
	}
}

// TestReplicasetsOne: the instances of one replica set (2.11 'cluster' and
// 3.0 'replicaset_uuid') form one group and verify clean.
func TestReplicasetsOne(t *testing.T) {
	base := upgradeDir(t, "3.0.0-cluster")
	rep := verifyDirs(t, "server1="+base+"/server1", "server2="+base+"/server2", "server3="+base+"/server3")
	wantClean(t, rep)
	if got := strings.Join(setNames(rep), " "); got != "f81eb12b-23c9-42cf-9508-ec6c159fc8a7=server1,server2,server3" {
		t.Fatalf("3.0.0-cluster: %s", got)
	}
	base = upgradeDir(t, "2.11.0/replicaset")
	rep = verifyDirs(t, "instance-001="+base+"/instance-001", "instance-002="+base+"/instance-002")
	wantClean(t, rep)
	if len(rep.Replicasets) != 1 || rep.Replicasets[0].UUID == "" || rep.Replicasets[0].Assumed != "" {
		t.Fatalf("2.11.0/replicaset: %+v", rep.Replicasets)
	}
}

// twoSets writes two instances with replica id 1 each, of replica sets
// rsA and rsB ("" writes no _schema row), with different rows 1:1-3 and a
// PROMOTE in the same term.
func twoSets(t *testing.T, version, rsA, rsB string, uuidA, uuidB string) *verify.Report {
	var dirs []string
	for i, rs := range []string{rsA, rsB} {
		u := []string{uuidA, uuidB}[i]
		b := newWAL(t, filepath.Join(t.TempDir(), "x"), u, version)
		b.replicaset = rs
		b.snapshot(map[uint32]string{1: u}, &format.Raft{Term: 1}, &format.Synchro{})
		b.xlog()
		b.promote(1, 0, 0, 2)
		for k := 0; k < 3; k++ {
			lsn := b.next(1)
			b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true},
				dmlBody(asyncSpace, lsn, string(rune('a'+i))))
		}
		dirs = append(dirs, string(rune('a'+i))+"="+b.done())
	}
	return verifyDirs(t, dirs...)
}

func TestReplicasetsDifferentUUIDs(t *testing.T) {
	for _, v := range []string{v2111, v363} {
		rep := twoSets(t, v, uuidOf(101), uuidOf(102), uuidOf(1), uuidOf(2))
		if rep.HasErrors() {
			t.Fatalf("%s: errors:\n%s", v, reportText(rep))
		}
		wantNone(t, rep, verify.KindDivergentRow, verify.KindSplitBrain, verify.KindReplicaIDConflict)
		want1(t, rep, verify.KindForeignReplicaset, verify.Warning)
		if len(rep.Replicasets) != 2 || rep.Replicasets[1].UUID != uuidOf(102) || rep.Instances[0].ReplicasetUUID != uuidOf(101) {
			t.Fatalf("%s: %+v", v, rep.Replicasets)
		}
	}
	// The same replica set: the same rows differ, the same term has two
	// owners, and replica id 1 is two instances.
	rep := twoSets(t, v2111, uuidOf(101), uuidOf(101), uuidOf(1), uuidOf(2))
	if len(rep.Replicasets) != 1 || len(findings(rep, verify.KindDivergentRow)) == 0 {
		t.Fatalf("one replica set:\n%s", reportText(rep))
	}
	f := want1(t, rep, verify.KindReplicaIDConflict, verify.Error)
	if f.ReplicaID != 1 || len(f.Sides) != 2 || strings.Join(f.Instances, ",") != "a,b" {
		t.Fatalf("%+v", f)
	}
	wantNone(t, rep, verify.KindForeignReplicaset)
}

// TestReplicasetsUnknown: without _schema rows, _cluster rows that give
// replica id 1 to different instances put the instances in different
// replica sets; agreeing ones (or none at all) keep them together.
func TestReplicasetsUnknown(t *testing.T) {
	rep := twoSets(t, v2111, "", "", uuidOf(1), uuidOf(2))
	if rep.HasErrors() {
		t.Fatalf("errors:\n%s", reportText(rep))
	}
	f := want1(t, rep, verify.KindForeignReplicaset, verify.Warning)
	if len(rep.Replicasets) != 2 || rep.Replicasets[0].UUID != "" || !strings.Contains(rep.Replicasets[1].Assumed, "replica id 1 is instance") ||
		!strings.Contains(f.Message, "assumed") {
		t.Fatalf("%+v\n%s", rep.Replicasets, reportText(rep))
	}

	// One known, one unknown that the known one's _cluster names: one set.
	a := newWAL(t, filepath.Join(t.TempDir(), "a"), uuidOf(1), v2111)
	a.replicaset = uuidOf(100)
	a.snapshot(map[uint32]string{1: uuidOf(1), 2: uuidOf(2)}, nil, &format.Synchro{})
	a.xlog()
	a.async(1)
	b := newWAL(t, filepath.Join(t.TempDir(), "b"), uuidOf(2), v2111)
	b.vc.Set(1, 1)
	b.xlog()
	b.copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 2, LSN: 1, TSN: 1, Commit: true}, dmlBody(asyncSpace, 7, "v"))
	rep = verifyDirs(t, "a="+a.done(), "b="+b.done())
	if len(rep.Replicasets) != 1 || rep.Replicasets[0].UUID != uuidOf(100) || !strings.Contains(rep.Replicasets[0].Assumed, "b: no replica set UUID") {
		t.Fatalf("%+v\n%s", rep.Replicasets, reportText(rep))
	}
	wantNone(t, rep, verify.KindForeignReplicaset)
}

// TestReplicaIDReused: a lagging instance that has not yet received the
// row giving a freed replica id to a new instance is no conflict.
func TestReplicaIDReused(t *testing.T) {
	var bs []*walBuilder
	for i := 1; i <= 2; i++ {
		b := newWAL(t, filepath.Join(t.TempDir(), "x"), uuidOf(i), v2111)
		b.replicaset = uuidOf(100)
		b.snapshot(map[uint32]string{1: uuidOf(1), 2: uuidOf(2), 3: uuidOf(3)}, nil, &format.Synchro{})
		b.xlog()
		b.async(1)
		bs = append(bs, b)
	}
	// Replica 1 gives id 3 to instance 4; instance 2 has not received it.
	lsn := bs[0].next(1)
	bs[0].copyRow(format.Header{Type: box.TypeReplace, ReplicaID: 1, LSN: lsn, TSN: lsn, Commit: true}, clusterBody(3, uuidOf(4)))
	rep := verifyDirs(t, "a="+bs[0].done(), "b="+bs[1].done())
	if rep.HasErrors() {
		t.Fatalf("errors:\n%s", reportText(rep))
	}
	if rep.Instances[0].Cluster["3"] != uuidOf(4) || rep.Instances[1].Cluster["3"] != uuidOf(3) {
		t.Fatalf("cluster %v %v", rep.Instances[0].Cluster, rep.Instances[1].Cluster)
	}
}
