package node

import (
	"strings"

	"github.com/xlogtool/xlogtool/box"
	"github.com/xlogtool/xlogtool/memtx"
)

// The data dictionary of a Tarantool 2.6.0 instance that bootstraps a new
// replica set: the system spaces with their formats and indexes, the
// collations, the built-in functions, the users and roles with their
// privileges, the _schema keys and the instance itself in _cluster. A
// 2.6.0 instance starting from a snapshot with these rows (and nothing of
// later versions) takes it as its own.

// DictionaryVersion is the data dictionary version stored in _schema;
// Tarantool 2.6.0 refuses to start from other layouts (NODE.md §6.2).
var DictionaryVersion = []any{uint64(2), uint64(3), uint64(1)}

// dictTimestamp is the creation time of the built-in functions.
const dictTimestamp = "2019-12-29 17:52:51"

// dictRow is one tuple of a system space.
type dictRow struct {
	space uint32
	tuple []any
}

func u(v uint32) any { return uint64(v) }

// field is one entry of a space format, {name=, type=[, is_nullable=true]}.
func field(spec string) any {
	name, typ, _ := strings.Cut(spec, ":")
	nullable := strings.HasSuffix(typ, "?")
	typ = strings.TrimSuffix(typ, "?")
	m := memtx.Map{{Key: "name", Value: name}, {Key: "type", Value: typ}}
	if nullable {
		m = append(m, memtx.MapEntry{Key: "is_nullable", Value: true})
	}
	return m
}

func fields(specs string) []any {
	out := []any{}
	for _, s := range strings.Fields(specs) {
		out = append(out, field(s))
	}
	return out
}

// Formats shared by a space and its system view.
const (
	fmtCollation = "id:unsigned name:string owner:unsigned type:string locale:string opts:map"
	fmtSpace     = "id:unsigned owner:unsigned name:string engine:string field_count:unsigned flags:map format:array"
	fmtSequence  = "id:unsigned owner:unsigned name:string step:integer min:integer max:integer start:integer cache:integer cycle:boolean"
	fmtIndex     = "id:unsigned iid:unsigned name:string type:string opts:map parts:array"
	fmtUser      = "id:unsigned owner:unsigned name:string type:string auth:map"
	fmtPriv      = "grantor:unsigned grantee:unsigned object_type:string object_id:scalar privilege:unsigned"
)

// dictSpace describes one system space.
type dictSpace struct {
	id         uint32
	engine     string
	fieldCount uint32
	opts       memtx.Map
	format     []any
}

func dictSpaces() []dictSpace {
	m := func(k string, v any) memtx.Map { return memtx.Map{{Key: k, Value: v}} }
	// _schema's fields list their type before their name, as 2.6.0 has them.
	schemaFormat := []any{
		memtx.Map{{Key: "type", Value: "string"}, {Key: "name", Value: "key"}},
		memtx.Map{{Key: "type", Value: "any"}, {Key: "name", Value: "value"}, {Key: "is_nullable", Value: true}},
	}
	return []dictSpace{
		{box.SpaceVinylDeferredDelete, "blackhole", 0, m("group_id", uint64(1)), fields("space_id:unsigned lsn:unsigned tuple:array")},
		{box.SpaceSchema, "memtx", 0, nil, schemaFormat},
		{box.SpaceCollation, "memtx", 0, nil, fields(fmtCollation)},
		{box.SpaceVCollation, "sysview", 0, nil, fields(fmtCollation)},
		{box.SpaceSpace, "memtx", 0, nil, fields(fmtSpace)},
		{box.SpaceVSpace, "sysview", 0, nil, fields(fmtSpace)},
		{box.SpaceSequence, "memtx", 0, nil, fields(fmtSequence)},
		{box.SpaceSequenceData, "memtx", 0, nil, fields("id:unsigned value:integer")},
		{box.SpaceVSequence, "sysview", 0, nil, fields(fmtSequence)},
		{box.SpaceIndex, "memtx", 0, nil, fields(fmtIndex)},
		{box.SpaceVIndex, "sysview", 0, nil, fields(fmtIndex)},
		{box.SpaceFunc, "memtx", 0, nil, fields("id:unsigned owner:unsigned name:string setuid:unsigned language:string body:string routine_type:string param_list:array returns:string aggregate:string sql_data_access:string is_deterministic:boolean is_sandboxed:boolean is_null_call:boolean exports:array opts:map comment:string created:string last_altered:string")},
		{box.SpaceVFunc, "sysview", 0, nil, fields("id:unsigned owner:unsigned name:string setuid:unsigned")},
		{box.SpaceUser, "memtx", 0, nil, fields(fmtUser)},
		{box.SpaceVUser, "sysview", 0, nil, fields(fmtUser)},
		{box.SpacePriv, "memtx", 0, nil, fields(fmtPriv)},
		{box.SpaceVPriv, "sysview", 0, nil, fields(fmtPriv)},
		{box.SpaceCluster, "memtx", 0, nil, fields("id:unsigned uuid:string")},
		{box.SpaceTrigger, "memtx", 0, nil, fields("name:string space_id:unsigned opts:map")},
		{box.SpaceTruncate, "memtx", 0, nil, fields("id:unsigned count:unsigned")},
		{box.SpaceSpaceSequence, "memtx", 0, nil, fields("id:unsigned sequence_id:unsigned is_generated:boolean field:unsigned path:string")},
		{box.SpaceFkConstraint, "memtx", 0, nil, fields("name:string child_id:unsigned parent_id:unsigned is_deferred:boolean match:string on_delete:string on_update:string child_cols:array parent_cols:array")},
		{box.SpaceCkConstraint, "memtx", 0, nil, fields("space_id:unsigned name:string is_deferred:boolean language:str code:str is_enabled:boolean")},
		{box.SpaceFuncIndex, "memtx", 0, nil, fields("space_id:unsigned index_id:unsigned func_id:unsigned")},
		{box.SpaceSessionSettings, "service", 2, m("temporary", true), fields("name:string value:any")},
	}
}

