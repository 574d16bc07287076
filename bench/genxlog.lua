-- Writes a WAL of many REPLACE rows with Tarantool itself, for benchmarks.
--
--   tarantool bench/genxlog.lua DIR [ROWS] [BATCH] [HEX]
--
-- DIR is created (it must not hold an instance already). ROWS (default
-- 1000000) replaces into a memtx space go in transactions of BATCH rows
-- (default 100), with wal_mode = 'write'. The tuples are
-- {id, 'user-<id>', <id % 1000>, <float>, <HEX random hex digits>}
-- (default 84): the random digits are what zstd cannot squeeze, so HEX sets
-- the file size (84 gives about 62 MB for a million rows).
local fio = require('fio')

local dir = arg[1]
local rows = tonumber(arg[2] or 1000000)
local batch = tonumber(arg[3] or 100)
local hexlen = tonumber(arg[4] or 84)
if dir == nil or rows == nil or batch == nil or batch < 1 or hexlen == nil then
    io.stderr:write('usage: tarantool genxlog.lua DIR [ROWS] [BATCH] [HEX]\n')
    os.exit(2)
end
if not fio.path.exists(dir) and not fio.mktree(dir) then
    error('cannot create ' .. dir)
end

box.cfg{
    work_dir = dir,
    wal_mode = 'write',
    memtx_memory = 512 * 1024 * 1024,
    checkpoint_interval = 0,
    log = 'tarantool.log',
}

local s = box.schema.space.create('bench', {if_not_exists = true})
s:create_index('pk', {if_not_exists = true})

math.randomseed(42)
local hex = '0123456789abcdef'
local function token()
    local t = {}
    for i = 1, hexlen do
        local k = math.random(16)
        t[i] = hex:sub(k, k)
    end
    return table.concat(t)
end

local id = 0
while id < rows do
    local n = math.min(batch, rows - id)
    box.begin()
    for _ = 1, n do
        id = id + 1
        s:replace{id, 'user-' .. id, id % 1000, id / 7, token()}
    end
    box.commit()
end
io.stdout:write(('wrote %d rows in transactions of %d into %s\n'):format(rows, batch, dir))
os.exit(0)
