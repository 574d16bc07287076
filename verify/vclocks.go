package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
)

// VClocks finds where each instance's log ends without checking it: the
// newest file header plus the rows of the newest xlog. The replica set UUID
// and _cluster come from the system spaces at the start of the newest
// snapshot and from the rows of the newest xlog. The report has the
// instances, their replica sets, their vclocks and one vclock table per
// replica set, and no findings.
func VClocks(ctx context.Context, srcs []Source) (*Report, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no instance directories given")
	}
	insts := make([]*instance, len(srcs))
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			insts[i], errs[i] = tailVClock(ctx, src)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rep := &Report{VClocks: map[string]format.VClock{}}
	var damage []*Finding
	for _, in := range insts {
		if _, dup := rep.VClocks[in.sum.Name]; dup {
			return nil, fmt.Errorf("instance name %q given twice (name them NAME=DIR)", in.sum.Name)
		}
		rep.Instances = append(rep.Instances, &in.sum)
		rep.VClocks[in.sum.Name] = in.vclock
		damage = append(damage, in.findings...)
	}
	groups := groupInstances(insts)
	rep.Replicasets = replicasets(groups)
	for gi, g := range groups {
		rep.Table = append(rep.Table, vclockTable(g.members, gi)...)
	}
	rep.Findings = []*Finding{}
	rep.Counts = Counts{ByKind: map[string]int{}}
	for _, f := range damage {
		rep.Findings = append(rep.Findings, f)
		rep.Counts.ByKind[string(f.Kind)]++
		if f.Severity == Error {
			rep.Counts.Errors++
		} else {
			rep.Counts.Warnings++
		}
	}
	return rep, nil
}

func tailVClock(ctx context.Context, src Source) (*instance, error) {
	refs, err := format.ScanDir(src.Dir)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", src.Name, err)
	}
	sum := &InstanceSummary{Name: src.Name, Dir: src.Dir, Timeline: []Event{}}
	var damage []*Finding
	var last, lastSnap *format.FileRef
	for i := range refs {
		ref := &refs[i]
		if ref.Ext != ".xlog" && ref.Ext != ".snap" {
			continue
		}
		sum.Files++
		if st, err := os.Stat(ref.Path); err == nil {
			sum.Bytes += st.Size()
		}
		rd, err := format.Open(ref.Path, format.Options{Name: ref.Path})
		if err != nil {
			if rd != nil {
				rd.Close()
			}
			fe, ok := format.AsError(err)
			if !ok || fe.Kind == format.KindIO {
				return nil, fmt.Errorf("instance %s: %w", src.Name, err)
			}
			// A header that does not parse: damage, and the file tells
			// nothing about the vclock.
			f := newFinding(damageKind(fe, 0), Error, "%s; the file is left out of the vclock", fe.Msg)
			f.Instance, f.File, f.Offset = src.Name, ref.Path, fe.Offset
			damage = append(damage, f)
			continue
		}
		m := rd.Meta()
		rd.Close()
		sum.VClock = sum.VClock.Max(m.VClock)
		if sum.UUID == "" {
			sum.UUID = m.Instance
		}
		if ref.Ext == ".xlog" {
			last = ref
		} else {
			lastSnap = ref
		}
	}
	if sum.Files == 0 {
		return nil, fmt.Errorf("instance %s: %s: no .xlog or .snap files", src.Name, src.Dir)
	}
	sch := newSchema()
	if lastSnap != nil {
		snapSystem(lastSnap.Path, &sch)
	}
	if last != nil {
		issues, err := tailXlog(ctx, last.Path, sum, &sch)
		if err != nil {
			return nil, fmt.Errorf("instance %s: %w", src.Name, err)
		}
		for _, e := range issues {
			var size int64
			if st, err := os.Stat(last.Path); err == nil {
				size = st.Size()
			}
			f := newFinding(damageKind(e, size), Error, "%s", e.Msg)
			if e.Kind.IsWarning() {
				f.Severity = Warning
			}
			f.Instance, f.File, f.Offset = src.Name, e.File, e.Offset
			f.Message += "; the vclock shown is only as far as the file could be read"
			damage = append(damage, f)
		}
	}
	in := &instance{vclock: sum.VClock, findings: damage, rsUUID: sch.replicaset, cluster: sch.cluster, clusterAt: sch.clusterAt}
	if id, ok := sch.idOf(sum.UUID); ok && sum.UUID != "" {
		in.ownID = id
		sum.ReplicaID = id
	}
	sum.ReplicasetUUID = sch.replicaset
	sum.Cluster = clusterJSON(sch.cluster)
	in.sum = *sum
	return in, nil
}

// tailXlog follows the rows of the newest xlog: the vclock, and the
// _schema and _cluster rows. It returns the damage that made it skip
// bytes or stop, and the torn tail: the vclock is then only as far as the
// file could be read.
func tailXlog(ctx context.Context, path string, sum *InstanceSummary, sch *schema) (issues []*format.Error, err error) {
	rd, err := format.Open(path, format.Options{Name: path, Force: true})
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return nil, err
	}
	defer func() {
		if err == nil {
			for _, e := range rd.Issues() {
				if e.Kind != format.KindMissingEOF {
					issues = append(issues, e)
				}
			}
		}
		rd.Close()
	}()
	for n := 0; ; n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r, err := rd.Next()
		if errors.Is(err, io.EOF) || err != nil {
			break
		}
		sum.Rows++
		sum.VClock.Follow(r.ReplicaID, r.LSN)
		if r.Type.IsDML() {
			if sid, ok := r.SpaceID(); ok && (sid == box.SpaceSchema || sid == box.SpaceCluster) {
				sch.apply(r)
			}
		}
	}
	return nil, nil
}

// snapSystem reads the _schema and _cluster rows of a snapshot: its rows
// come in ascending space id, so reading stops at the first row of a
// space above _cluster (or at the first row that is not an INSERT).
// A snapshot that cannot be read leaves sch as it is.
func snapSystem(path string, sch *schema) {
	rd, err := format.Open(path, format.Options{Name: path})
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return
	}
	defer rd.Close()
	for {
		r, err := rd.Next()
		if err != nil || !r.Type.IsDML() {
			return
		}
		sid, ok := r.SpaceID()
		if !ok || sid > box.SpaceCluster {
			return
		}
		if sid == box.SpaceSchema || sid == box.SpaceCluster {
			sch.apply(r)
		}
	}
}