// dictIndexes lists the system indexes: space id, index id, name, type,
// unique, then the parts as "field:type" pairs.
var dictIndexes = []string{
	"272 0 primary tree 1 0:string",
	"276 0 primary tree 1 0:unsigned", "276 1 name tree 1 1:string",
	"277 0 primary tree 1 0:unsigned", "277 1 name tree 1 1:string",
	"280 0 primary tree 1 0:unsigned", "280 1 owner tree 0 1:unsigned", "280 2 name tree 1 2:string",
	"281 0 primary tree 1 0:unsigned", "281 1 owner tree 0 1:unsigned", "281 2 name tree 1 2:string",
	"284 0 primary tree 1 0:unsigned", "284 1 owner tree 0 1:unsigned", "284 2 name tree 1 2:string",
	"285 0 primary hash 1 0:unsigned",
	"286 0 primary tree 1 0:unsigned", "286 1 owner tree 0 1:unsigned", "286 2 name tree 1 2:string",
	"288 0 primary tree 1 0:unsigned 1:unsigned", "288 2 name tree 1 0:unsigned 2:string",
	"289 0 primary tree 1 0:unsigned 1:unsigned", "289 2 name tree 1 0:unsigned 2:string",
	"296 0 primary tree 1 0:unsigned", "296 1 owner tree 0 1:unsigned", "296 2 name tree 1 2:string",
	"297 0 primary tree 1 0:unsigned", "297 1 owner tree 0 1:unsigned", "297 2 name tree 1 2:string",
	"304 0 primary tree 1 0:unsigned", "304 1 owner tree 0 1:unsigned", "304 2 name tree 1 2:string",
	"305 0 primary tree 1 0:unsigned", "305 1 owner tree 0 1:unsigned", "305 2 name tree 1 2:string",
	"312 0 primary tree 1 1:unsigned 2:string 3:scalar", "312 1 owner tree 0 0:unsigned", "312 2 object tree 0 2:string 3:scalar",
	"313 0 primary tree 1 1:unsigned 2:string 3:scalar", "313 1 owner tree 0 0:unsigned", "313 2 object tree 0 2:string 3:scalar",
	"320 0 primary tree 1 0:unsigned", "320 1 uuid tree 1 1:string",
	"328 0 primary tree 1 0:string", "328 1 space_id tree 0 1:unsigned",
	"330 0 primary tree 1 0:unsigned",
	"340 0 primary tree 1 0:unsigned", "340 1 sequence tree 0 1:unsigned",
	"356 0 primary tree 1 0:string 1:unsigned", "356 1 child_id tree 0 1:unsigned",
	"364 0 primary tree 1 0:unsigned 1:string",
	"372 0 primary tree 1 0:unsigned 1:unsigned", "372 1 fid tree 0 2:unsigned",
	"380 0 primary tree 1 0:string",
}

