package verify_test

import (
	"path/filepath"
	"testing"

	"github.com/xlogtool/xlogtool/internal/testfix"
	"github.com/xlogtool/xlogtool/verify"
)

// The gh-7932 files of Tarantool's test suite: transactions of different
// replica ids interleave; one has lost its first row; one never commits.
func gh7932(t *testing.T, name string) *verify.Report {
	dir := filepath.Join(testfix.Dir(t), "tarantool/test/replication-luatest/gh_7932_data", name)
	return verifyDirs(t, name+"="+dir)
}

func TestGH7932Good(t *testing.T) {
	rep := gh7932(t, "good_xlog")
	if rep.HasErrors() {
		t.Fatalf("errors:\n%s", reportText(rep))
	}
	wantNone(t, rep, verify.KindBrokenTx, verify.KindIncompleteTx)
	if rep.Instances[0].Transactions != 6 {
		t.Fatalf("%d transactions, want 6 (4 single-row, 2 interleaved)", rep.Instances[0].Transactions)
	}
}

func TestGH7932Bad(t *testing.T) {
	rep := gh7932(t, "bad_xlog")
	f := want1(t, rep, verify.KindBrokenTx, verify.Error)
	if f.ReplicaID != 2 || f.LSNFrom != 32050 || f.LSNTo != 32051 {
		t.Fatalf("broken-tx at %d:%d-%d", f.ReplicaID, f.LSNFrom, f.LSNTo)
	}
	wantNone(t, rep, verify.KindIncompleteTx)
}

func TestGH7932NotFinished(t *testing.T) {
	rep := gh7932(t, "not_finished_xlog")
	f := want1(t, rep, verify.KindIncompleteTx, verify.Error)
	if f.ReplicaID != 2 || f.LSNFrom != 32050 {
		t.Fatalf("incomplete-tx at %d:%d", f.ReplicaID, f.LSNFrom)
	}
	wantNone(t, rep, verify.KindBrokenTx)
}

// TestSample: the repository's sample, written by 2.6.0 (confirmed
// transactions and a rollback after a quorum timeout), is clean.
func TestSample(t *testing.T) {
	rep := verifyDirs(t, "sample=../testdata/sample")
	wantClean(t, rep)
	in := rep.Instances[0]
	if in.Sync.Confirmed == 0 || in.Sync.RolledBack != 1 || in.Sync.Pending != 0 || in.ReplicaID != 1 {
		t.Fatalf("%+v", in.Sync)
	}
}

// TestRealSnapshotsWithRaftAndPromote: 2.11/3.x snapshots carry RAFT and
// PROMOTE rows; a replica set of them verifies clean.
func TestRealSnapshotsWithRaftAndPromote(t *testing.T) {
	base := filepath.Join(testfix.Dir(t), "tarantool/test/box-luatest/upgrade/3.0.0-cluster")
	rep := verifyDirs(t, "s1="+base+"/server1", "s2="+base+"/server2", "s3="+base+"/server3")
	wantClean(t, rep)
	for _, in := range rep.Instances {
		if !in.Raft.Known || in.Raft.Term != 1 || !in.Queue.OwnerKnown || !in.Queue.TermKnown || in.ReplicaID == 0 {
			t.Fatalf("%s: raft %+v queue %+v id %d", in.Name, in.Raft, in.Queue, in.ReplicaID)
		}
	}
}
