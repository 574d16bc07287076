package node

import "github.com/xlogtool/xlogtool/memtx"

// applier follows one peer.
type applier struct{}

func (a *applier) info(uuid string) (memtx.Map, bool) { return nil, false }
