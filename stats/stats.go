// Package stats counts the rows of log files the way pg_waldump --stats
// sums up a PostgreSQL WAL: rows and bytes by row type, by space and by
// replica id, transactions and their sizes, synchronous transactions and
// the CONFIRM/ROLLBACK rows that resolve them.
//
// Bytes are those of the rows as stored in the block payload after
// decompression: header plus body.
package stats

import (
	"math"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/format"
	"github.com/xlogtool/xlogtool/synchro"
)

// Counter counts rows and their bytes.
type Counter struct {
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
}

func (c *Counter) add(n int64) {
	c.Rows++
	c.Bytes += n
}

// TxStats sums up transactions.
type TxStats struct {
	Count int64 `json:"count"`
	// Rows and Bytes are those of the transactions' selected rows.
	Rows    int64 `json:"rows"`
	Bytes   int64 `json:"bytes"`
	MinRows int64 `json:"min_rows"`
	MaxRows int64 `json:"max_rows"`
	// MultiRow counts the transactions of more than one (selected) row.
	MultiRow int64 `json:"multi_row"`
	// Incomplete counts transactions whose last row was not found: the file
	// ended (or stopped at damage) inside them, or the next transaction
	// began before they were committed.
	Incomplete int64 `json:"incomplete"`
}

func (t *TxStats) add(rows, bytes int64) {
	if t.Count == 0 || rows < t.MinRows {
		t.MinRows = rows
	}
	if rows > t.MaxRows {
		t.MaxRows = rows
	}
	if rows > 1 {
		t.MultiRow++
	}
	t.Count++
	t.Rows += rows
	t.Bytes += bytes
}

// AvgRows is the mean number of rows per transaction.
func (t *TxStats) AvgRows() float64 {
	if t.Count == 0 {
		return 0
	}
	return float64(t.Rows) / float64(t.Count)
}

// AvgBytes is the mean size of a transaction in bytes.
func (t *TxStats) AvgBytes() float64 {
	if t.Count == 0 {
		return 0
	}
	return float64(t.Bytes) / float64(t.Count)
}

// replicaCounter counts the rows of one replica id.
type replicaCounter struct {
	Counter
	seen            bool
	firstLSN, lsnHi uint64
}

const (
	typeSlots    = 128 // row types counted in an array; others in a map
	replicaSlots = format.VClockMax
)

// Collector counts rows fed to it file by file.
type Collector struct {
	flt      format.Filter // the filter without its space part
	spaceFlt bool          // the space part applies
	spaces   []uint32
	system   bool // rows of system spaces pass

	files                int
	blocks, zblocks      int
	blockBytes, rawBytes int64
	rowsRead             int64
	total                Counter
	firstTS, lastTS      float64

	types      [typeSlots]Counter
	typesOther map[box.RowType]*Counter

	spaceCount map[uint32]*Counter
	lastSpace  uint32
	lastCount  *Counter
	names      map[uint32]string

	replicas      [replicaSlots]replicaCounter
	replicasOther map[uint32]*replicaCounter

	wal      bool // the current file is a WAL: count transactions
	asm      *format.TxAssembler
	queue    *synchro.Queue      // the writer's rules: which transactions are synchronous
	syncSp   *synchro.SyncSpaces // learned from _space rows
	lastSync bool                // lastSpace is synchronous
	tx       txState             // the selected rows of the open transaction
	txs      TxStats
	syncTxs  TxStats
	waitSync int64
}

// txState counts the selected rows of the transaction being read.
type txState struct {
	rows      int64
	bytes     int64
	syncSpace bool // a row writes a synchronous space
}

// New returns a collector counting the rows flt selects (all rows when nil).
func New(flt *format.Filter) *Collector {
	c := &Collector{
		typesOther:    map[box.RowType]*Counter{},
		spaceCount:    map[uint32]*Counter{},
		names:         map[uint32]string{},
		replicasOther: map[uint32]*replicaCounter{},
		system:        true,
		asm:           format.NewTxAssembler(format.TxOptions{}),
		queue:         synchro.NewQueue(synchro.Options{}),
		syncSp:        synchro.NewSyncSpaces(nil),
	}
	if flt == nil {
		n := format.NewFilter()
		flt = &n
	}
	c.flt = *flt
	if len(flt.Spaces) > 0 || !flt.ShowSystem {
		// Rows are matched on their space here, with the space id found
		// once for counting, and on everything else by Filter.Match.
		c.spaceFlt, c.spaces, c.system = true, flt.Spaces, flt.ShowSystem
		c.flt.Spaces, c.flt.ShowSystem = nil, true
	}
	return c
}

// BeginFile starts the rows of a file with header m.
func (c *Collector) BeginFile(m *format.Meta) {
	c.files++
	c.wal = m != nil && m.FileType == format.TypeXLOG
	if m != nil {
		c.queue.SetRules(synchro.RulesFor(m.Tarantool))
	}
	c.asm.Reset()
	c.tx = txState{}
}

