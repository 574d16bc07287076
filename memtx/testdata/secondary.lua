-- Differential workload for secondary indexes, selects and transactions.
--
-- Usage: tarantool secondary.lua <work_dir> <seed> <op_count>
--
-- Prints JSON lines:
--   {"k":"row", ...}    a _space or _index row defining the test spaces;
--   {"k":"req", ...}    a DML request with its outcome ("ok", "code",
--                       "msg") and the tuple it returned ("res", hex of
--                       MsgPack, absent for none);
--   {"k":"sel", ...}    a select (index, iterator "it", key in "mp",
--                       "offset", "limit") with its outcome and tuples;
--   {"k":"begin"}, {"k":"commit"}, {"k":"rollback"} transaction bounds;
--   {"k":"final", ...}  every tuple of one index, in its order.
-- Request arguments are in "mp": hex of a MsgPack map {key=, tuple=, ops=}.

local work_dir, seed, op_count = arg[1], tonumber(arg[2]), tonumber(arg[3])
box.cfg{work_dir = work_dir, log_level = 0, memtx_memory = 128 * 1024 * 1024}

local json = require('json')
local msgpack = require('msgpack')

local TYPES = {INSERT = 2, REPLACE = 3, UPDATE = 4, DELETE = 5, UPSERT = 9}

local function hex(v) return string.hex(msgpack.encode(v)) end

local function print_line(t) print(json.encode(t)) end

local function result_of(ok, res)
    local line = {ok = ok}
    if ok then
        if res ~= nil then line.res = hex(res) end
    elseif type(res) == 'cdata' or type(res) == 'table' then
        line.code, line.msg = res.code, res.message
    else
        line.code, line.msg = 0, tostring(res)
    end
    return line
end

