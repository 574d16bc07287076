-- Workload for the recovery tests: writes a data directory with
-- synchronous and asynchronous spaces, multi-statement transactions, a
-- synchronous transaction rolled back by timeout, every UPDATE/UPSERT
-- operation, DDL, a snapshot in the middle and writes after it. At
-- marked moments it prints the content of every user space as a JSON
-- line:
--   {"label": ..., "vclock": "{1: 10}", "id": 1, "lsn": 10, "time": T,
--    "spaces": {"512": "<hex of msgpack of select()>", ...}}
-- The rows written before a mark have timestamps <= T, the rows written
-- after it timestamps > T.
--
-- Run it with the data directory as the working directory.
local fiber = require('fiber')
local json = require('json')
local msgpack = require('msgpack')
local decimal = require('decimal')
local uuid = require('uuid')

box.cfg{
    log = 'tarantool.log',
    checkpoint_count = 10,
    wal_max_size = 16384,
    replication_synchro_quorum = 1,
    replication_synchro_timeout = 5,
}

local function vclock_text()
    local ids = {}
    for id in pairs(box.info.vclock) do table.insert(ids, id) end
    table.sort(ids)
    local parts = {}
    for _, id in ipairs(ids) do
        table.insert(parts, string.format('%d: %d', id, box.info.vclock[id]))
    end
    return '{' .. table.concat(parts, ', ') .. '}'
end

local function dump(label)
    local spaces = {}
    for _, t in box.space._space:pairs(512, {iterator = 'GE'}) do
        local sp = box.space[t[1]]
        local temporary = type(t[6]) == 'table' and t[6].temporary
        if sp ~= nil and sp.index[0] ~= nil and not temporary then
            spaces[tostring(t[1])] = string.hex(msgpack.encode(sp:select{}))
        end
    end
    print(json.encode({label = label, vclock = vclock_text(), id = box.info.id,
                       lsn = box.info.lsn, time = fiber.time(), spaces = spaces}))
    io.stdout:flush()
end

-- mark dumps the state at a moment that separates the rows before it
-- from the rows after it by their timestamps.
local function mark(label)
    fiber.sleep(0.03)
    dump(label)
    fiber.sleep(0.03)
end

-- Schema.
local a = box.schema.space.create('async', {format = {
    {name = 'id', type = 'unsigned'},
    {name = 'name', type = 'string'},
    {name = 'val', type = 'any', is_nullable = true},
}})
a:create_index('pk', {parts = {'id'}})
a:create_index('name', {parts = {'name'}, unique = true})
local s = box.schema.space.create('sync', {is_sync = true})
s:create_index('pk', {parts = {{1, 'unsigned'}}})
local l = box.schema.space.create('loc', {is_local = true})
l:create_index('pk', {parts = {{1, 'string'}}})
local tmp = box.schema.space.create('tmp', {temporary = true})
tmp:create_index('pk')
local seq = box.schema.space.create('seq')
seq:create_index('pk', {sequence = true})
local n = box.schema.space.create('num')
n:create_index('pk', {parts = {{1, 'integer'}}})
n:create_index('k2', {parts = {{2, 'string'}, {3, 'number'}}, unique = false})

-- Asynchronous writes with every value type.
for i = 1, 30 do
    a:insert{i, 'name' .. i, {i, 'x', {k = i}}}
end
a:replace{31, 'unicode ✓', {1.5, -7, true, box.NULL}}
a:insert{32, 'dec', decimal.new('123.456')}
a:insert{33, 'uuid', uuid.fromstr('c8f0fa1f-da29-438c-a040-393f1126ad39')}
a:insert{34, 'big', {18446744073709551615ULL, -9223372036854775807LL}}
for i = 1, 20 do n:insert{-i * 1000, 'k' .. (i % 3), i / 4} end
for i = 1, 5 do l:insert{'local' .. i, i} end
for i = 1, 5 do tmp:insert{i} end
for i = 1, 5 do seq:insert{box.NULL, 'auto' .. i} end