// indexRow builds an _index tuple from its description in dictIndexes.
func indexRow(desc string) []any {
	f := strings.Fields(desc)
	parts := []any{}
	for _, p := range f[5:] {
		fno, typ, _ := strings.Cut(p, ":")
		parts = append(parts, []any{parseU(fno), typ})
	}
	return []any{parseU(f[0]), parseU(f[1]), f[2], f[3],
		memtx.Map{{Key: "unique", Value: f[4] == "1"}}, parts}
}

func parseU(s string) uint64 {
	var n uint64
	for _, c := range s {
		n = n*10 + uint64(c-'0')
	}
	return n
}

// sqlBuiltins are the SQL functions registered in _func (ids 2..64, then
// 66 and 67; 65 is LUA).
var sqlBuiltins = strings.Fields(`TRIM TYPEOF PRINTF UNICODE CHAR HEX VERSION QUOTE REPLACE SUBSTR
GROUP_CONCAT JULIANDAY DATE TIME DATETIME STRFTIME CURRENT_TIME CURRENT_TIMESTAMP CURRENT_DATE
LENGTH POSITION ROUND UPPER LOWER IFNULL RANDOM CEIL CEILING CHARACTER_LENGTH CHAR_LENGTH FLOOR
MOD OCTET_LENGTH ROW_COUNT COUNT LIKE ABS EXP LN POWER SQRT SUM TOTAL AVG RANDOMBLOB NULLIF
ZEROBLOB MIN MAX COALESCE EVERY EXISTS EXTRACT SOME GREATER LESSER SOUNDEX LIKELIHOOD LIKELY
UNLIKELY _sql_stat_get _sql_stat_push _sql_stat_init`)

func funcRow(id uint32, name, lang, body string, params, exports []any) []any {
	return []any{u(id), u(box.UserAdmin), name, uint64(1), lang, body, "function", params, "any", "none", "none",
		false, false, true, exports, memtx.Map{}, "", dictTimestamp, dictTimestamp}
}

func dictFuncs() [][]any {
	out := [][]any{funcRow(1, "box.schema.user.info", "LUA", "", []any{}, []any{"LUA"})}
	id := uint32(2)
	for _, name := range sqlBuiltins {
		out = append(out, funcRow(id, name, "SQL_BUILTIN", "", []any{}, []any{}))
		id++
	}
	out = append(out, funcRow(65, "LUA", "LUA", "function(code) return assert(loadstring(code))() end",
		[]any{"string"}, []any{"LUA", "SQL"}))
	out = append(out, funcRow(66, "GREATEST", "SQL_BUILTIN", "", []any{}, []any{}))
	out = append(out, funcRow(67, "LEAST", "SQL_BUILTIN", "", []any{}, []any{}))
	return out
}

// icuCollations lists the ICU collations after unicode and unicode_ci, as
// "name-suffix=locale" (the locale is the suffix unless given). Each gets
// three strengths, _s1 primary, _s2 secondary, _s3 tertiary.
var icuCollations = strings.Fields(`af am ar as az be bn bs bs_Cyrl ca cs cy da
de__phonebook=de_DE_u_co_phonebk de_AT_phonebook=de_AT_u_co_phonebk dsb ee eo es
es__traditional=es_u_co_trad et fa fi fi__phonebook=fi_u_co_phonebk fil fo fr_CA gu ha haw he
hi hr hu hy ig is ja kk kl kn ko kok ky lkt ln lt lv mk ml mr mt nb nn nso om or pa pl ro sa se
si si__dictionary=si_u_co_dict sk sl sq sr sr_Latn sv sv__reformed=sv_u_co_reformed ta te th
tn to tr ug_Cyrl=ug uk ur vi vo wae wo yo zh zh__big5han=zh_u_co_big5han
zh__gb2312han=zh_u_co_gb2312 zh__pinyin=zh_u_co_pinyin zh__stroke=zh_u_co_stroke
zh__zhuyin=zh_u_co_zhuyin`)

