package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/xlogtool/xlogtool/format"
)

// VClocks finds where each instance's log ends without checking it: the
// newest file header plus the rows of the newest xlog. The report has the
// instances, their vclocks and the vclock table, and no findings.
func VClocks(ctx context.Context, srcs []Source) (*Report, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("no instance directories given")
	}
	sums := make([]*InstanceSummary, len(srcs))
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	for i, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i], errs[i] = tailVClock(ctx, src)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rep := &Report{VClocks: map[string]format.VClock{}}
	var insts []*instance
	for _, s := range sums {
		if _, dup := rep.VClocks[s.Name]; dup {
			return nil, fmt.Errorf("instance name %q given twice (name them NAME=DIR)", s.Name)
		}
		rep.Instances = append(rep.Instances, s)
		rep.VClocks[s.Name] = s.VClock
		insts = append(insts, &instance{sum: *s, vclock: s.VClock, ownID: s.ReplicaID})
	}
	rep.Table = vclockTable(insts)
	rep.Findings = []*Finding{}
	rep.Counts = Counts{ByKind: map[string]int{}}
	return rep, nil
}

func tailVClock(ctx context.Context, src Source) (*InstanceSummary, error) {
	refs, err := format.ScanDir(src.Dir)
	if err != nil {
		return nil, fmt.Errorf("instance %s: %w", src.Name, err)
	}
	sum := &InstanceSummary{Name: src.Name, Dir: src.Dir, Timeline: []Event{}}
	var last *format.FileRef
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
			return nil, fmt.Errorf("instance %s: %w", src.Name, err)
		}
		m := rd.Meta()
		rd.Close()
		sum.VClock = sum.VClock.Max(m.VClock)
		if sum.UUID == "" {
			sum.UUID = m.Instance
		}
		if ref.Ext == ".xlog" {
			last = ref
		}
	}
	if sum.Files == 0 {
		return nil, fmt.Errorf("instance %s: %s: no .xlog or .snap files", src.Name, src.Dir)
	}
	if last == nil {
		return sum, nil
	}
	rd, err := format.Open(last.Path, format.Options{Name: last.Path, Force: true})
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return nil, fmt.Errorf("instance %s: %w", src.Name, err)
	}
	defer rd.Close()
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
	}
	return sum, nil
}
