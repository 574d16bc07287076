-- Differential workload for the replay engine tests.
--
-- Usage: tarantool differential.lua <work_dir> <seed> <op_count>
--
-- Prints JSON lines:
--   {"k":"row", ...}   a request whose effect the engine must reproduce
--                      (contents of the system spaces, then every change of
--                      _space, _index and _truncate made by DDL);
--   {"k":"req", ...}   a DML request issued by the workload with its
--                      outcome ("ok", and "code"/"msg" when it failed);
--   {"k":"final", ...} the final contents of a space.
-- Request arguments are in "mp": hex of a MsgPack map {key=, tuple=, ops=}.

local work_dir, seed, op_count = arg[1], tonumber(arg[2]), tonumber(arg[3])
box.cfg{work_dir = work_dir, log_level = 0, memtx_memory = 128 * 1024 * 1024}

local json = require('json')
local msgpack = require('msgpack')
local ffi = require('ffi')
local decimal = require('decimal')
local uuid = require('uuid')

local TYPES = {INSERT = 2, REPLACE = 3, UPDATE = 4, DELETE = 5, UPSERT = 9}

local function emit(kind, typ, space_id, index_id, base, args, outcome)
    local line = {k = kind, type = TYPES[typ], space = space_id,
                  index = index_id or 0, base = base or 0,
                  mp = string.hex(msgpack.encode(args))}
    if outcome ~= nil then
        line.ok = outcome.ok
        line.code = outcome.code
        line.msg = outcome.msg
    end
    print(json.encode(line))
end

-- 1. The system spaces as a snapshot has them.
for _, def in box.space._space:pairs() do
    local id = def[1]
    local sp = box.space[id]
    if id < 512 and def[4] == 'memtx' and sp ~= nil and sp.index[0] ~= nil then
        for _, t in sp:pairs() do
            emit('row', 'INSERT', id, 0, 0, {tuple = t})
        end
    end
end

-- 2. DDL is captured through triggers and replayed as rows.
local ddl_events = {}
local function watch(space, pk_len)
    space:on_replace(function(old, new, _, request_type)
        table.insert(ddl_events, {id = space.id, pk_len = pk_len, old = old,
                                  new = new, rtype = request_type})
    end)
end
watch(box.space._space, 1)
watch(box.space._index, 2)
watch(box.space._truncate, 1)

local function flush_ddl(ok)
    if ok then
        for _, e in ipairs(ddl_events) do
            if e.new ~= nil then
                local typ = e.rtype == 'INSERT' and 'INSERT' or 'REPLACE'
                emit('row', typ, e.id, 0, 0, {tuple = e.new})
            else
                local key = {}
                for i = 1, e.pk_len do key[i] = e.old[i] end
                emit('row', 'DELETE', e.id, 0, 0, {key = key})
            end
        end
    end
    ddl_events = {}
end

local function ddl(f)
    local ok, err = pcall(f)
    flush_ddl(ok)
    return ok, err
end

local function must(f)
    local ok, err = ddl(f)
    if not ok then error(err) end
end

-- 3. User spaces.
local spaces = {}
local function def_space(name, opts, indexes, key_gen)
    must(function()
        local s = box.schema.space.create(name, opts)
        for _, ix in ipairs(indexes) do
            s:create_index(ix[1], ix[2])
        end
    end)
    table.insert(spaces, {name = name, key = key_gen})
end

math.randomseed(seed)
local R = math.random

