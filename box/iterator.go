package box

// Iterator selects how an index is scanned (box.index.EQ, ...).
type Iterator uint32

// Index iterators.
const (
	IterEq            Iterator = 0
	IterReq           Iterator = 1
	IterAll           Iterator = 2
	IterLt            Iterator = 3
	IterLe            Iterator = 4
	IterGe            Iterator = 5
	IterGt            Iterator = 6
	IterBitsAllSet    Iterator = 7
	IterBitsAnySet    Iterator = 8
	IterBitsAllNotSet Iterator = 9
	IterOverlaps      Iterator = 10
	IterNeighbor      Iterator = 11
)

// Isolation is a transaction isolation level for BEGIN (2.10+).
type Isolation uint32

// Isolation levels; IsolationDefault leaves the choice to the server.
const (
	IsolationDefault       Isolation = 0
	IsolationReadCommitted Isolation = 1
	IsolationReadConfirmed Isolation = 2
	IsolationBestEffort    Isolation = 3
)