-- Every UPDATE operation.
assert(not pcall(a.update, a, 1, {{'+', 4, 1}})) -- no field 4: not logged
a:replace{1, 'name1', 10}
a:update(1, {{'+', 3, 5}})
a:update(1, {{'-', 3, 2}})
a:update(1, {{'&', 3, 6}})
a:update(1, {{'|', 3, 1}})
a:update(1, {{'^', 3, 3}})
a:update(2, {{':', 2, 2, 3, 'XYZ'}})
a:update(3, {{'!', 4, 'ins'}, {'=', 3, 'assigned'}})
a:update(3, {{'#', 4, 1}})
a:update(4, {{'=', 'val', {nested = {1, 2}}}})
assert(not pcall(a.update, a, 5, {{'+', 'val', 1}})) -- val is an array: not logged
n:update(-1000, {{'+', 3, 0.5}, {'=', 2, 'k-upd'}})
n:update(-2000, {{'-', 3, 1}})
-- UPSERT: insert path and update path, with several operations.
a:upsert({40, 'upserted', 1}, {{'+', 3, 1}})
a:upsert({40, 'ignored', 1}, {{'+', 3, 10}, {'=', 2, 'upserted2'}})
a:upsert({40, 'ignored', 1}, {{'+', 2, 1}}) -- fails on the tuple: skipped
n:upsert({-1000, 'k9', 0}, {{'=', 2, 'kk'}})
-- DELETE by primary and by unique secondary key.
a:delete(30)
a.index.name:delete('name29')

-- Multi-statement transactions.
box.begin()
a:insert{50, 'tx1'}
a:update(50, {{'=', 3, 'in tx'}})
l:replace{'local-tx', 1}
a:delete(28)
box.commit()
box.begin()
a:insert{51, 'never'}
box.rollback()

mark('before_snap')
box.snapshot()

-- After the snapshot.
for i = 60, 80 do a:insert{i, 'after' .. i} end
a:update(60, {{'=', 3, 'after snap'}})
seq:insert{box.NULL, 'auto after'}
l:delete('local1')

-- DDL.
local d = box.schema.space.create('ddl')
d:create_index('pk')
for i = 1, 10 do d:insert{i, 'v' .. i, i * 2} end
d:format({{name = 'id', type = 'unsigned'}, {name = 'v', type = 'string'}})
d:create_index('sec', {parts = {{3, 'unsigned'}}, unique = false})
d.index.sec:alter({unique = true})
d.index.sec:rename('sec2')
d:rename('ddl_renamed')
local d2 = box.schema.space.create('ddl2')
d2:create_index('pk')
for i = 1, 10 do d2:insert{i} end
d2:truncate()
d2:insert{100}
local d3 = box.schema.space.create('ddl3')
d3:create_index('pk')
d3:create_index('sec', {parts = {{2, 'string'}}})
for i = 1, 5 do d3:insert{i, 's' .. i} end
d3.index.sec:drop()
d3:insert{6, 'dup'}
d3:insert{7, 'dup'}
local d4 = box.schema.space.create('ddl4')
d4:create_index('pk')
d4:insert{1}
d4:drop()
-- A space created, filled and changed in one transaction.
box.begin()
local d5 = box.schema.space.create('ddl5')
d5:create_index('pk')
d5:insert{1, 'in ddl tx'}
box.commit()

mark('mid')

-- Synchronous transactions, confirmed (quorum 1).
s:insert{1, 'sync one'}
box.begin()
s:insert{2, 'sync multi a'}
s:insert{3, 'sync multi b'}
a:insert{90, 'async in a sync tx'}
box.commit()
s:update(1, {{'=', 2, 'sync updated'}})
a:insert{91, 'async after sync'}

mark('synced')

-- A synchronous transaction rolled back by timeout, with an
-- asynchronous one queued behind it (rolled back too).
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 0.2}
local async_done = fiber.channel(1)
local ok_sync = pcall(s.insert, s, {10, 'rolled back'})
assert(not ok_sync)
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 1}
local f = fiber.create(function()
    local ok = pcall(s.insert, s, {11, 'rolled back too'})
    async_done:put(ok)
end)
fiber.sleep(0.05)
local ok_async = pcall(a.insert, a, {92, 'queued behind a sync tx'})
assert(not ok_async)
assert(async_done:get() == false)
box.cfg{replication_synchro_quorum = 1, replication_synchro_timeout = 5}

-- Confirmed again.
s:insert{12, 'sync after rollback'}
box.begin()
s:replace{13, 'sync multi after rollback'}
s:delete(2)
box.commit()
a:insert{93, 'final async'}

mark('final')

-- A synchronous transaction left pending: the process exits while it
-- waits for a quorum it cannot get.
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 60}
fiber.create(function() s:insert{20, 'pending'} end)
fiber.sleep(0.1)
dump('pending')
os.exit(0)