func dictCollations() [][]any {
	strength := func(s string) memtx.Map { return memtx.Map{{Key: "strength", Value: s}} }
	out := [][]any{
		{uint64(0), "none", u(box.UserAdmin), "BINARY", "", memtx.Map{}},
		{uint64(1), "unicode", u(box.UserAdmin), "ICU", "", strength("tertiary")},
		{uint64(2), "unicode_ci", u(box.UserAdmin), "ICU", "", strength("primary")},
		{uint64(3), "binary", u(box.UserAdmin), "BINARY", "", memtx.Map{}},
	}
	id := uint64(4)
	for _, c := range icuCollations {
		name, locale, ok := strings.Cut(c, "=")
		if !ok {
			locale = name
		}
		for i, s := range []string{"primary", "secondary", "tertiary"} {
			out = append(out, []any{id, "unicode_" + name + "_s" + string(rune('1'+i)), u(box.UserAdmin), "ICU", locale, strength(s)})
			id++
		}
	}
	return out
}

// GuestPasswordHash is the stored chap-sha1 hash of the empty password.
const GuestPasswordHash = "vhvewKp0tNyweZQ+cFKAlsyphfg="

func priv(grantee uint32, objType string, objID uint32, bits uint32) []any {
	return []any{u(box.UserAdmin), u(grantee), objType, u(objID), u(bits)}
}

func dictPrivs(nfuncs int) [][]any {
	out := [][]any{
		priv(box.UserGuest, "role", box.RolePublic, box.PrivExecute),
		priv(box.UserGuest, "universe", 0, box.PrivSession|box.PrivUsage),
		priv(box.UserAdmin, "universe", 0, box.PrivAll),
	}
	for id := 1; id <= nfuncs; id++ {
		out = append(out, priv(box.RolePublic, "function", uint32(id), box.PrivExecute))
	}
	for _, sp := range []uint32{276, 277, 281, 286, 289, 297, 305, 313, 330} {
		bits := uint32(box.PrivRead)
		if sp == 276 || sp == 330 {
			bits = box.PrivWrite
		}
		out = append(out, priv(box.RolePublic, "space", sp, bits))
	}
	return append(out,
		priv(box.RoleReplication, "space", 320, box.PrivWrite),
		priv(box.RoleReplication, "universe", 0, box.PrivRead),
		priv(box.RoleSuper, "universe", 0, box.PrivAll))
}

// Dictionary returns the rows of a freshly bootstrapped 2.6.0 instance in
// snapshot order (by space id, then primary key), the instance registered
// as replica 1 of the replica set.
func Dictionary(instanceUUID, replicasetUUID string) []dictRow {
	var rows []dictRow
	add := func(space uint32, t []any) { rows = append(rows, dictRow{space, t}) }
	add(box.SpaceSchema, []any{"cluster", replicasetUUID})
	add(box.SpaceSchema, []any{"max_id", uint64(511)})
	add(box.SpaceSchema, append([]any{"version"}, DictionaryVersion...))
	for _, c := range dictCollations() {
		add(box.SpaceCollation, c)
	}
	for _, s := range dictSpaces() {
		opts := s.opts
		if opts == nil {
			opts = memtx.Map{}
		}
		add(box.SpaceSpace, []any{u(s.id), u(box.UserAdmin), box.SpaceName(s.id), s.engine, u(s.fieldCount), opts, s.format})
	}
	for _, d := range dictIndexes {
		add(box.SpaceIndex, indexRow(d))
	}
	funcs := dictFuncs()
	for _, f := range funcs {
		add(box.SpaceFunc, f)
	}
	add(box.SpaceUser, []any{u(box.UserGuest), u(box.UserAdmin), "guest", "user", memtx.Map{{Key: "chap-sha1", Value: GuestPasswordHash}}})
	add(box.SpaceUser, []any{u(box.UserAdmin), u(box.UserAdmin), "admin", "user", memtx.Map{}})
	add(box.SpaceUser, []any{u(box.RolePublic), u(box.UserAdmin), "public", "role", memtx.Map{}})
	add(box.SpaceUser, []any{u(box.RoleReplication), u(box.UserAdmin), "replication", "role", memtx.Map{}})
	add(box.SpaceUser, []any{u(box.RoleSuper), u(box.UserAdmin), "super", "role", memtx.Map{}})
	for _, p := range dictPrivs(len(funcs)) {
		add(box.SpacePriv, p)
	}
	add(box.SpaceCluster, []any{uint64(1), instanceUUID})
	return rows
}
