// Package box is the one table of Tarantool's constants: request and row
// types, header and body keys, row flags and group ids, error codes with
// their names and message formats, system space ids, built-in user ids and
// privilege bits, MessagePack extension types, index iterators and
// transaction isolation levels, and version parsing.
//
// Every other package takes these values from here; none defines its own
// copy. The numbering is Tarantool's (src/box/iproto_constants.h,
// src/box/errcode.h, src/box/schema_def.h); see FORMAT.md §9 and NODE.md §7.
package box
