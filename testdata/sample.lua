box.cfg{listen = nil, wal_dir = 'wal', memtx_dir = 'wal', log = 'tarantool.log',
        replication_synchro_quorum = 1, replication_synchro_timeout = 0.2, instance_uuid = '8244848b-532e-4988-b27a-e4326c6ccb1c'}
local fiber = require('fiber')
local s = box.schema.space.create('accounts', {is_sync = true})
s:create_index('pk')
local a = box.schema.space.create('events')
a:create_index('pk', {type = 'tree', parts = {1, 'unsigned'}})
local loc = box.schema.space.create('local_state', {is_local = true})
loc:create_index('pk')
for i = 1, 5 do s:insert{i, 'owner' .. i, 100 * i} end
box.begin() s:update(1, {{'-', 3, 10}}) s:update(2, {{'+', 3, 10}}) a:insert{1, 'transfer 1->2'} box.commit()
box.begin() a:replace{2, 'async'} loc:replace{1, 'seen'} box.commit()
a:upsert({3, 'upserted', 1}, {{'+', 3, 1}})
a:upsert({3, 'upserted', 1}, {{'+', 3, 1}})
a:delete{2}
-- quorum that cannot be reached: the transaction is rolled back by timeout
box.cfg{replication_synchro_quorum = 2}
local ok, err = pcall(s.replace, s, {6, 'never', 0})
box.cfg{replication_synchro_quorum = 1}
s:replace{7, 'confirmed', 700}
box.snapshot()
a:insert{4, string.rep('x', 3000)}
s:delete{7}
os.exit(0)
