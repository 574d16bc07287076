-- Prints the DML rows of .snap/.xlog files as JSON lines for the replay
-- engine tests: {"file":..., "type":N, "space":N, "index":N, "base":N,
-- "mp": hex of a MsgPack map {key=, tuple=, ops=}}.
--
-- Usage: tarantool dump_xlog.lua <file>...
local json = require('json')
local msgpack = require('msgpack')
local xlog = require('xlog')

local TYPES = {INSERT = 2, REPLACE = 3, UPDATE = 4, DELETE = 5, UPSERT = 9}

for _, file in ipairs(arg) do
    for _, row in xlog.pairs(file) do
        local typ = TYPES[row.HEADER.type]
        local body = row.BODY or {}
        if typ ~= nil then
            local args = {}
            if body.key ~= nil then args.key = body.key end
            if body.tuple ~= nil then args.tuple = body.tuple end
            if body.operations ~= nil then args.ops = body.operations end
            print(json.encode({file = file, type = typ, space = body.space_id or 0,
                               index = body.index_id or 0, base = body.index_base or 0,
                               mp = string.hex(msgpack.encode(args))}))
        end
    end
end
os.exit(0)
