package node

import (
	"testing"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// ownLimbo is instance 1's queue, owned by it since a PROMOTE of term 2,
// with two synchronous entries (1:2, 1:3) that instance 2 acknowledged
// while the owner was not allowed to confirm them (fenced, or no longer
// the writable leader).
func ownLimbo(t *testing.T) *Limbo {
	l := NewLimbo(1, 2)
	l.Queue().SetRules(synchro.RulesFor("2.11.0"))
	l.Applied(box.TypePromote, format.Synchro{Term: 2, HasTerm: true})
	for lsn := uint64(2); lsn <= 3; lsn++ {
		if err := l.Append(lsn, lsn, lsn, true); err != nil {
			t.Fatal(err)
		}
		l.Written(lsn, 0)
	}
	l.Ack(2, 3)
	return l
}

// TestLimboClaimConfirmsAcked: a former leader that takes its own queue
// again confirms with its PROMOTE what gathered its quorum.
func TestLimboClaimConfirmsAcked(t *testing.T) {
	l := ownLimbo(t)
	body, ready := l.Claim(3, func(uint32) uint64 { return 0 })
	if !ready || body.ReplicaID != 1 || body.LSN != 3 || body.Term != 3 {
		t.Fatalf("claim %+v ready %v", body, ready)
	}
	ds := l.Applied(box.TypePromote, body)
	if len(ds) != 2 || ds[0].Fate != synchro.Confirmed || ds[1].Fate != synchro.Confirmed {
		t.Fatalf("decisions %+v", ds)
	}
	if typ, s, ok := l.NextWrite(); ok {
		t.Fatalf("then writes %v %+v", typ, s)
	}
}

// TestLimboNoConfirmAfterPromoteRollback: another instance's PROMOTE
// rolls the entries back; when this instance owns the queue again it
// must not CONFIRM them (a CONFIRM of rolled-back LSNs, which every
// replica refuses as a split-brain). Found by the replica-set
// simulation.
func TestLimboNoConfirmAfterPromoteRollback(t *testing.T) {
	l := ownLimbo(t)
	ds := l.ApplyReceived(box.TypePromote, 2, format.Synchro{ReplicaID: 1, LSN: 1, Term: 3, HasTerm: true})
	if len(ds) != 2 || ds[0].Fate != synchro.RolledBack {
		t.Fatalf("decisions %+v", ds)
	}
	l.Applied(box.TypePromote, format.Synchro{ReplicaID: 2, Term: 4, HasTerm: true})
	if typ, s, ok := l.NextWrite(); ok {
		t.Fatalf("writes %v %+v for rolled-back entries", typ, s)
	}
}

// TestLimboClaimAfterOwnershipChange: with 2.11.0's rules the confirmed
// LSN restarts when the queue changes hands, so a node that took the
// queue back names in its next PROMOTE the LSN its peers count since
// then, not one of an earlier ownership (which they refuse as a request
// "mentioning future lsn"). Found by the replica-set simulation.
func TestLimboClaimAfterOwnershipChange(t *testing.T) {
	l := ownLimbo(t)
	peer := NewLimbo(2, 2)
	peer.Queue().SetRules(synchro.RulesFor("2.11.0"))
	rows := []struct {
		typ    box.RowType
		origin uint32
		s      format.Synchro
	}{
		{box.TypePromote, 1, format.Synchro{Term: 2, HasTerm: true}},
		{box.TypeConfirm, 1, format.Synchro{ReplicaID: 1, LSN: 3}},
		{box.TypePromote, 2, format.Synchro{ReplicaID: 1, LSN: 3, Term: 3, HasTerm: true}},
		{box.TypePromote, 1, format.Synchro{ReplicaID: 2, LSN: 0, Term: 4, HasTerm: true}},
	}
	for i, r := range rows {
		switch {
		case i == 0:
			peer.ApplyReceived(r.typ, r.origin, r.s)
		case r.origin == 1:
			l.Applied(r.typ, r.s)
			peer.ApplyReceived(r.typ, r.origin, r.s)
		default:
			l.ApplyReceived(r.typ, r.origin, r.s)
			peer.Applied(r.typ, r.s)
		}
	}
	body, ready := l.Claim(5, func(uint32) uint64 { return 0 })
	if !ready || body.ReplicaID != 1 {
		t.Fatalf("claim %+v ready %v", body, ready)
	}
	if err := peer.FilterReceived(box.TypePromote, 1, body); err != nil {
		t.Fatalf("the peer refuses %+v: %v", body, err)
	}
}

// TestLimboClaimWaitsForOwnEntries: a former owner back as leader with an
// entry whose quorum it does not know (ACKs lost in a restart) waits for
// it before its PROMOTE instead of rolling it back: the replicas may have
// it, and a leader that confirmed it may follow. Found by the replica-set
// simulation (confirmed on two nodes, rolled back on the third).
func TestLimboClaimWaitsForOwnEntries(t *testing.T) {
	l := NewLimbo(1, 2)
	l.Queue().SetRules(synchro.RulesFor("2.11.0"))
	l.Applied(box.TypePromote, format.Synchro{Term: 2, HasTerm: true})
	l.Restore(2, 1, 2, 2, true) // recovered from the WAL after a restart
	l.Restore(3, 1, 3, 3, true)
	if body, ready := l.Claim(3, func(uint32) uint64 { return 0 }); ready {
		t.Fatalf("claims %+v with 1:3 unacknowledged", body)
	}
	l.Ack(2, 3)
	body, ready := l.Claim(3, func(uint32) uint64 { return 0 })
	if !ready || body.LSN != 3 {
		t.Fatalf("claim %+v ready %v", body, ready)
	}
}

// TestLimboRecoveredKnowsFormerOwnersConfirmed: a node whose PROMOTE
// confirmed a former owner's entries accepts that owner's late CONFIRM of
// them (a row the old leader wrote before it learned of the new term),
// and so does it after a restart: the recovered queue keeps every owner's
// confirmed LSN, not only the current owner's. Found by the replica-set
// simulation (seed 9696: the restarted leader refused the CONFIRM for
// good, the node that did not restart took it).
func TestLimboRecoveredKnowsFormerOwnersConfirmed(t *testing.T) {
	l := NewLimbo(1, 2)
	l.Queue().SetRules(synchro.RulesFor("2.11.0"))
	l.ApplyReceived(box.TypePromote, 3, format.Synchro{Term: 2, HasTerm: true})
	l.Applied(box.TypePromote, format.Synchro{ReplicaID: 3, LSN: 5, Term: 3, HasTerm: true})
	late := format.Synchro{ReplicaID: 3, LSN: 5}
	if err := l.FilterReceived(box.TypeConfirm, 3, late); err != nil {
		t.Fatalf("refuses the former owner's CONFIRM before a restart: %v", err)
	}
	restarted := NewLimbo(1, 2)
	restarted.Queue().SetRules(synchro.RulesFor("2.11.0"))
	restarted.Recovered(l.Queue().State())
	if err := restarted.FilterReceived(box.TypeConfirm, 3, late); err != nil {
		t.Fatalf("refuses the former owner's CONFIRM after a restart: %v", err)
	}
	if owner, _ := restarted.Queue().Owner(); owner != 1 || restarted.Queue().ConfirmedLSN() != 0 {
		t.Fatalf("recovered queue %+v", restarted.Queue().State())
	}
	if err := restarted.FilterReceived(box.TypeConfirm, 3, format.Synchro{ReplicaID: 3, LSN: 6}); err == nil {
		t.Fatal("accepts the former owner's CONFIRM of what the PROMOTE did not confirm")
	}
}