math.randomseed(seed)
local R = math.random
local function pick(list) return list[R(#list)] end

-- Space 'a': {id unsigned, s string, n unsigned nullable, h integer,
-- t string nullable}.
local a = box.schema.space.create('a', {format = {
    {'id', 'unsigned'}, {'s', 'string'}, {'n', 'unsigned', is_nullable = true},
    {'h', 'integer'}, {'t', 'string', is_nullable = true}}})
a:create_index('pk', {parts = {{1, 'unsigned'}}})
a:create_index('us', {parts = {{2, 'string'}}, unique = true})
a:create_index('nn', {parts = {{3, 'unsigned', is_nullable = true}}, unique = false})
a:create_index('hh', {type = 'hash', parts = {{4, 'integer'}}})
a:create_index('unt', {parts = {{3, 'unsigned', is_nullable = true}, {5, 'string', is_nullable = true}}, unique = true})
a:create_index('nts', {parts = {{5, 'string', is_nullable = true}, {2, 'string'}}, unique = false})
a:create_index('hsh', {type = 'hash', parts = {{2, 'string'}, {4, 'integer'}}})
-- Space 'b': string primary key, a non-unique multipart tree and a
-- unique tree over a field of any scalar.
local b = box.schema.space.create('b')
b:create_index('pk', {type = 'hash', parts = {{1, 'string'}}})
b:create_index('xy', {parts = {{2, 'unsigned'}, {3, 'integer'}}, unique = false})
b:create_index('sc', {parts = {{4, 'scalar', is_nullable = true}}, unique = true})

for _, s in ipairs({a, b}) do
    print_line({k = 'row', type = TYPES.INSERT, space = 280, mp = hex({tuple = box.space._space:get(s.id)})})
    for _, ix in box.space._index:pairs({s.id}) do
        print_line({k = 'row', type = TYPES.INSERT, space = 288, mp = hex({tuple = ix})})
    end
end

local words = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}

local function gen_a()
    local t = {R(0, 40), pick(words) .. R(0, 3), box.NULL, R(-40, 40), box.NULL}
    if R(3) > 1 then t[3] = R(0, 4) end
    if R(3) > 1 then t[5] = pick(words) end
    if R(6) == 1 then t[5] = nil end
    if R(25) == 1 then t[R(1, 4)] = pick({'bad', -1, box.NULL, 1.5}) end
    return t
end

local function gen_b()
    local t = {pick(words) .. R(0, 2), R(0, 3), R(-2, 2)}
    local c = R(5)
    if c == 1 then t[4] = R(0, 9) elseif c == 2 then t[4] = pick(words)
    elseif c == 3 then t[4] = box.NULL elseif c == 4 then t[4] = R(0, 1) == 1 end
    if R(25) == 1 then t[2] = pick({'bad', -1, box.NULL}) end
    return t
end

-- Keys of the unique indexes, usable for UPDATE and DELETE.
local function gen_key(s)
    if s == a then
        local c = R(5)
        if c == 1 then return 1, {pick(words) .. R(0, 3)} end
        if c == 2 then return 3, {R(-40, 40)} end
        if c == 3 then return 4, {R(0, 4), pick(words)} end
        if c == 4 then return 6, {pick(words) .. R(0, 3), R(-40, 40)} end
        if R(20) == 1 then return 2, {R(0, 4)} end -- non-unique
        return 0, {R(0, 40)}
    end
    if R(3) == 1 then return 2, {R(0, 9)} end
    if R(20) == 1 then return 1, {R(0, 3), R(-2, 2)} end -- non-unique
    return 0, {pick(words) .. R(0, 2)}
end

local function gen_ops(s)
    local ops = {}
    for i = 1, R(1, 2) do
        if s == a then
            local c = R(4)
            if c == 1 then ops[i] = {'=', 2, pick(words) .. R(0, 2)}
            elseif c == 2 then ops[i] = {'=', 3, R(0, 4)}
            elseif c == 3 then ops[i] = {'+', 4, R(-2, 2)}
            else ops[i] = {'=', 5, pick(words)} end
        else
            local c = R(3)
            if c == 1 then ops[i] = {'=', 2, R(0, 3)}
            elseif c == 2 then ops[i] = {'+', 3, R(-1, 1)}
            else ops[i] = {'=', 4, R(0, 9)} end
        end
    end
    return ops
end

local function request(s)
    local gen = s == a and gen_a or gen_b
    local c = R(100)
    local line
    if c <= 30 then
        local t = gen()
        line = result_of(pcall(s.insert, s, t))
        line.type, line.mp = TYPES.INSERT, hex({tuple = t})
    elseif c <= 50 then
        local t = gen()
        line = result_of(pcall(s.replace, s, t))
        line.type, line.mp = TYPES.REPLACE, hex({tuple = t})
    elseif c <= 70 then
        local iid, key = gen_key(s)
        local ops = gen_ops(s)
        local ix = s.index[iid]
        line = result_of(pcall(ix.update, ix, key, ops))
        line.type, line.index, line.base, line.mp = TYPES.UPDATE, iid, 1, hex({key = key, ops = ops})
    elseif c <= 80 then
        local t = gen()
        local ops = gen_ops(s)
        line = result_of(pcall(s.upsert, s, t, ops))
        line.type, line.base, line.mp = TYPES.UPSERT, 1, hex({tuple = t, ops = ops})
    else
        local iid, key = gen_key(s)
        local ix = s.index[iid]
        line = result_of(pcall(ix.delete, ix, key))
        line.type, line.index, line.mp = TYPES.DELETE, iid, hex({key = key})
    end
    line.k, line.space = 'req', s.id
    print_line(line)
end

local iterators = {'EQ', 'REQ', 'ALL', 'LT', 'LE', 'GE', 'GT'}
local iterator_ids = {EQ = 0, REQ = 1, ALL = 2, LT = 3, LE = 4, GE = 5, GT = 6}

local function select(s)
    local nindex = s == a and 7 or 3
    local iid = R(0, nindex - 1)
    local ix = s.index[iid]
    local it = pick(iterators)
    if ix.type == 'HASH' then
        -- The order of a HASH index is its own; only what does not
        -- depend on it is compared: EQ, and the iterators it refuses.
        it = pick({'EQ', 'EQ', 'EQ', 'LE', 'REQ'})
    end
    local key = {}
    local gen = s == a and gen_a or gen_b
    local t = gen()
    for i = 1, R(0, #ix.parts + (R(15) == 1 and 1 or 0)) do
        local p = ix.parts[i] or ix.parts[1]
        key[i] = t[p.fieldno]
        if key[i] == nil then key[i] = box.NULL end
    end
    local offset, limit = 0, 1000
    if R(4) == 1 then offset = R(0, 3) end
    if R(4) == 1 then limit = R(0, 4) end
    local ok, res = pcall(ix.select, ix, key, {iterator = it, offset = offset, limit = limit})
    local line = result_of(ok, res)
    line.k, line.space, line.index, line.it = 'sel', s.id, iid, iterator_ids[it]
    line.mp, line.offset, line.limit = hex({key = key}), offset, limit
    print_line(line)
end

local in_tx = false
for _ = 1, op_count do
    local c = R(100)
    local s = R(3) == 1 and b or a
    if c <= 60 then
        request(s)
    elseif c <= 90 then
        select(s)
    elseif not in_tx then
        box.begin()
        in_tx = true
        print_line({k = 'begin'})
    else
        if R(2) == 1 then box.rollback() print_line({k = 'rollback'})
        else box.commit() print_line({k = 'commit'}) end
        in_tx = false
    end
end
if in_tx then
    box.commit()
    print_line({k = 'commit'})
end

for _, s in ipairs({a, b}) do
    for iid = 0, (s == a and 6 or 2) do
        local ix = s.index[iid]
        if ix.type ~= 'HASH' then
            print_line({k = 'final', space = s.id, index = iid, res = hex(ix:select({}, {iterator = 'ALL'}))})
        end
    end
end
os.exit(0)
