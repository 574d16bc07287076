package tarantooltest

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// followTimeout bounds the wait for replication to reach 'follow'.
const followTimeout = 60 * time.Second

// StartReplicaSet starts n instances on 127.0.0.1, each replicating from
// all of them (full mesh, replication_connect_quorum = n, replication as
// AdminUser), and returns once every instance runs and follows all its
// peers. opts.Dir, if set, gets one subdirectory per instance (i1, i2, ...);
// opts.Listen and opts.Replication are ignored; opts.Cfg applies to every
// instance (it may override replication_connect_quorum). opts.Init runs
// once, on the first instance after the set is up, and StartReplicaSet
// waits until every instance has applied it; running it everywhere would
// make the instances create the same schema rows concurrently and break
// replication with conflicts.
//
// Tarantool 2.6 has no elections: the instances are all writable unless Cfg
// says otherwise; synchronous spaces need replication_synchro_quorum and,
// after a leader change, box.ctl.clear_synchro_queue().
func StartReplicaSet(t testing.TB, n int, opts InstanceOptions) []*Instance {
	t.Helper()
	if n < 1 {
		t.Fatalf("StartReplicaSet: n = %d", n)
	}
	addrs, err := FreeAddrs(n)
	if err != nil {
		t.Fatal(err)
	}
	base := opts.Dir
	if base == "" {
		base = t.TempDir()
	}
	cfg := fmt.Sprintf("replication_connect_quorum = %d,\n%s", n, opts.Cfg)
	insts := make([]*Instance, n)
	for i := range insts {
		o := opts
		o.Dir = filepath.Join(base, fmt.Sprintf("i%d", i+1))
		o.Listen = addrs[i]
		o.Replication = addrs
		o.Cfg = cfg
		o.Init = ""
		insts[i] = launch(t, o)
	}
	for _, inst := range insts {
		inst.waitReady(t)
	}
	for _, inst := range insts {
		inst.waitFollowing(t, n-1, followTimeout)
	}
	if opts.Init != "" {
		insts[0].Eval(t, opts.Init)
		WaitReplicated(t, insts[0], insts[1:]...)
	}
	return insts
}

// WaitReplicated waits until every instance in to has applied all rows
// from has written so far (its vclock component reaches from's LSN).
func WaitReplicated(t testing.TB, from *Instance, to ...*Instance) {
	t.Helper()
	res := from.Eval(t, "return box.info.id, box.info.lsn")
	if len(res) != 2 {
		t.Fatalf("tarantool %s: box.info.id, box.info.lsn = %v", from.Addr(), res)
	}
	for _, inst := range to {
		inst.WaitFor(t, fmt.Sprintf("(box.info.vclock[%v] or 0) >= %v", res[0], res[1]), followTimeout)
	}
}

// CutReplication stops the instance from pulling from its upstreams
// (box.cfg{replication = {}}). Peers keep pulling from it unless they are
// cut too.
func (inst *Instance) CutReplication(t testing.TB) {
	t.Helper()
	inst.Eval(t, "box.cfg{replication = {}}")
}

// RestoreReplication configures the instance's upstreams again and waits
// until it follows all of them.
func (inst *Instance) RestoreReplication(t testing.TB) {
	t.Helper()
	uris := make([]any, len(inst.opts.Replication))
	peers := 0
	for i, u := range inst.opts.Replication {
		uris[i] = replicationURI(u)
		if u != inst.opts.Listen {
			peers++
		}
	}
	inst.Eval(t, "box.cfg{replication = ...}", uris)
	inst.waitFollowing(t, peers, followTimeout)
}

// waitFollowing waits until the instance has at least want upstreams in
// status 'follow'.
func (inst *Instance) waitFollowing(t testing.TB, want int, timeout time.Duration) {
	t.Helper()
	inst.WaitFor(t, fmt.Sprintf(`(function()
    local n = 0
    for _, r in pairs(box.info.replication) do
        if r.id ~= box.info.id and r.upstream ~= nil and r.upstream.status == 'follow' then
            n = n + 1
        end
    end
    return n >= %d
end)()`, want), timeout)
}

// ReplicateFrom configures the instance to replicate from itself and the
// peers given (and from nobody else) and waits until it follows them all.
func (inst *Instance) ReplicateFrom(t testing.TB, peers ...*Instance) {
	t.Helper()
	uris := []any{inst.URI()}
	for _, p := range peers {
		uris = append(uris, p.URI())
	}
	inst.Eval(t, "box.cfg{replication = ...}", uris)
	for _, p := range peers {
		id := Int(t, p.Eval(t, "return box.info.id")[0])
		inst.WaitFor(t, fmt.Sprintf(`box.info.replication[%d] ~= nil and box.info.replication[%d].upstream ~= nil
			and box.info.replication[%d].upstream.status == 'follow'`, id, id, id), followTimeout)
	}
}

// LSN returns the instance's box.info.lsn.
func (inst *Instance) LSN(t testing.TB) int64 {
	t.Helper()
	return Int(t, inst.Eval(t, "return box.info.lsn")[0])
}

// Int converts a number Tarantool returned to int64.
func Int(t testing.TB, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		return int64(x)
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case float64:
		return int64(x)
	}
	t.Fatalf("not a number: %#v", v)
	return 0
}

// WaitAcked waits until the instance's relay to peer holds the peer's
// acknowledgement of replica id's rows up to lsn
// (box.info.replication[peer].downstream.vclock): what 2.6.0's
// box.ctl.clear_synchro_queue counts toward the quorum. A replica that has
// the rows but whose ACK has not arrived yet does not count.
func (inst *Instance) WaitAcked(t testing.TB, peer *Instance, id, lsn int64) {
	t.Helper()
	pid := Int(t, peer.Eval(t, "return box.info.id")[0])
	inst.WaitFor(t, fmt.Sprintf(`(function()
    local r = box.info.replication[%d]
    local d = r and r.downstream
    return d ~= nil and d.vclock ~= nil and (d.vclock[%d] or 0) >= %d
end)()`, pid, id, lsn), followTimeout)
}
