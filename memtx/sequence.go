package memtx

import (
	"github.com/xlogtool/xlogtool/box"
	"math"
)

// Sequences: Tarantool does not log the values a sequence generates; the
// rows it logs carry the generated values, and recovery (of snapshots and
// xlogs alike) restores the sequence from them: every INSERT or REPLACE
// into a space bound to a sequence in _space_sequence raises (for a
// positive step; lowers for a negative one) the sequence's value in
// _sequence_data to the integer the tuple has in the sequence field
// (request_handle_sequence and sequence_update in Tarantool). The state
// does the same, so _sequence_data ends up as Tarantool has it.

// seqBinding is a space's row of _space_sequence.
type seqBinding struct {
	none  bool
	seqID uint32
	kd    *keyDef // locates the sequence field (field number and path)
}

// followSequence updates the sequence bound to sp with the tuple t just
// stored by an INSERT or REPLACE.
func (s *State) followSequence(sp *Space, t Tuple) {
	if s.seqIdle && s.seqIdleAt == s.schemaVersion {
		return
	}
	if ss := s.spaces[box.SpaceSpaceSequence]; ss == nil || ss.Len() == 0 {
		s.seqIdle, s.seqIdleAt = true, s.schemaVersion
		return
	}
	b, ok := s.seqCache[sp.ID]
	if !ok {
		b = s.bindingOf(sp.ID)
		if s.seqCache == nil {
			s.seqCache = make(map[uint32]seqBinding)
		}
		s.seqCache[sp.ID] = b
	}
	if b.none {
		return
	}
	var value int64
	switch v := b.kd.value(t, 0).(type) {
	case uint64:
		if v > math.MaxInt64 {
			return
		}
		value = int64(v)
	case int64:
		value = v
	default:
		return
	}
	step := int64(1)
	if seq := s.spaces[box.SpaceSequence]; seq != nil {
		if def := seq.Get([]any{uint64(b.seqID)}); len(def) > 3 {
			switch x := def[3].(type) {
			case int64:
				step = x
			case uint64:
				step = 1
			}
		}
	}
	sd := s.spaces[box.SpaceSequenceData]
	if sd == nil {
		sd = s.bootstrapSpace(findBootstrap(box.SpaceSequenceData))
	}
	if cur := sd.Get([]any{uint64(b.seqID)}); len(cur) > 1 {
		var c int64
		switch x := cur[1].(type) {
		case uint64:
			c = int64(x)
		case int64:
			c = x
		default:
			return
		}
		if step > 0 && value <= c || step < 0 && value >= c || step == 0 {
			return
		}
	}
	_, _ = s.apply(Request{Type: box.TypeReplace, SpaceID: box.SpaceSequenceData,
		Tuple: []any{uint64(b.seqID), normInt(value)}, canonical: true}, nil)
}

// bindingOf reads the _space_sequence row of a space:
// [space_id, sequence_id, is_generated, field_no, path] (1.10 has only
// the first three: the sequence field is the first one).
func (s *State) bindingOf(spaceID uint32) seqBinding {
	ss := s.spaces[box.SpaceSpaceSequence]
	row := ss.Get([]any{uint64(spaceID)})
	if len(row) < 2 {
		return seqBinding{none: true}
	}
	seqID, ok := asUint32(row[1])
	if !ok {
		return seqBinding{none: true}
	}
	part := keyPartRT{}
	if len(row) > 3 {
		f, ok := asUint32(row[3])
		if !ok {
			return seqBinding{none: true}
		}
		part.field = int(f)
	}
	if len(row) > 4 {
		if p, _ := row[4].(string); p != "" {
			toks, errPos := lexPath(p)
			if errPos != 0 {
				return seqBinding{none: true}
			}
			part.path = toks
		}
	}
	return seqBinding{seqID: seqID, kd: &keyDef{parts: []keyPartRT{part}}}
}