local function pick(list) return list[R(#list)] end

local words = {'a', 'b', 'c', 'A', 'B', 'ab', 'Ab', 'aB', 'abc', 'ABC', 'b1',
               'zz', 'Zz', 'x', 'hello', '', 'é', 'É', 'ß'}
local ci_words = {'a', 'b', 'A', 'B', 'ab', 'Ab', 'AB', 'abc', 'xyz', 'XyZ', 'q', 'Q1', 'q1'}
local uuids = {}
for i = 1, 6 do
    uuids[i] = uuid.fromstr(string.format('%08x-0000-4000-8000-%012x', i * 7919, i * 104729))
end
local decs = {'0', '1', '-1', '1.5', '1.50', '-2.25', '100', '0.001', '12345678901234567890.123', '1e10', '99999999999999999999999999999999999999', '-0.5'}

local function gen_uint() return R(0, 12) end
local function gen_int() return R(-8, 8) end
local function gen_double() return ffi.cast('double', R(-6, 6) / 2) end
local function gen_float()
    local c = R(6)
    if c == 1 then return ffi.cast('float', R(-20, 20) / 4) end
    if c == 2 then return R(-20, 20) / 4 end
    if c == 3 then return 0.1 * R(-5, 5) end
    return R(-10, 10)
end

local function gen_scalar()
    local c = R(9)
    if c == 1 then return R(0, 1) == 1 end
    if c == 2 then return gen_int() end
    if c == 3 then return gen_float() end
    if c == 4 then return pick(words) end
    if c == 5 then return decimal.new(pick(decs)) end
    if c == 6 then return R(0, 10) * 1.0 end
    if c == 7 then return 18446744073709551615ULL - R(0, 2) end
    if c == 8 then return -9223372036854775807LL - R(0, 1) end
    return gen_uint()
end

local function gen_value(depth)
    depth = depth or 0
    local c = R(12)
    if c == 1 then return box.NULL end
    if c == 2 and depth < 2 then
        local a = {}
        for i = 1, R(0, 3) do a[i] = gen_value(depth + 1) end
        return setmetatable(a, {__serialize = 'array'})
    end
    if c == 3 and depth < 2 then
        local m = {}
        for _ = 1, R(0, 3) do m[pick({'a', 'b', 'c', 'x'})] = gen_value(depth + 1) end
        return setmetatable(m, {__serialize = 'map'})
    end
    if c == 4 then return pick(uuids) end
    if c == 5 then return 'str' .. R(0, 3) end
    return gen_scalar()
end

-- Space 'u': unsigned key, nullable unique string index, number index.
def_space('u', {format = {{'id', 'unsigned'}, {'s', 'string', is_nullable = true},
                          {'n', 'number', is_nullable = true}, {'a', 'any', is_nullable = true},
                          {'doc', 'any', is_nullable = true}}},
          {{'pk', {parts = {{1, 'unsigned'}}}},
           {'sk', {parts = {{2, 'string', is_nullable = true}}, unique = true}},
           {'nk', {parts = {{3, 'number', is_nullable = true}}, unique = false}}},
          gen_uint)
def_space('str', {}, {{'pk', {parts = {{1, 'string'}}}},
                      {'byu', {parts = {{2, 'unsigned'}}, unique = true}}},
          function() return pick(words) end)
def_space('comp', {}, {{'pk', {parts = {{1, 'integer'}, {2, 'string'}}}}},
          function() return gen_int(), pick({'a', 'b', 'c'}) end)
def_space('sc', {}, {{'pk', {parts = {{1, 'scalar'}}}}}, gen_scalar)
def_space('num', {}, {{'pk', {parts = {{1, 'number'}}}}},
          function()
              local c = R(4)
              if c == 1 then return decimal.new(pick(decs)) end
              if c == 2 then return 18446744073709551615ULL - R(0, 1) end
              return gen_float()
          end)
def_space('dbl', {}, {{'pk', {parts = {{1, 'double'}}}}}, gen_double)
def_space('uu', {}, {{'pk', {parts = {{1, 'uuid'}}}}}, function() return pick(uuids) end)
def_space('dec', {}, {{'pk', {parts = {{1, 'decimal'}}}}}, function() return decimal.new(pick(decs)) end)
def_space('ci', {}, {{'pk', {parts = {{1, 'string', collation = 'unicode_ci'}}}}},
          function() return pick(ci_words) end)
def_space('uc', {}, {{'pk', {parts = {{1, 'string', collation = 'unicode'}}}}},
          function() return pick(ci_words) end)
def_space('bool', {}, {{'pk', {parts = {{1, 'boolean'}, {2, 'unsigned'}}}}},
          function() return R(0, 1) == 1, R(0, 3) end)
def_space('nul', {}, {{'pk', {parts = {{1, 'unsigned'}}}},
                      {'uq', {parts = {{2, 'unsigned', is_nullable = true}, {3, 'string', is_nullable = true}}, unique = true}}},
          gen_uint)
def_space('hash', {}, {{'pk', {type = 'hash', parts = {{1, 'unsigned'}}}}}, gen_uint)
def_space('fc', {field_count = 3}, {{'pk', {parts = {{1, 'unsigned'}}}}}, gen_uint)
def_space('path', {}, {{'pk', {parts = {{1, 'unsigned'}}}},
                       {'name', {parts = {{field = 2, type = 'string', path = 'name'}}, unique = true}}},
          gen_uint)

local function key_of(sp)
    local k1, k2 = sp.key()
    if k2 ~= nil then return {k1, k2} end
    return {k1}
end

local function gen_tuple(sp)
    local t = key_of(sp)
    local name = sp.name
    if name == 'u' then
        local c = R(6)
        t[2] = c == 1 and box.NULL or (c == 2 and R(5) or 'k' .. R(0, 8))
        t[3] = R(4) == 1 and box.NULL or gen_float()
        if R(6) == 1 then t[3] = 'nan' end
        for i = 4, 3 + R(0, 3) do t[i] = gen_value() end
        if R(2) == 1 then
            -- Structured documents for operations with JSON paths.
            t[4] = R(2) == 1 and {a = {b = R(5)}, b = 'x'} or {R(5), {a = 1}, 'z'}
            t[5] = {a = R(3) == 1 and {R(3), 'q'} or R(9), b = {c = R(4), d = 'e'}, x = {1, 2}}
        end
    elseif name == 'str' then
        t[2] = R(8) == 1 and 'x' or R(0, 15)
        for i = 3, 2 + R(0, 2) do t[i] = gen_value() end
    elseif name == 'nul' then
        t[2] = R(3) == 1 and box.NULL or R(0, 3)
        t[3] = R(3) == 1 and box.NULL or pick({'a', 'b'})
        if R(5) == 1 then t[3] = nil end
    elseif name == 'fc' then
        for i = 2, R(2, 4) do t[i] = gen_value() end
    elseif name == 'path' then
        local c = R(5)
        if c == 1 then t[2] = {name = 'n' .. R(0, 6)}
        elseif c == 2 then t[2] = {other = 1}
        elseif c == 3 then t[2] = 'flat'
        else t[2] = {name = 'n' .. R(0, 6), x = gen_value()} end
        t[3] = gen_value()
    else
        for i = #t + 1, #t + R(0, 3) do t[i] = gen_value() end
    end
    if R(30) == 1 then
        -- A type error in the key.
        t[1] = pick({'bad', -5, 1.5, box.NULL, true})
    end
    return t
end

local op_names = {'=', '+', '-', '&', '|', '^', ':', '#', '!'}

-- Operations with a path below a top-level field are generated only in
-- lists made of such operations, without paths that are prefixes of each
-- other: Tarantool 2.6 crashes on a path below a field replaced by an
-- earlier operation of the same request, and below the point of another
-- path operation.
local nested_paths = {'[4].a', '[5].a', '[5].b', '[4][1]', '[5][2]', 'doc.a', 'doc.x',
                      '[4].a.b', '[5]["a"]', '[5].a[1]', '[4]b', '[4][*]', '[5].b.c',
                      '[5].b.d', '[5].b.e', 'doc.b.c', '[5].x[1]', '[5].x[2]', '[5].x[3]',
                      '[4].a.c', '[4][2].a', '[4][2].b', '[4][1]', '[4][3]', '[5].a[2]'}

local function gen_field(sp)
    local c = R(20)
    if c == 1 then return 0 end
    if c == 2 then return -R(1, 6) end
    if c == 3 and sp.name == 'u' then return pick({'s', 'n', 'a', 'doc', 'nope'}) end
    if c == 4 then return pick({'[2]', '[3]', '[4]', '[5]', '[*]', '[0]', '["s"]', 'x.y'}) end
    return R(1, 7)
end

local function canonical_path(p)
    p = p:gsub('^doc', '[5]'):gsub('%["(%w+)"%]', '.%1')
    return p
end

local function is_prefix(a, b)
    if #a >= #b or b:sub(1, #a) ~= a then return false end
    local next = b:sub(#a + 1, #a + 1)
    return next == '.' or next == '['
end

-- Groups of paths sharing a prefix, to build routes in the update tree.
local path_groups = {
    {'[5].b.c', '[5].b.d', '[5].b.e', 'doc.b.c', '[5].b.c', '[5].x[1]'},
    {'[5].x[1]', '[5].x[2]', '[5].x[3]', '[5].x[1]', '[5].b.d'},
    {'[4][2].a', '[4][2].b', '[4][1]', '[4][3]', '[4][2].a'},
    {'[4].a.b', '[4].a.c', '[4].b', '[4].a.b'},
}

local function gen_nested_field(used, group)
    for _ = 1, 10 do
        local p = pick(group or nested_paths)
        local cp = canonical_path(p)
        local ok = true
        for _, u in ipairs(used) do
            if is_prefix(cp, u) or is_prefix(u, cp) then ok = false end
        end
        if ok then
            table.insert(used, cp)
            return p
        end
    end
    return nil
end

local function gen_arg(opname)
    local c = R(10)
    if opname == '+' or opname == '-' then
        if c <= 5 then return gen_int() end
        if c == 6 then return gen_float() end
        if c == 7 then return decimal.new(pick(decs)) end
        if c == 8 then return 9223372036854775807LL end
        if c == 9 then return 18446744073709551615ULL end
        return 'x'
    elseif opname == '&' or opname == '|' or opname == '^' then
        if c <= 8 then return R(0, 15) end
        return -1
    elseif opname == '#' then
        if c <= 8 then return R(1, 3) end
        if c == 9 then return 0 end
        return 100
    end
    return gen_value()
end

local function gen_ops(sp)
    local ops = {}
    local nested = R(4) == 1
    local group = R(2) == 1 and pick(path_groups) or nil
    local used = {}
    for i = 1, nested and R(1, 4) or R(0, 3) do
        local field = gen_field(sp)
        if nested then
            field = gen_nested_field(used, group)
            if field == nil then break end
        end
        local op = pick(op_names)
        if op == ':' then
            local pos = R(-8, 8)
            local len = R(-4, 4)
            if R(10) == 1 then len = 'x' end
            ops[i] = {op, field, pos, len, pick({'', 'XY', 'z'})}
        else
            ops[i] = {op, field, gen_arg(op)}
        end
        if not nested and R(60) == 1 then ops[i] = {pick({'?', '=='}), 2, 1} end
        if not nested and R(80) == 1 then ops[i] = {'=', 2} end
    end
    return ops
end

local function outcome(ok, err)
    if ok then return {ok = true} end
    if type(err) == 'cdata' or type(err) == 'table' then
        return {ok = false, code = err.code, msg = tostring(err)}
    end
    return {ok = false, code = 0, msg = tostring(err)}
end

local function run_request(sp)
    local s = box.space[sp.name]
    local c = R(100)
    if c <= 25 then
        local t = gen_tuple(sp)
        emit('req', 'INSERT', s.id, 0, 0, {tuple = t}, outcome(pcall(s.insert, s, t)))
    elseif c <= 45 then
        local t = gen_tuple(sp)
        emit('req', 'REPLACE', s.id, 0, 0, {tuple = t}, outcome(pcall(s.replace, s, t)))
    elseif c <= 70 then
        local key, iid = key_of(sp), 0
        if sp.name == 'u' and R(4) == 1 then key, iid = {'k' .. R(0, 8)}, 1 end
        if sp.name == 'str' and R(4) == 1 then key, iid = {R(0, 15)}, 1 end
        if R(40) == 1 then key = {} end
        local ops = gen_ops(sp)
        local ix = s.index[iid]
        emit('req', 'UPDATE', s.id, iid, 1, {key = key, ops = ops},
             outcome(pcall(ix.update, ix, key, ops)))
    elseif c <= 85 then
        local t = gen_tuple(sp)
        local ops = gen_ops(sp)
        emit('req', 'UPSERT', s.id, 0, 1, {tuple = t, ops = ops},
             outcome(pcall(s.upsert, s, t, ops)))
    else
        local key, iid = key_of(sp), 0
        if sp.name == 'u' and R(4) == 1 then key, iid = {'k' .. R(0, 8)}, 1 end
        if sp.name == 'nul' and R(4) == 1 then key, iid = {R(0, 3), pick({'a', 'b'})}, 1 end
        local ix = s.index[iid]
        emit('req', 'DELETE', s.id, iid, 0, {key = key}, outcome(pcall(ix.delete, ix, key)))
    end
end

local function random_ddl()
    local c = R(6)
    if c == 1 then
        ddl(function() box.space[pick(spaces).name]:truncate() end)
    elseif c == 2 then
        local s = box.space.str
        if s.index.extra then
            ddl(function() s.index.extra:drop() end)
        else
            ddl(function() s:create_index('extra', {parts = {{3, 'scalar', is_nullable = true}}, unique = R(2) == 1}) end)
        end
    elseif c == 3 then
        local s = box.space.u
        local fmt = s:format()
        fmt[2].is_nullable = not fmt[2].is_nullable
        ddl(function() s:format(fmt) end)
    elseif c == 4 then
        ddl(function() box.space.u.index.nk:alter({unique = R(2) == 1}) end)
    elseif c == 5 then
        ddl(function() box.space.comp.index.pk:alter({parts = {{2, 'string'}, {1, 'integer'}}}) end)
    else
        ddl(function() box.space.hash:drop() end)
        must(function()
            local s = box.schema.space.create('hash')
            s:create_index('pk', {type = 'hash', parts = {{1, 'unsigned'}}})
        end)
    end
end

for i = 1, op_count do
    if R(300) == 1 then
        random_ddl()
    end
    run_request(pick(spaces))
end

-- 4. Final contents.
local final = {'_space', '_index', '_truncate'}
for _, sp in ipairs(spaces) do table.insert(final, sp.name) end
for _, name in ipairs(final) do
    local s = box.space[name]
    print(json.encode({k = 'final', space = s.id, mp = string.hex(msgpack.encode(s:select{}))}))
end
os.exit(0)