// EndFile ends the rows of a file read by r (nil when it could not be
// opened): a transaction still open is incomplete, and the file's blocks
// are counted.
func (c *Collector) EndFile(r *format.Reader) {
	for _, t := range c.asm.End() {
		c.closeTx(t)
	}
	if r != nil {
		st := r.Stats()
		c.blocks += st.Blocks
		c.zblocks += st.ZBlocks
		c.blockBytes += st.BlockBytes
		c.rawBytes += st.RawBytes
	}
}

// Row counts one row; every row of a file must be given, selected or not,
// so that transactions are seen whole.
func (c *Collector) Row(r *format.Row) {
	c.rowsRead++
	sid, hasSpace := r.SpaceID()
	if hasSpace && sid == box.SpaceSpace {
		if r.Type == box.TypeInsert || r.Type == box.TypeReplace {
			c.learnName(r.Body)
		}
		c.syncSp.Learn(r)
		c.lastCount = nil // the space remembered may have changed
	}
	size := int64(len(r.RawHeader) + len(r.Body))
	sel := c.match(r, sid, hasSpace)
	if c.wal {
		interrupted, done := c.asm.AddSplit(r)
		for _, t := range interrupted {
			c.closeTx(t)
		}
		if sel {
			c.tx.rows++
			c.tx.bytes += size
		}
		if hasSpace && !c.tx.syncSpace && c.spaceSync(sid) {
			c.tx.syncSpace = true
		}
		if done != nil {
			c.closeTx(done)
		}
	}
	if !sel {
		return
	}
	c.total.add(size)
	if ts := r.Timestamp; ts != 0 {
		if c.firstTS == 0 || ts < c.firstTS {
			c.firstTS = ts
		}
		if ts > c.lastTS {
			c.lastTS = ts
		}
	}
	if r.Type < typeSlots {
		c.types[r.Type].add(size)
	} else {
		ct := c.typesOther[r.Type]
		if ct == nil {
			ct = &Counter{}
			c.typesOther[r.Type] = ct
		}
		ct.add(size)
	}
	if hasSpace {
		if c.lastCount == nil || sid != c.lastSpace {
			ct := c.spaceCount[sid]
			if ct == nil {
				ct = &Counter{}
				c.spaceCount[sid] = ct
			}
			c.lastSpace, c.lastCount, c.lastSync = sid, ct, c.syncSp.IsSync(sid)
		}
		c.lastCount.add(size)
	}
	var rc *replicaCounter
	if r.ReplicaID < replicaSlots {
		rc = &c.replicas[r.ReplicaID]
	} else if rc = c.replicasOther[r.ReplicaID]; rc == nil {
		rc = &replicaCounter{}
		c.replicasOther[r.ReplicaID] = rc
	}
	rc.add(size)
	if c.wal {
		if !rc.seen {
			rc.seen, rc.firstLSN = true, r.LSN
		}
		rc.lsnHi = max(rc.lsnHi, r.LSN)
	}
}

// spaceSync reports whether a space is synchronous, remembering the
// answer for the space seen last.
func (c *Collector) spaceSync(sid uint32) bool {
	if c.lastCount != nil && sid == c.lastSpace {
		return c.lastSync
	}
	return c.syncSp.IsSync(sid)
}

// match applies the filter: its space part (the rule of Filter.Match) with
// the space id found already, the rest through Filter.Match.
func (c *Collector) match(r *format.Row, sid uint32, has bool) bool {
	if c.spaceFlt {
		if len(c.spaces) > 0 {
			if !has || !contains(c.spaces, sid) {
				return false
			}
		} else if !c.system && has && sid < box.SystemSpaceMax {
			return false
		}
	}
	return c.flt.Match(r)
}

func contains(list []uint32, v uint32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// closeTx counts a transaction that ended, with the selected rows seen
// since the previous one ended.
func (c *Collector) closeTx(t *format.Tx) {
	tx := c.tx
	c.tx = txState{}
	if tx.rows == 0 {
		return
	}
	c.txs.add(tx.rows, tx.bytes)
	if t.End != format.TxCommitted {
		c.txs.Incomplete++
		return
	}
	if sync, _ := c.queue.Classify(t.Flags, tx.syncSpace); sync {
		c.syncTxs.add(tx.rows, tx.bytes)
	}
	if t.Flags&box.FlagWaitSync != 0 {
		c.waitSync++
	}
}

// learnName records the name of a space from a row of _space: the tuple's
// field 1 is the id, field 3 the name.
func (c *Collector) learnName(body []byte) {
	cur := format.NewMPCursor(body)
	n, err := cur.MapLen()
	if err != nil {
		return
	}
	for i := 0; i < n; i++ {
		if cur.Kind() != format.MPUint {
			return
		}
		k, _ := cur.Uint()
		if k != box.KeyTuple {
			if cur.Skip() != nil {
				return
			}
			continue
		}
		if l, err := cur.ArrayLen(); err != nil || l < 3 {
			return
		}
		id, err := cur.Uint()
		if err != nil || id > math.MaxUint32 || cur.Skip() != nil {
			return
		}
		name, err := cur.Bytes()
		if err != nil {
			return
		}
		c.names[uint32(id)] = string(name)
		return
	}
}
