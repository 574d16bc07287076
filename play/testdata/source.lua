-- Writes the logs the play tests apply: an asynchronous space, a
-- synchronous one (Tarantool 2.6.0 does not flag synchronous transactions,
-- so play has to learn is_sync from _space), a counter space, multi-row
-- transactions, UPDATE/UPSERT/DELETE, and a synchronous transaction that is
-- rolled back after a quorum timeout together with an asynchronous one
-- queued behind it. Prints the final contents of the spaces and the LSNs of
-- a few rows as JSON.
local json = require('json')
local fiber = require('fiber')

box.cfg{
    log = 'tarantool.log',
    replication_synchro_quorum = 1,
    replication_synchro_timeout = 5,
}

local a = box.schema.space.create('a', {id = 512})
a:create_index('pk')
local s = box.schema.space.create('s', {id = 513, is_sync = true})
s:create_index('pk')
local c = box.schema.space.create('c', {id = 514})
c:create_index('pk')

local lsn = {}
local function mark(name) lsn[name] = box.info.lsn end

a:insert{1, 'one'}
box.begin()
a:insert{2, 'two'}
a:insert{3, 'three'}
a:replace{1, 'uno'}
box.commit()
s:insert{1, 'sync one'}
box.begin()
s:insert{2, 'sync two'}
a:insert{4, 'four'}
box.commit()
a:update({2}, {{'=', 2, 'dos'}})
c:upsert({1, 1}, {{'+', 2, 1}})

-- No quorum: the synchronous insert times out and is rolled back, and the
-- asynchronous insert queued behind it with it.
box.cfg{replication_synchro_quorum = 2, replication_synchro_timeout = 0.1}
local f1 = fiber.new(function() pcall(s.insert, s, {10, 'rolled back'}) end)
f1:set_joinable(true)
local f2 = fiber.new(function() pcall(a.insert, a, {100, 'rolled back behind'}) end)
f2:set_joinable(true)
f1:join()
f2:join()
mark('rollback')
box.cfg{replication_synchro_quorum = 1, replication_synchro_timeout = 5}

-- The play tests make the target reject this row.
a:insert{50, 'conflict'}
mark('conflict')
for _ = 1, 20 do
    c:upsert({1, 1}, {{'+', 2, 1}})
end
box.begin()
c:upsert({2, 1}, {{'+', 2, 1}})
c:upsert({2, 1}, {{'+', 2, 10}})
a:delete{3}
box.commit()
s:insert{3, 'sync three'}
box.begin()
a:replace{5, 'five'}
a:replace{6, 'six'}
a:update({5}, {{'=', 2, 'cinco'}})
box.commit()
mark('last')

io.stdout:write(json.encode({
    lsn = lsn,
    a = a:select(), s = s:select(), c = c:select(),
}), '\n')
