-- Reads .xlog/.snap files with Tarantool's own reader and writes one JSON
-- object per row. Arguments come in pairs: the file to read and the file to
-- write its rows to. A reader error ends that file with {"ERROR": "..."}.
--
-- Output rules: object keys sorted (as strings), tuples and sequences as
-- arrays, integers exact (64-bit cdata too), other numbers with 17
-- significant digits, integral numbers below 2^53 without a fraction,
-- tables serialized as maps as objects with string keys, an empty table
-- as [] unless it is marked as a map ({}).
local xlog = require('xlog')
local json = require('json')

local EXACT_LIMIT = 2 ^ 53

local MAP_MARKS = { map = true, mapping = true }
local SEQ_MARKS = { seq = true, sequence = true, array = true }

local render

local function render_number(x)
    if math.abs(x) < EXACT_LIMIT and math.floor(x) == x then
        return string.format('%d', x)
    end
    return string.format('%.17g', x)
end

local function render_array(list, last)
    local out = {}
    for i = 1, last do
        out[i] = render(list[i])
    end
    return '[' .. table.concat(out, ',') .. ']'
end

local function render_object(tbl)
    local names, keys = {}, {}
    for k in pairs(tbl) do
        keys[#keys + 1] = k
    end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for i, k in ipairs(keys) do
        names[i] = json.encode(tostring(k)) .. ':' .. render(tbl[k])
    end
    return '{' .. table.concat(names, ',') .. '}'
end

-- Counts the keys of a table, finds its largest positive integer key and
-- tells whether the keys are exactly 1..count.
local function shape(tbl)
    local count, last, dense = 0, 0, true
    for k in pairs(tbl) do
        count = count + 1
        local positive_int = type(k) == 'number' and k >= 1 and math.floor(k) == k
        if not positive_int then
            dense = false
        elseif k > last then
            last = k
        end
    end
    return count, last, dense and last == count
end

local function render_table(tbl)
    local mt = getmetatable(tbl)
    local mark = mt and mt.__serialize
    local count, last, as_array = shape(tbl)
    if MAP_MARKS[mark] then
        return render_object(tbl)
    end
    if SEQ_MARKS[mark] then
        as_array = true
    end
    if count == 0 then
        return '[]'
    end
    if as_array then
        return render_array(tbl, last)
    end
    return render_object(tbl)
end

local function render_cdata(v)
    if box.tuple.is(v) then
        local list = v:totable()
        local _, last = shape(list)
        return render_array(list, last)
    end
    local text = tostring(v)
    local digits = text:match('^(%-?%d+)U?LL$')
    if digits ~= nil then
        return digits
    end
    return json.encode(text)
end

render = function(v)
    -- box.NULL and other NULL cdata compare equal to nil.
    if v == nil then
        return 'null'
    end
    local kind = type(v)
    if kind == 'number' then
        return render_number(v)
    elseif kind == 'string' then
        return json.encode(v)
    elseif kind == 'boolean' then
        return v and 'true' or 'false'
    elseif kind == 'table' then
        return render_table(v)
    elseif kind == 'cdata' then
        return render_cdata(v)
    end
    return json.encode(tostring(v))
end

local function dump(input, output)
    local out, err = io.open(output, 'w')
    if out == nil then
        error('cannot create ' .. output .. ': ' .. tostring(err))
    end
    local ok, failure = pcall(function()
        for _, row in xlog.pairs(input) do
            out:write(render(row), '\n')
        end
    end)
    if not ok then
        out:write(render({ ERROR = tostring(failure) }), '\n')
    end
    out:close()
end

if #arg % 2 ~= 0 then
    io.stderr:write('usage: oracle.lua INPUT OUTPUT [INPUT OUTPUT ...]\n')
    os.exit(2)
end
for i = 1, #arg, 2 do
    dump(arg[i], arg[i + 1])
end
os.exit(0)
