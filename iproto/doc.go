// Package iproto is the codec of Tarantool's binary protocol (IPROTO),
// for both ends of a connection: what a client sends and reads, what a
// server reads and sends.
//
//   - Framing: ReadPacket reads one length-prefixed packet; DecodePacket
//     decodes its header and body as a row, with the same code that
//     decodes the rows of log files (format.DecodeRow): replication rows
//     are log rows, and AppendRow writes one as a packet.
//   - Greeting: ParseGreeting and EncodeGreeting (the 128 bytes a server
//     sends on connect); chap-sha1: Scramble (client), PasswordHash and
//     CheckScramble (server).
//   - Requests: small values (SelectRequest, InsertRequest, ..., AuthRequest,
//     ExecuteRequest, IDRequest, BeginRequest, ...) whose bodies are
//     encoded with MessagePack; AppendRequest writes one as a packet,
//     DecodeRequest reads one back with the errors Tarantool 2.6.0 answers
//     malformed requests with. RawRequest sends a body that is already
//     encoded, byte for byte, which is how rows read from .xlog files are
//     replayed.
//   - Responses: DecodeResponse and Response (data, fields, errors);
//     AppendOK, AppendData (also CHUNK pushes) and AppendError write them
//     as Tarantool does, with the fixed-width header. A server error is an
//     *Error: the code, its name, the message and (2.4.1+) the error stack.
//   - Replication (replication.go): VOTE and the ballot (decoded by server
//     version), FETCH_SNAPSHOT, JOIN, REGISTER, SUBSCRIBE and its answer,
//     the vclock answers that open and close the JOIN/FETCH_SNAPSHOT
//     streams, heartbeats and ACKs: each message has AppendBody (or, for an
//     ACK, AppendPacket) and a Decode function, so the subscriber and the
//     relay use the same code. RowError reads an error packet of a stream.
//
// The client (connections, pipelining, streams, and ReplicationConn for
// replication streams) is package iproto/client.
// Constants (types, keys, error codes) are package box's.
package iproto
